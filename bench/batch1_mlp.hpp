#pragma once
// Batch-1 inference of an In -> H1 -> H2 -> Out ReLU MLP, one harness for every batch-1 workload
// file: hinge::inference, Eigen fixed-size matrices and libtorch at::addmv with the same weights
// (hinge's initialiser, copied), each checked against a double-precision reference of the same
// network before anything is timed.
//
// FLOPs per call = 2 * (In*H1 + H1*H2 + H2*Out): the multiply-adds of the three products (bias and
// ReLU are not counted).
//
// hinge runs four ways: `hinge` (hinge::inference on parameters<Net>), and hinge::batch1_inference
// on weights converted once: `hinge_batch1` (float weights, the planner's path: straight-line
// under 16 KB, rows above), `hinge_bf16` and `hinge_int8` (reduced-precision weights, float
// activations). Each is checked before timing: float against the double reference (1e-4),
// bf16 / int8 against the double reference of the weights they store (1e-4); their distance
// from the float network is printed.
//
// Latency distribution: the workloads `<workload>_latency` and `<workload>_latency_ftz` (the same
// inside a hinge::flush_denormals_guard) time every call on its own (bench/latency.hpp: p50_ns,
// p99_ns, p999_ns, max_ns as counters).
//
// The peers, each written the fast way:
// - Eigen: fixed-size matrices (no heap, no size checks; Eigen picks its GEMV kernel for the large
//   ones), column-major (row-major measured within noise of it), products with noalias() into
//   preallocated vectors, bias + ReLU as one expression.
// - libtorch: one thread, weights as contiguous (Out, In) tensors and at::addmv_out into
//   preallocated tensors, at::relu_ in place. Not nn::Linear: at batch 1 it repacks its weights
//   on every call (the issue measured it); addmv is what a latency-minded user writes.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/runtime/batch1_inference.hpp>  // opt-in, not part of <hinge/hinge.hpp>
#include <x86intrin.h>

#include "common.hpp"
#include "latency.hpp"
#include "mlp_parameters.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif
#if HINGE_HAVE_LIBTORCH
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#endif

namespace hinge_bench::batch1 {

template <std::size_t In, std::size_t H1, std::size_t H2, std::size_t Out>
struct mlp {
    using net = hinge::network<hinge::input<In>, hinge::dense<H1>, hinge::relu, hinge::dense<H2>, hinge::relu,
                               hinge::dense<Out>>;
    static constexpr std::size_t inputs_count = 8;  // the timed loops cycle through these: x is not loop-invariant
    static constexpr double flops = 2.0 * (In * H1 + H1 * H2 + H2 * Out);
    static std::string workload() {
        return "mlp_" + std::to_string(In) + "_" + std::to_string(H1) + "_" + std::to_string(H2) + "_" +
               std::to_string(Out) + "_batch1";
    }
    static constexpr std::size_t widths[4] = {In, H1, H2, Out};

    struct fixture {
        hinge::parameters<net> params;
        alignas(64) std::array<std::array<float, In>, inputs_count> inputs{};
        hinge::init::random_generator generator{7};
        mlp_parameters<net> values{params, 42, generator};  // and in double
        const std::vector<double> (&w)[3] = values.w;
        const std::vector<double> (&b)[3] = values.b;

        std::unique_ptr<hinge::batch1_weights<net>> float_weights = std::make_unique<hinge::batch1_weights<net>>();
        std::unique_ptr<hinge::batch1_weights<net, hinge::weight_format::bf16>> bf16_weights =
            std::make_unique<hinge::batch1_weights<net, hinge::weight_format::bf16>>();
        std::unique_ptr<hinge::batch1_weights<net, hinge::weight_format::int8>> int8_weights =
            std::make_unique<hinge::batch1_weights<net, hinge::weight_format::int8>>();

