// Batch-1 inference on converted weights (runtime/batch1_inference.hpp): the planner's decisions
// per stage, the widening kernels against their scalar reference, the straight-line and rows
// paths against hinge::inference, bf16 / int8 against a double reference of the stored weights
// and within the error the conversion reports, no allocation, the fallback for other stage
// kinds, and every dispatch arch forced (entries: tests/runtime/dispatch_entries.cpp).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include <hinge/hinge.hpp>
#include <hinge/runtime/batch1_inference.hpp>  // opt-in, not part of <hinge/hinge.hpp>
#include <hinge/runtime/batch1_dispatch.hpp>

#include "../allocation_counter.hpp"
#include "dispatch_archs.hpp"
#include "dispatch_network.hpp"

namespace {

namespace hn = hinge;
using hn::weight_format;
using hn::batch1_path;

// Shapes: the tiny network, odd widths (7, 13, 33: no multiple of any vector width),
// one larger than the straight-line limit, and activations of every form the fast paths take.
using tiny = hn::network<hn::input<1>, hn::dense<16>, hn::relu, hn::dense<16>, hn::relu, hn::dense<1>>;
using odd = hn::network<hn::input<7>, hn::dense<13>, hn::relu, hn::dense<33>, hn::tanh, hn::dense<5>>;
using odd_wide = hn::network<hn::input<33>, hn::dense<13>, hn::leaky_relu<>, hn::dense<7>, hn::sigmoid, hn::dense<3>,
                             hn::relu>;
using mid = hn::network<hn::input<64>, hn::dense<128>, hn::relu, hn::dense<128>, hn::relu, hn::dense<10>>;
using single = hn::network<hn::input<37>, hn::dense<21>>;
using sloped = hn::network<hn::input<5>, hn::dense<9>, hn::prelu, hn::dense<2>>;

template <class Net>
std::unique_ptr<hn::parameters<Net>> initialised(unsigned seed) {
    auto params = std::make_unique<hn::parameters<Net>>();
    hn::init::automatic(*params, seed);
    // Non-zero biases, so that a bias read from the wrong place shows.
    std::mt19937 rng(seed + 1);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    hn::for_each_index<Net::stage_count>([&](auto i) {
        auto view = params->template layer<decltype(i)::value>();
        if constexpr (requires { view.biases(); })
            for (float& b : view.biases()) b = u(rng);
    });
    return params;
}

std::vector<float> uniform_values(std::size_t n, unsigned seed, float range = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-range, range);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

template <class Net>
std::span<const float, Net::input_size> input_span(const std::vector<float>& x) {
    return std::span<const float, Net::input_size>(x.data(), Net::input_size);
}

// The network in double on the weights the kernels really use (weights.weight<I>, with int8's
// scale applied): every stage's output, the last one being the network's.
template <class Weights>
std::vector<std::vector<double>> reference_stages(const Weights& weights, const std::vector<float>& x) {
    using Net = typename Weights::network_type;
    std::vector<std::vector<double>> outputs;
    std::vector<double> a(x.begin(), x.begin() + Net::input_size);
    hn::for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        std::vector<double> next(S::output_width);
        for (std::size_t o = 0; o < S::output_width; ++o) {
            double z = weights.template bias<i>(o);
            for (std::size_t k = 0; k < S::input_width; ++k) z += double(weights.template weight<i>(o, k)) * a[k];
            next[o] = S::activation::forward(z);
        }
        a = next;
        outputs.push_back(next);
    });
    return outputs;
}

template <class A, class B>
double max_difference(const A& a, const B& b, std::size_t n) {
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    return worst;
}

