// Runtime instruction-set dispatch (runtime/dispatch.hpp): every arch the test binary is built for
// (tests/CMakeLists.txt: hinge_add_dispatch with avx512bw, fma3_avx2, sse4_2, sse2), forced by name, gives
// the same outputs and training steps as the non-dispatched front ends, allocates nothing, and
// the default picks the best arch the CPU has.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/runtime/dispatch.hpp>

#include "../allocation_counter.hpp"
#include "../support/contract_test_support.hpp"
#include "dispatch_archs.hpp"
#include "dispatch_network.hpp"

namespace {

using namespace dispatch_test;

template <class Net, class T>
std::unique_ptr<hinge::parameters<Net, T>> initialised(unsigned seed) {
    auto params = std::make_unique<hinge::parameters<Net, T>>();
    hinge::init::automatic(*params, seed);
    return params;
}

template <class T>
std::vector<T> uniform_values(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(u(rng));
    return v;
}

// max |a - b| / (1 + |b|) over the first n values.
template <class A, class B>
double max_relative_difference(const A& a, const B& b, std::size_t n) {
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        worst = std::max(worst, std::abs(double(a[i]) - double(b[i])) / (1.0 + std::abs(double(b[i]))));
    return worst;
}

// Batch-1 outputs of every arch, forced, against hinge::inference compiled with this file's flags.
template <class Net, class T>
void check_inference_on_every_arch(double tolerance) {
    const auto params = initialised<Net, T>(7);
    const std::vector<T> x = uniform_values<T>(Net::input_size, 11);
    hinge::inference<Net, T> reference_inference;
    const auto reference = reference_inference(*params, std::span<const T, Net::input_size>(x.data(), Net::input_size));
    for (const std::string& name : arch_names) {
        BOOST_TEST_CONTEXT("arch " << name) {
            if (!cpu_runs(name)) {
                BOOST_CHECK_THROW((hinge::dispatched_inference<Net, T>{name}), std::invalid_argument);
                continue;
            }
            hinge::dispatched_inference<Net, T> infer(name);
            BOOST_TEST(infer.arch_name() == name);
            const auto y = infer(*params, std::span<const T, Net::input_size>(x.data(), Net::input_size));
            BOOST_TEST(max_relative_difference(y, reference, Net::output_size) <= tolerance);
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(runtime_dispatch)

BOOST_AUTO_TEST_CASE(inference_on_every_arch_matches_the_direct_path) {
    // float: FMA against separate multiply and add, different summation order: ~1e-7 relative
    check_inference_on_every_arch<mlp, float>(1e-5);
    check_inference_on_every_arch<cnn, float>(1e-5);
    check_inference_on_every_arch<mlp, double>(1e-12);
}

// The forced arch really runs its own kernels: SSE2 has no FMA, so its dot products round after
// every multiply and at least one output differs in the last bits from the AVX2+FMA entry's.
BOOST_AUTO_TEST_CASE(forced_archs_run_different_machine_code) {
    if (!cpu_runs("fma3+avx2")) {
        BOOST_TEST_MESSAGE("this CPU has no AVX2+FMA: nothing to compare the SSE2 entry with");
        return;
    }
    const auto params = initialised<mlp, float>(7);
    const std::vector<float> x = uniform_values<float>(mlp::input_size, 11);
    hinge::dispatched_inference<mlp> sse2("sse2"), avx2("fma3+avx2");
    const auto a = sse2(*params, std::span<const float, mlp::input_size>(x.data(), mlp::input_size));
    const std::vector<float> from_sse2(a.begin(), a.end());
    const auto b = avx2(*params, std::span<const float, mlp::input_size>(x.data(), mlp::input_size));
    BOOST_TEST(!std::equal(from_sse2.begin(), from_sse2.end(), b.begin()));
}

BOOST_AUTO_TEST_CASE(the_default_is_the_best_arch_the_cpu_runs) {
    const std::string expected = *std::find_if(arch_names.begin(), arch_names.end(), cpu_runs);
    BOOST_TEST(std::string(hinge::dispatched_inference<mlp>{}.arch_name()) == expected);
    BOOST_TEST(std::string(hinge::dispatched_step<mlp_trainer>{}.arch_name()) == expected);
}

BOOST_AUTO_TEST_CASE(an_arch_the_program_was_not_built_for_is_refused_by_name) {
    try {
        hinge::dispatched_inference<mlp> infer("avx512f");  // xsimd knows it; hinge does not build it
        BOOST_FAIL("constructed with an arch that is not in dispatch_archs");
    } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        BOOST_TEST(message.find("'avx512f'") != std::string::npos);
        BOOST_TEST(message.find("avx512bw, fma3+avx2, sse4.2, sse2") != std::string::npos);
    }
}

// Three steps through each arch's entry against three trainer.step calls: the same parameters
// (Adam for the MLP, SGD with batch norm for the CNN), and the trainer's own state advances.
template <class Trainer>
void check_training_on_every_arch(double tolerance) {
    using Net = typename Trainer::network_type;
    using target = typename Trainer::target_type;
    constexpr std::size_t B = Trainer::batch_size;
    const std::vector<float> x = uniform_values<float>(B * Net::input_size, 3);
    std::vector<target> t(B * Trainer::targets_per_sample);
    for (std::size_t i = 0; i < t.size(); ++i) {
        if constexpr (std::is_integral_v<target>)
            t[i] = static_cast<target>(i % Net::output_size);
        else
            t[i] = static_cast<target>(0.1 * double(i % 7) - 0.3);
    }

    const auto reference_params = initialised<Net, float>(5);
    auto reference_trainer = std::make_unique<Trainer>(*reference_params);
    for (int s = 0; s < 3; ++s) reference_trainer->step(x.data(), t.data(), B);

    for (const std::string& name : arch_names) {
        if (!cpu_runs(name)) continue;
        BOOST_TEST_CONTEXT("arch " << name) {
            const auto params = initialised<Net, float>(5);
            auto trainer = std::make_unique<Trainer>(*params);
            const hinge::dispatched_step<Trainer> step(name);
            BOOST_TEST(step.arch_name() == name);
            float loss = 0;
            const std::size_t allocations = hinge_test_allocations_during([&] {
                for (int s = 0; s < 3; ++s) loss = step(*trainer, x.data(), t.data(), B);
            });
            BOOST_TEST(allocations == 0u);
            BOOST_TEST(std::isfinite(loss));
            BOOST_TEST(max_relative_difference(params->data(), reference_params->data(), hinge::parameters<Net, float>::trainable_size) <= tolerance);
            BOOST_TEST(max_relative_difference(trainer->last_gradients().data(),
                                               reference_trainer->last_gradients().data(),
                                               hinge::parameters<Net, float>::trainable_size) <= tolerance);
        }
    }
}

BOOST_AUTO_TEST_CASE(training_steps_on_every_arch_match_the_direct_path) {
    check_training_on_every_arch<mlp_trainer>(1e-4);
    check_training_on_every_arch<cnn_trainer>(1e-4);
}

// dispatched_step checks its row count before it picks the per-arch entry (detail::expect_rows).
BOOST_AUTO_TEST_CASE(dispatched_step_rejects_rows_outside_1_to_B) {
    const auto params = initialised<mlp, float>(5);
    auto trainer = std::make_unique<mlp_trainer>(*params);
    const hinge::dispatched_step<mlp_trainer> step;
    const std::vector<float> x = uniform_values<float>(mlp_trainer::batch_size * mlp::input_size, 3);
    const std::vector<float> t = uniform_values<float>(mlp_trainer::batch_size * mlp_trainer::targets_per_sample, 4);
    for (const std::size_t rows : {std::size_t{0}, mlp_trainer::batch_size + 1, static_cast<std::size_t>(-1)}) {
        hinge_test::expect_contract_violation([&] { (void)step(*trainer, x.data(), t.data(), rows); },
                                              "dispatched_step: rows must be in 1..batch size (got " +
                                                  std::to_string(rows) + ", limit 8)");
    }
    hinge_test::expect_no_contract_violation([&] { (void)step(*trainer, x.data(), t.data(), 1); });
}

BOOST_AUTO_TEST_CASE(dispatched_inference_allocates_nothing) {
    const auto params = initialised<cnn, float>(7);
    const std::vector<float> x = uniform_values<float>(cnn::input_size, 11);
    hinge::dispatched_inference<cnn> infer;
    float sink = 0;
    const std::size_t allocations = hinge_test_allocations_during([&] {
        for (int i = 0; i < 10; ++i) sink += infer(*params, std::span<const float, cnn::input_size>(x.data(), cnn::input_size))[0];
    });
    BOOST_TEST(allocations == 0u);
    BOOST_TEST(std::isfinite(sink));
}

BOOST_AUTO_TEST_SUITE_END()