        fixture() {
            for (auto& x : inputs)
                for (float& v : x) v = static_cast<float>(2.0 * generator.uniform() - 1.0);
            float_weights->assign(params);
            bf16_weights->assign(params);
            int8_weights->assign(params);
        }
        template <hinge::weight_format F>
        const hinge::batch1_weights<net, F>& converted() const {
            if constexpr (F == hinge::weight_format::float32) return *float_weights;
            else if constexpr (F == hinge::weight_format::bf16) return *bf16_weights;
            else return *int8_weights;
        }
        float weight(std::size_t l, std::size_t o, std::size_t i) const {
            return static_cast<float>(w[l][o * widths[l] + i]);
        }
        float bias(std::size_t l, std::size_t o) const { return static_cast<float>(b[l][o]); }
    };

    static fixture& shared() {
        static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
        return *instance;
    }

    static std::array<double, Out> reference(const fixture& f, const std::array<float, In>& x) {
        std::vector<double> a(x.begin(), x.end());
        for (std::size_t l = 0; l < 3; ++l) {
            std::vector<double> next(widths[l + 1]);
            for (std::size_t o = 0; o < widths[l + 1]; ++o) {
                double s = f.b[l][o];
                for (std::size_t i = 0; i < widths[l]; ++i) s += f.w[l][o * widths[l] + i] * a[i];
                next[o] = l < 2 ? std::max(s, 0.0) : s;
            }
            a = std::move(next);
        }
        std::array<double, Out> y{};
        std::copy(a.begin(), a.end(), y.begin());
        return y;
    }

    // The same network on the weights a batch1_weights object stores (bf16 / int8 rounding
    // included), in double.
    template <class Weights>
    static std::array<double, Out> reference_of(const Weights& weights, const std::array<float, In>& x) {
        std::vector<double> a(x.begin(), x.end());
        hinge::for_each_index<3>([&](auto index) {
            constexpr std::size_t l = decltype(index)::value;
            std::vector<double> next(widths[l + 1]);
            for (std::size_t o = 0; o < widths[l + 1]; ++o) {
                double sum = weights.template bias<l>(o);
                for (std::size_t i = 0; i < widths[l]; ++i) sum += double(weights.template weight<l>(o, i)) * a[i];
                next[o] = l < 2 ? std::max(sum, 0.0) : sum;
            }
            a = std::move(next);
        });
        std::array<double, Out> y{};
        std::copy(a.begin(), a.end(), y.begin());
        return y;
    }

    // |y - reference| <= 1e-4 * max(1, max |reference|): float rounding of sums of up to 784
    // terms is ~1e-6 relative, so any correct summation order passes and a wrong weight fails.
    template <class Output>
    static void check(const char* who, std::size_t sample, const Output& y, const std::array<double, Out>& ref) {
        double scale = 1;
        for (double r : ref) scale = std::max(scale, std::abs(r));
        for (std::size_t j = 0; j < Out; ++j) {
            const double error = std::abs(double(y[j]) - ref[j]);
            if (!(error <= 1e-4 * scale))
                fail(std::string(who) + ": output " + std::to_string(j) + " of sample " + std::to_string(sample) +
                     " is " + number(y[j]) + ", reference " + number(ref[j]) + " (tolerance 1e-4 * " +
                     number(scale) + ")");
        }
    }

    // ---- hinge -----------------------------------------------------------------------------------

    static void bench_hinge(benchmark::State& state) {
        fixture& f = shared();
        auto inference = std::make_unique<hinge::inference<net>>();
        std::size_t k = 0;
        for (auto _ : state) {
            const auto y = (*inference)(f.params, std::span<const float, In>(f.inputs[k]));
            benchmark::DoNotOptimize(y.data());
            benchmark::ClobberMemory();
            k = (k + 1) % inputs_count;
        }
        set_flops(state, flops);
    }

    // Limit: the straight-line limit of the planner (bench/batch1_crossover.cpp forces each path).
    template <hinge::weight_format F, std::size_t Limit = hinge::batch1_straight_line_limit>
    static void bench_batch1(benchmark::State& state) {
        fixture& f = shared();
        std::unique_ptr<hinge::batch1_weights<net, F, Limit>> owned;
        const hinge::batch1_weights<net, F, Limit>* weights_pointer;
        if constexpr (Limit == hinge::batch1_straight_line_limit) {
            weights_pointer = &f.template converted<F>();
        } else {
            owned = std::make_unique<hinge::batch1_weights<net, F, Limit>>();
            owned->assign(f.params);
            weights_pointer = owned.get();
        }
        const auto& weights = *weights_pointer;
        auto inference = std::make_unique<hinge::batch1_inference<net, F, Limit>>();
        std::size_t k = 0;
        for (auto _ : state) {
            const auto y = (*inference)(weights, std::span<const float, In>(f.inputs[k]));
            benchmark::DoNotOptimize(y.data());
            benchmark::ClobberMemory();
            k = (k + 1) % inputs_count;
        }
        set_flops(state, flops);
    }