template <class B>
double scale_of(const B& b, std::size_t n) {
    double s = 1;
    for (std::size_t i = 0; i < n; ++i) s = std::max(s, std::abs(double(b[i])));
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(batch1)

// ---- the planner --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(planner_records_the_path_format_and_product_of_every_stage) {
    using p = hn::batch1_plan<tiny>;
    static_assert(p::float_weight_bytes == (16 + 256 + 16) * 4);
    static_assert(p::network_path == batch1_path::straight_line);
    static_assert(p::stage<0>.path == batch1_path::straight_line && p::stage<0>.padded_output == 16);
    static_assert(p::stage<1>.product == hn::batch1_product::broadcast);
    // 16 -> 1 as a dot product: one useful lane of 8 would waste the rest of every broadcast FMA.
    static_assert(p::stage<2>.product == hn::batch1_product::dot && p::stage<2>.padded_input == 16);

    using odd_plan = hn::batch1_plan<odd>;
    static_assert(odd_plan::stage<1>.padded_output == 40 && odd_plan::stage<1>.padded_input == 13);

    // 104 KB of float weights: over the limit, so every stage streams rows, whatever the format.
    using mid_float = hn::batch1_plan<mid>;
    static_assert(mid_float::network_path == batch1_path::rows && mid_float::stage<2>.padded_output == 16);
    using mid_int8 = hn::batch1_plan<mid, weight_format::int8>;
    static_assert(mid_int8::stage<1>.format == weight_format::int8 && mid_int8::weight_bytes == 64 * 128 + 128 * 128 + 128 * 16);
    static_assert(mid_int8::stage<0>.scale_offset != hn::no_offset);
    // Reduced precision on a tiny network takes the rows path (the straight line is float only).
    static_assert(hn::batch1_plan<tiny, weight_format::bf16>::stage<0>.path == batch1_path::rows);
    // The limit is a parameter: 0 sends the tiny network to the rows path.
    static_assert(hn::batch1_plan<tiny, weight_format::float32, 0>::network_path == batch1_path::rows);

    // Anything but plain dense stages: the general path for every stage, in float.
    using cnn_plan = hn::batch1_plan<dispatch_test::cnn, weight_format::int8>;
    static_assert(cnn_plan::network_path == batch1_path::general && cnn_plan::format == weight_format::float32);
    static_assert(!hn::detail::plain_dense_stage<dispatch_test::cnn::stage<0>>() &&
                  cnn_plan::stage<3>.path == batch1_path::general);
    static_assert(hn::batch1_plan<sloped, weight_format::bf16>::network_path == batch1_path::general);
    BOOST_TEST(std::string(hn::name_of(p::stage<2>.path)) == "straight_line");
    BOOST_TEST(std::string(hn::name_of(mid_int8::stage<0>.format)) == "int8");
}

// ---- the widening kernels against the scalar reference -----------------------------------------

BOOST_AUTO_TEST_CASE(bf16_widening_equals_the_scalar_reference_for_every_pattern) {
    namespace k = hn::kernels;
    using V = k::vector<float>;
    std::size_t mismatches = 0;
    for (std::uint32_t first = 0; first < 65536; first += 16) {
        alignas(64) std::uint16_t row[16];
        for (std::size_t c = 0; c < 16; ++c) row[k::bf16_position(c)] = static_cast<std::uint16_t>(first + c);
        V out[k::vectors_per_row];
        k::widen_row<weight_format::bf16>(row, out);
        alignas(64) float lanes[16];
        for (std::size_t v = 0; v < k::vectors_per_row; ++v) out[v].store_aligned(lanes + v * V::size);
        for (std::size_t c = 0; c < 16; ++c) {
            const float expected = k::float_from_bf16(static_cast<std::uint16_t>(first + c));
            mismatches += std::bit_cast<std::uint32_t>(lanes[c]) != std::bit_cast<std::uint32_t>(expected);
        }
    }
    BOOST_TEST(mismatches == 0u);
}

BOOST_AUTO_TEST_CASE(int8_widening_equals_the_scalar_reference_for_every_value) {
    namespace k = hn::kernels;
    using V = k::vector<float>;
    std::size_t mismatches = 0;
    for (int first = -128; first < 128; first += 16) {
        alignas(64) std::int8_t row[16];
        for (int c = 0; c < 16; ++c) row[c] = static_cast<std::int8_t>(first + c);
        V out[k::vectors_per_row];
        k::widen_row<weight_format::int8>(row, out);
        alignas(64) float lanes[16];
        for (std::size_t v = 0; v < k::vectors_per_row; ++v) out[v].store_aligned(lanes + v * V::size);
        for (int c = 0; c < 16; ++c) mismatches += lanes[c] != static_cast<float>(first + c);
    }
    BOOST_TEST(mismatches == 0u);
}

