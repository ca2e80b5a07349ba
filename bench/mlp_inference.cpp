// Batch-1 inference of a 64 -> 128 -> 128 -> 10 ReLU MLP: hinge::inference against Eigen
// fixed-size matrices with the same weights. Issue target: hinge no slower than Eigen.
//
// FLOPs per call = 2 * (64*128 + 128*128 + 128*10) = 51,712 (multiply-adds of the three
// products; bias and ReLU not counted).
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include <hinge/hinge.hpp>

#include "common.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace {

using net = hinge::network<hinge::input<64>, hinge::dense<128>, hinge::relu, hinge::dense<128>, hinge::relu,
                           hinge::dense<10>>;
constexpr std::size_t inputs_count = 8;  // the timed loops cycle through these, so x is not loop-invariant
constexpr double flops = 2.0 * (64 * 128 + 128 * 128 + 128 * 10);
const std::string workload = "mlp_64_128_128_10_batch1";

struct fixture {
    hinge::parameters<net> params;
    alignas(64) std::array<std::array<float, 64>, inputs_count> inputs{};

    fixture() {
        hinge::init::he_normal(params, 42);
        // he_normal leaves the biases at zero; give them values so the bias path is checked too.
        hinge::init::random_generator generator(7);
        hinge::for_each_index<net::stage_count>([&](auto index) {
            auto view = params.template layer<decltype(index)::value>();
            for (std::size_t o = 0; o < view.output_width; ++o)
                view.bias(o) = static_cast<float>(0.1 * (generator.uniform() - 0.5));
        });
        for (auto& x : inputs)
            for (float& v : x) v = static_cast<float>(2.0 * generator.uniform() - 1.0);
    }
};

fixture& shared_fixture() {
    static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
    return *instance;
}

// Plain double-precision reference of the same network, from hinge's logical weight view.
std::array<double, 10> reference(const hinge::parameters<net>& params, const std::array<float, 64>& x) {
    std::array<double, 128> h1{}, h2{};
    std::array<double, 10> y{};
    const auto l0 = params.layer<0>();
    const auto l1 = params.layer<1>();
    const auto l2 = params.layer<2>();
    for (std::size_t o = 0; o < 128; ++o) {
        double s = l0.bias(o);
        for (std::size_t i = 0; i < 64; ++i) s += double(l0.weight(o, i)) * x[i];
        h1[o] = s > 0 ? s : 0;
    }
    for (std::size_t o = 0; o < 128; ++o) {
        double s = l1.bias(o);
        for (std::size_t i = 0; i < 128; ++i) s += double(l1.weight(o, i)) * h1[i];
        h2[o] = s > 0 ? s : 0;
    }
    for (std::size_t o = 0; o < 10; ++o) {
        double s = l2.bias(o);
        for (std::size_t i = 0; i < 128; ++i) s += double(l2.weight(o, i)) * h2[i];
        y[o] = s;
    }
    return y;
}

// |y - reference| <= 1e-4 * max(1, max |reference|): float rounding of 128-term sums is ~1e-6
// relative, so this passes any correct summation order and fails any wrong weight or index.
template <class Output>
void check_output(const char* who, std::size_t sample, const Output& y, const std::array<double, 10>& ref) {
    double scale = 1;
    for (double r : ref) scale = std::max(scale, std::abs(r));
    for (std::size_t j = 0; j < 10; ++j) {
        const double error = std::abs(double(y[j]) - ref[j]);
        if (!(error <= 1e-4 * scale))
            hinge_bench::fail(std::string(who) + ": output " + std::to_string(j) + " of sample " +
                              std::to_string(sample) + " is " + hinge_bench::number(y[j]) + ", reference " +
                              hinge_bench::number(ref[j]) + " (tolerance 1e-4 * " + hinge_bench::number(scale) + ")");
    }
}

void bench_hinge(benchmark::State& state) {
    fixture& f = shared_fixture();
    auto inference = std::make_unique<hinge::inference<net>>();
    std::size_t k = 0;
    for (auto _ : state) {
        const auto y = (*inference)(f.params, std::span<const float, 64>(f.inputs[k]));
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        k = (k + 1) % inputs_count;
    }
    hinge_bench::set_flops(state, flops);
}

#if HINGE_HAVE_EIGEN
// The fast way to write this in Eigen: fixed sizes (no heap, no size checks), Eigen's default
// column-major storage (row-major weights measured within noise of it, with g++ and clang), the
// products evaluated with noalias() into preallocated vectors, bias + ReLU as one expression.
struct eigen_mlp {
    Eigen::Matrix<float, 128, 64> w1;
    Eigen::Matrix<float, 128, 128> w2;
    Eigen::Matrix<float, 10, 128> w3;
    Eigen::Matrix<float, 128, 1> b1, b2, h1, h2;
    Eigen::Matrix<float, 10, 1> b3, y;

    explicit eigen_mlp(const hinge::parameters<net>& p) {
        const auto l0 = p.layer<0>();
        const auto l1 = p.layer<1>();
        const auto l2 = p.layer<2>();
        for (Eigen::Index o = 0; o < 128; ++o) {
            b1(o) = l0.bias(o);
            b2(o) = l1.bias(o);
            for (Eigen::Index i = 0; i < 64; ++i) w1(o, i) = l0.weight(o, i);
            for (Eigen::Index i = 0; i < 128; ++i) w2(o, i) = l1.weight(o, i);
        }
        for (Eigen::Index o = 0; o < 10; ++o) {
            b3(o) = l2.bias(o);
            for (Eigen::Index i = 0; i < 128; ++i) w3(o, i) = l2.weight(o, i);
        }
    }

    const Eigen::Matrix<float, 10, 1>& operator()(const Eigen::Map<const Eigen::Matrix<float, 64, 1>>& x) {
        h1.noalias() = w1 * x;
        h1 = (h1 + b1).cwiseMax(0.0f);
        h2.noalias() = w2 * h1;
        h2 = (h2 + b2).cwiseMax(0.0f);
        y.noalias() = w3 * h2;
        y += b3;
        return y;
    }
};

void bench_eigen(benchmark::State& state) {
    fixture& f = shared_fixture();
    auto model = std::make_unique<eigen_mlp>(f.params);
    std::size_t k = 0;
    for (auto _ : state) {
        const auto& y = (*model)(Eigen::Map<const Eigen::Matrix<float, 64, 1>>(f.inputs[k].data()));
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        k = (k + 1) % inputs_count;
    }
    hinge_bench::set_flops(state, flops);
}
#endif

void verify() {
    fixture& f = shared_fixture();
    auto inference = std::make_unique<hinge::inference<net>>();
#if HINGE_HAVE_EIGEN
    auto model = std::make_unique<eigen_mlp>(f.params);
#endif
    for (std::size_t k = 0; k < inputs_count; ++k) {
        const auto ref = reference(f.params, f.inputs[k]);
        check_output("hinge", k, (*inference)(f.params, std::span<const float, 64>(f.inputs[k])), ref);
#if HINGE_HAVE_EIGEN
        check_output("eigen", k, (*model)(Eigen::Map<const Eigen::Matrix<float, 64, 1>>(f.inputs[k].data())), ref);
#endif
    }
    std::fprintf(stderr, "verified: %s outputs match a double reference on %zu inputs (tolerance 1e-4 relative)\n",
                 workload.c_str(), inputs_count);
}

void register_benchmarks() {
    hinge_bench::add(workload + "/hinge", flops, bench_hinge);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(workload + "/eigen", flops, bench_eigen);
#endif
}

}  // namespace

HINGE_BENCH_MAIN()