    // ---- Eigen -----------------------------------------------------------------------------------

#if HINGE_HAVE_EIGEN
    struct eigen_mlp {
        // Fixed sizes up to Eigen's limit for a fixed-size object (EIGEN_STACK_ALLOCATION_LIMIT,
        // 128 KB); the 784 x 256 and 256 x 128 weights are above it and are dynamic.
        template <int Rows, int Cols>
        using matrix = std::conditional_t<(std::size_t(Rows) * Cols * sizeof(float) <= EIGEN_STACK_ALLOCATION_LIMIT),
                                          Eigen::Matrix<float, Rows, Cols>, Eigen::Matrix<float, Eigen::Dynamic, Cols>>;
        matrix<int(H1), int(In)> w1;
        matrix<int(H2), int(H1)> w2;
        matrix<int(Out), int(H2)> w3;
        matrix<int(H1), 1> b1, h1;
        matrix<int(H2), 1> b2, h2;
        matrix<int(Out), 1> b3, y;
        using input_map = Eigen::Map<const matrix<int(In), 1>>;

        explicit eigen_mlp(const fixture& f) {
            w1.resize(H1, In);  // a no-op for fixed sizes
            w2.resize(H2, H1);
            w3.resize(Out, H2);
            for (Eigen::Index o = 0; o < Eigen::Index(H1); ++o) {
                b1(o) = f.bias(0, o);
                for (Eigen::Index i = 0; i < Eigen::Index(In); ++i) w1(o, i) = f.weight(0, o, i);
            }
            for (Eigen::Index o = 0; o < Eigen::Index(H2); ++o) {
                b2(o) = f.bias(1, o);
                for (Eigen::Index i = 0; i < Eigen::Index(H1); ++i) w2(o, i) = f.weight(1, o, i);
            }
            for (Eigen::Index o = 0; o < Eigen::Index(Out); ++o) {
                b3(o) = f.bias(2, o);
                for (Eigen::Index i = 0; i < Eigen::Index(H2); ++i) w3(o, i) = f.weight(2, o, i);
            }
        }

        const matrix<int(Out), 1>& operator()(const input_map& x) {
            h1.noalias() = w1 * x;
            h1 = (h1 + b1).cwiseMax(0.0f);
            h2.noalias() = w2 * h1;
            h2 = (h2 + b2).cwiseMax(0.0f);
            y.noalias() = w3 * h2;
            y += b3;
            return y;
        }
    };

    static void bench_eigen(benchmark::State& state) {
        fixture& f = shared();
        auto model = std::make_unique<eigen_mlp>(f);
        std::size_t k = 0;
        for (auto _ : state) {
            const auto& y = (*model)(typename eigen_mlp::input_map(f.inputs[k].data()));
            benchmark::DoNotOptimize(y.data());
            benchmark::ClobberMemory();
            k = (k + 1) % inputs_count;
        }
        set_flops(state, flops);
    }
#endif

    // ---- libtorch --------------------------------------------------------------------------------

#if HINGE_HAVE_LIBTORCH
    struct torch_mlp {
        at::Tensor w[3], b[3], h1, h2, y;
        std::vector<at::Tensor> inputs;  // wrap the fixture's inputs once, outside the timed loop