BOOST_AUTO_TEST_CASE(bf16_rounds_to_the_nearest_value_ties_to_even) {
    namespace k = hn::kernels;
    std::mt19937 rng(3);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int n = 0; n < 100000; ++n) {
        const float w = std::bit_cast<float>(bits(rng));
        if (!std::isfinite(w) || std::abs(w) > 3.3e38f) continue;
        const std::uint16_t r = k::bf16_from_float(w);
        const std::uint32_t truncated = std::bit_cast<std::uint32_t>(w) >> 16;
        // r is the truncation or the next value up, whichever is nearer (the even one on a tie).
        const double down = k::float_from_bf16(static_cast<std::uint16_t>(truncated));
        const double up = k::float_from_bf16(static_cast<std::uint16_t>(truncated + 1));
        const double dd = std::abs(double(w) - down), du = std::abs(double(w) - up);
        const std::uint32_t expected = dd < du ? truncated : du < dd ? truncated + 1 : (truncated % 2 == 0 ? truncated : truncated + 1);
        BOOST_TEST_REQUIRE(r == expected);
        if (std::abs(w) > 1e-37f) BOOST_TEST_REQUIRE(std::abs(double(w) - k::float_from_bf16(r)) <= std::ldexp(std::abs(double(w)), -8));
    }
    BOOST_TEST(std::isnan(k::float_from_bf16(k::bf16_from_float(std::nanf("")))));
}

// ---- float paths against hinge::inference --------------------------------------------------------