        explicit torch_mlp(fixture& f) {
            for (std::size_t l = 0; l < 3; ++l) {
                const auto out = static_cast<std::int64_t>(widths[l + 1]), in = static_cast<std::int64_t>(widths[l]);
                w[l] = at::empty({out, in}, at::kFloat);
                b[l] = at::empty({out}, at::kFloat);
                float* wp = w[l].data_ptr<float>();
                float* bp = b[l].data_ptr<float>();
                for (std::size_t o = 0; o < widths[l + 1]; ++o) {
                    bp[o] = f.bias(l, o);
                    for (std::size_t i = 0; i < widths[l]; ++i) wp[o * widths[l] + i] = f.weight(l, o, i);
                }
            }
            h1 = at::empty({std::int64_t(H1)}, at::kFloat);
            h2 = at::empty({std::int64_t(H2)}, at::kFloat);
            y = at::empty({std::int64_t(Out)}, at::kFloat);
            for (auto& x : f.inputs) inputs.push_back(at::from_blob(x.data(), {std::int64_t(In)}, at::kFloat));
        }

        const at::Tensor& operator()(std::size_t k) {
            at::addmv_out(h1, b[0], w[0], inputs[k]);
            at::relu_(h1);
            at::addmv_out(h2, b[1], w[1], h1);
            at::relu_(h2);
            at::addmv_out(y, b[2], w[2], h2);
            return y;
        }
    };

    static void bench_libtorch(benchmark::State& state) {
        fixture& f = shared();
        auto model = std::make_unique<torch_mlp>(f);
        std::size_t k = 0;
        for (auto _ : state) {
            const at::Tensor& y = (*model)(k);
            benchmark::DoNotOptimize(y.data_ptr<float>());
            benchmark::ClobberMemory();
            k = (k + 1) % inputs_count;
        }
        set_flops(state, flops);
    }
#endif

    static void verify() {
        fixture& f = shared();
        auto inference = std::make_unique<hinge::inference<net>>();
#if HINGE_HAVE_EIGEN
        auto eigen = std::make_unique<eigen_mlp>(f);
#endif
#if HINGE_HAVE_LIBTORCH
        auto torch = std::make_unique<torch_mlp>(f);
#endif
        auto batch1_float = std::make_unique<hinge::batch1_inference<net>>();
        auto batch1_bf16 = std::make_unique<hinge::batch1_inference<net, hinge::weight_format::bf16>>();
        auto batch1_int8 = std::make_unique<hinge::batch1_inference<net, hinge::weight_format::int8>>();
        double deviation_bf16 = 0, deviation_int8 = 0, output_scale = 0;
        for (std::size_t k = 0; k < inputs_count; ++k) {
            const auto ref = reference(f, f.inputs[k]);
            const std::span<const float, In> x(f.inputs[k]);
            check("hinge", k, (*inference)(f.params, x), ref);
            check("hinge_batch1", k, (*batch1_float)(*f.float_weights, x), ref);
            const auto y_bf16 = (*batch1_bf16)(*f.bf16_weights, x);
            check("hinge_bf16 (against its stored weights)", k, y_bf16, reference_of(*f.bf16_weights, f.inputs[k]));
            const auto y_int8 = (*batch1_int8)(*f.int8_weights, x);
            check("hinge_int8 (against its stored weights)", k, y_int8, reference_of(*f.int8_weights, f.inputs[k]));
            for (std::size_t j = 0; j < Out; ++j) {
                output_scale = std::max(output_scale, std::abs(ref[j]));
                deviation_bf16 = std::max(deviation_bf16, std::abs(double(y_bf16[j]) - ref[j]));
                deviation_int8 = std::max(deviation_int8, std::abs(double(y_int8[j]) - ref[j]));
            }
#if HINGE_HAVE_EIGEN
            check("eigen", k, (*eigen)(typename eigen_mlp::input_map(f.inputs[k].data())), ref);
#endif
#if HINGE_HAVE_LIBTORCH
            const float* y = (*torch)(k).template data_ptr<float>();
            check("libtorch", k, y, ref);
#endif
        }
        std::fprintf(stderr, "verified: %s outputs of %s match a double reference on %zu inputs (1e-4 relative)\n",
                     workload().c_str(), peers_description(), inputs_count);
        using plan = hinge::batch1_plan<net>;
        std::fprintf(stderr,
                     "batch1 plan: %s path, %zu bytes of float weights; stages:", hinge::name_of(plan::network_path),
                     plan::float_weight_bytes);
        for (const auto& s : plan::stages)
            std::fprintf(stderr, " %zu->%zu %s%s", s.input_width, s.output_width, hinge::name_of(s.path),
                         s.path == hinge::batch1_path::straight_line
                             ? (s.product == hinge::batch1_product::dot ? " (dot)" : " (broadcast)")
                             : "");
        std::fprintf(stderr,
                     "\nreduced precision: max |y - y_float| over the inputs = %.3g (bf16), %.3g (int8); largest |y| %.3g\n",
                     deviation_bf16, deviation_int8, output_scale);
    }