namespace {

template <class Net, weight_format F, std::size_t Limit = hn::batch1_straight_line_limit>
void check_against_inference(double tolerance) {
    const auto params = initialised<Net>(5);
    auto weights = std::make_unique<hn::batch1_weights<Net, F, Limit>>();
    weights->assign(*params);
    hn::inference<Net> plain;
    hn::batch1_inference<Net, F, Limit> fast;
    for (unsigned sample = 0; sample < 6; ++sample) {
        const std::vector<float> x = uniform_values(Net::input_size, 100 + sample, 2.0f);
        const auto expected = plain(*params, input_span<Net>(x));
        const auto y = fast(*weights, input_span<Net>(x));
        BOOST_TEST(max_difference(y, expected, Net::output_size) <= tolerance * scale_of(expected, Net::output_size));
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(straight_line_equals_inference_on_tiny_and_odd_networks) {
    static_assert(hn::batch1_plan<tiny>::network_path == batch1_path::straight_line);
    static_assert(hn::batch1_plan<odd>::network_path == batch1_path::straight_line);
    static_assert(hn::batch1_plan<odd_wide>::network_path == batch1_path::straight_line);
    static_assert(hn::batch1_plan<single>::network_path == batch1_path::straight_line);
    check_against_inference<tiny, weight_format::float32>(1e-5);
    check_against_inference<odd, weight_format::float32>(1e-5);
    check_against_inference<odd_wide, weight_format::float32>(1e-5);
    check_against_inference<single, weight_format::float32>(1e-5);
}

BOOST_AUTO_TEST_CASE(rows_path_in_float_equals_inference) {
    check_against_inference<mid, weight_format::float32>(1e-5);
    check_against_inference<tiny, weight_format::float32, 0>(1e-5);
    check_against_inference<odd, weight_format::float32, 0>(1e-5);
    check_against_inference<odd_wide, weight_format::float32, 0>(1e-5);
}

BOOST_AUTO_TEST_CASE(other_stage_kinds_fall_back_to_inference_in_float) {
    // The general path is hinge::forward on the float parameters: the same values, bit for bit.
    const auto params = initialised<dispatch_test::cnn>(9);
    auto weights = std::make_unique<hn::batch1_weights<dispatch_test::cnn, weight_format::int8>>();
    const auto report = weights->assign(*params);
    BOOST_TEST(report.max_weight_error == 0.0);
    BOOST_TEST((report.path == batch1_path::general));
    auto plain = std::make_unique<hn::inference<dispatch_test::cnn>>();
    auto fast = std::make_unique<hn::batch1_inference<dispatch_test::cnn, weight_format::int8>>();
    const std::vector<float> x = uniform_values(dispatch_test::cnn::input_size, 4);
    const auto expected = (*plain)(*params, input_span<dispatch_test::cnn>(x));
    const auto y = (*fast)(*weights, input_span<dispatch_test::cnn>(x));
    BOOST_TEST(max_difference(y, expected, dispatch_test::cnn::output_size) == 0.0);
}

// ---- reduced precision --------------------------------------------------------------------------

namespace {

// The kernels compute exactly the network of the stored weights (up to float summation), and the
// converted network stays within the error the report allows, propagated through the stages:
// for activations with |f'| <= 1, e_l = ||W'_l||_1-rows * e_{l-1} + bound_l * max |h_{l-1}|.
template <class Net, weight_format F>
void check_reduced_precision(double expected_relative_error_bound) {
    const auto params = initialised<Net>(13);
    auto weights = std::make_unique<hn::batch1_weights<Net, F>>();
    const auto report = weights->assign(*params);
    BOOST_TEST((report.format == F));
    BOOST_TEST(report.max_row_relative_error <= expected_relative_error_bound);
    BOOST_TEST(report.max_weight_error > 0.0);  // the conversion really rounded something
    hn::inference<Net> plain;
    hn::batch1_inference<Net, F> fast;
    for (unsigned sample = 0; sample < 6; ++sample) {
        const std::vector<float> x = uniform_values(Net::input_size, 200 + sample);
        const auto stages = reference_stages(*weights, x);
        const auto y = fast(*weights, input_span<Net>(x));
        const std::vector<double>& exact = stages.back();
        BOOST_TEST(max_difference(y, exact, Net::output_size) <= 1e-5 * scale_of(exact, Net::output_size));

        // Propagated bound against float inference (bias unchanged by the conversion).
        double error = 0, input_max = 0;
        for (std::size_t k = 0; k < Net::input_size; ++k) input_max = std::max(input_max, double(std::abs(x[k])));
        hn::for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using S = typename Net::template stage<i>;
            double norm = 0;
            for (std::size_t o = 0; o < S::output_width; ++o) {
                double row = 0;
                for (std::size_t k = 0; k < S::input_width; ++k) row += std::abs(double(weights->template weight<i>(o, k)));
                norm = std::max(norm, row);
            }
            error = norm * error + report.stage_error_bound[i] * input_max;
            input_max = scale_of(stages[i], S::output_width) + error;  // a bound on the float network's |h|
        });
        const auto expected = plain(*params, input_span<Net>(x));
        const double difference = max_difference(y, expected, Net::output_size);
        BOOST_TEST(difference <= error + 1e-5 * scale_of(expected, Net::output_size));
        BOOST_TEST(difference > 0.0);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(bf16_weights_compute_the_rounded_network_within_the_reported_error) {
    check_reduced_precision<tiny, weight_format::bf16>(std::ldexp(1.0, -8));
    check_reduced_precision<odd, weight_format::bf16>(std::ldexp(1.0, -8));
    check_reduced_precision<mid, weight_format::bf16>(std::ldexp(1.0, -8));
}

BOOST_AUTO_TEST_CASE(int8_weights_compute_the_quantized_network_within_the_reported_error) {
    // Half a step of 1/127 of the row's largest weight, relative to that weight.
    check_reduced_precision<tiny, weight_format::int8>(0.5 / 127 * (1 + 1e-6));
    check_reduced_precision<odd_wide, weight_format::int8>(0.5 / 127 * (1 + 1e-6));
    check_reduced_precision<mid, weight_format::int8>(0.5 / 127 * (1 + 1e-6));
}

BOOST_AUTO_TEST_CASE(int8_keeps_the_row_maximum_exactly_and_zero_rows_stay_zero) {
    auto params = initialised<single>(21);
    for (std::size_t k = 0; k < 37; ++k) params->layer<0>().weight(3, k) = 0.0f;
    auto weights = std::make_unique<hn::batch1_weights<single, weight_format::int8>>();
    weights->assign(*params);
    for (std::size_t o = 0; o < 21; ++o) {
        float largest = 0, stored_largest = 0;
        for (std::size_t k = 0; k < 37; ++k) {
            largest = std::max(largest, std::abs(params->layer<0>().weight(o, k)));
            stored_largest = std::max(stored_largest, std::abs(weights->weight<0>(o, k)));
        }
        BOOST_TEST(stored_largest == largest, boost::test_tools::tolerance(1e-6f));
    }
    for (std::size_t k = 0; k < 37; ++k) BOOST_TEST(weights->weight<0>(3, k) == 0.0f);
}

// ---- no allocation ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch1_calls_and_conversions_allocate_nothing) {
    const auto tiny_params = initialised<tiny>(1);
    const auto mid_params = initialised<mid>(2);
    auto tiny_weights = std::make_unique<hn::batch1_weights<tiny>>();
    auto mid_bf16 = std::make_unique<hn::batch1_weights<mid, weight_format::bf16>>();
    auto mid_int8 = std::make_unique<hn::batch1_weights<mid, weight_format::int8>>();
    auto a = std::make_unique<hn::batch1_inference<tiny>>();
    auto b = std::make_unique<hn::batch1_inference<mid, weight_format::bf16>>();
    auto c = std::make_unique<hn::batch1_inference<mid, weight_format::int8>>();
    const std::vector<float> x = uniform_values(64, 3);
    float sink = 0;
    const std::size_t allocations = hinge_test_allocations_during([&] {
        tiny_weights->assign(*tiny_params);
        mid_bf16->assign(*mid_params);
        mid_int8->assign(*mid_params);
        for (int n = 0; n < 3; ++n) {
            sink += (*a)(*tiny_weights, input_span<tiny>(x))[0];
            sink += (*b)(*mid_bf16, input_span<mid>(x))[0];
            sink += (*c)(*mid_int8, input_span<mid>(x))[0];
        }
    });
    BOOST_TEST(allocations == 0u);
    BOOST_TEST(std::isfinite(sink));
}

// ---- every dispatch arch ----------------------------------------------------------------------------
// Only in the binary that links the per-arch entries (hinge_tests; the AVX-512 build of the unit
// tests, hinge_tests_avx512, leaves them out as it leaves out tests/runtime/dispatch.cpp).
#if HINGE_TEST_DISPATCH_ENTRIES

namespace {

using dispatch_test::arch_names;
using dispatch_test::cpu_runs;

// Every arch's entry, forced, against the double reference of the stored weights: the widening
// kernels of each instruction set run behind it.
template <class Net, weight_format F>
void check_every_arch() {
    const auto params = initialised<Net>(17);
    auto weights = std::make_unique<hn::batch1_weights<Net, F>>();
    weights->assign(*params);
    const std::vector<float> x = uniform_values(Net::input_size, 23);
    const std::vector<double> exact = reference_stages(*weights, x).back();
    for (const std::string& name : arch_names) {
        BOOST_TEST_CONTEXT("arch " << name << ", format " << hn::name_of(F)) {
            if (!cpu_runs(name)) {
                BOOST_CHECK_THROW((hn::dispatched_batch1_inference<Net, F>{name}), std::invalid_argument);
                continue;
            }
            auto infer = std::make_unique<hn::dispatched_batch1_inference<Net, F>>(name);
            BOOST_TEST(infer->arch_name() == name);
            float first = 0;
            const std::size_t allocations = hinge_test_allocations_during([&] {
                first = (*infer)(*weights, input_span<Net>(x))[0];
            });
            BOOST_TEST(allocations == 0u);
            BOOST_TEST(std::isfinite(first));
            const auto y = (*infer)(*weights, input_span<Net>(x));
            BOOST_TEST(max_difference(y, exact, Net::output_size) <= 1e-5 * scale_of(exact, Net::output_size));
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_dispatch_arch_computes_the_stored_network) {
    check_every_arch<dispatch_test::mlp, weight_format::float32>();  // straight line
    check_every_arch<dispatch_test::mlp, weight_format::bf16>();
    check_every_arch<dispatch_test::mlp, weight_format::int8>();
    check_every_arch<dispatch_test::wide_mlp, weight_format::float32>();  // rows
    check_every_arch<dispatch_test::wide_mlp, weight_format::bf16>();
    check_every_arch<dispatch_test::wide_mlp, weight_format::int8>();
}

#endif  // HINGE_TEST_DISPATCH_ENTRIES

BOOST_AUTO_TEST_SUITE_END()