    // ---- latency distribution ---------------------------------------------------------------------

    template <class MakeCall>
    static void bench_latency(benchmark::State& state, MakeCall make_call, bool flush_denormals) {
        hinge_bench::latency::measure(state, make_call(), inputs_count, flush_denormals);
    }

    // One callable per implementation for the latency benchmarks: owns its front end, calls it
    // on input k and keeps the result observable.
    static auto hinge_call() {
        return [inference = std::shared_ptr<hinge::inference<net>>(std::make_unique<hinge::inference<net>>())](
                   std::size_t k) {
            fixture& f = shared();
            benchmark::DoNotOptimize((*inference)(f.params, std::span<const float, In>(f.inputs[k])).data());
        };
    }
    template <hinge::weight_format F>
    static auto batch1_call() {
        return [inference = std::shared_ptr<hinge::batch1_inference<net, F>>(
                    std::make_unique<hinge::batch1_inference<net, F>>())](std::size_t k) {
            fixture& f = shared();
            benchmark::DoNotOptimize(
                (*inference)(f.template converted<F>(), std::span<const float, In>(f.inputs[k])).data());
        };
    }

    static void register_latency(const std::string& suffix, bool flush) {
        const std::string w = workload() + suffix;
        add(w + "/hinge", flops, [=](benchmark::State& s) { bench_latency(s, [] { return hinge_call(); }, flush); });
        add(w + "/hinge_batch1", flops, [=](benchmark::State& s) {
            bench_latency(s, [] { return batch1_call<hinge::weight_format::float32>(); }, flush);
        });
        add(w + "/hinge_bf16", flops, [=](benchmark::State& s) {
            bench_latency(s, [] { return batch1_call<hinge::weight_format::bf16>(); }, flush);
        });
        add(w + "/hinge_int8", flops, [=](benchmark::State& s) {
            bench_latency(s, [] { return batch1_call<hinge::weight_format::int8>(); }, flush);
        });
#if HINGE_HAVE_EIGEN
        add(w + "/eigen", flops, [=](benchmark::State& s) {
            bench_latency(
                s,
                [] {
                    return [model = std::shared_ptr<eigen_mlp>(std::make_unique<eigen_mlp>(shared()))](std::size_t k) {
                        benchmark::DoNotOptimize(
                            (*model)(typename eigen_mlp::input_map(shared().inputs[k].data())).data());
                    };
                },
                flush);
        });
#endif
    }

    static void register_benchmarks() {
        add(workload() + "/hinge", flops, bench_hinge);
        add(workload() + "/hinge_batch1", flops, bench_batch1<hinge::weight_format::float32>);
        add(workload() + "/hinge_bf16", flops, bench_batch1<hinge::weight_format::bf16>);
        add(workload() + "/hinge_int8", flops, bench_batch1<hinge::weight_format::int8>);
#if HINGE_HAVE_EIGEN
        add(workload() + "/eigen", flops, bench_eigen);
#endif
#if HINGE_HAVE_LIBTORCH
        add(workload() + "/libtorch", flops, bench_libtorch);
#endif
        register_latency("_latency", false);
        register_latency("_latency_ftz", true);
    }
};

}  // namespace hinge_bench::batch1

// One batch-1 workload per file: HINGE_BATCH1_MLP_MAIN(In, H1, H2, Out).
#define HINGE_BATCH1_MLP_MAIN(In, H1, H2, Out)                                                  \
    namespace {                                                                                 \
    using workload_type = ::hinge_bench::batch1::mlp<In, H1, H2, Out>;                          \
    void verify() { workload_type::verify(); }                                                  \
    void register_benchmarks() { workload_type::register_benchmarks(); }                        \
    }                                                                                           \
    HINGE_BENCH_MAIN()
