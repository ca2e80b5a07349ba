// One dense + ReLU stage at batch 64, the products that make up the MLP training step, per shape:
//   forward          y = relu(x W^T + b)         2*B*In*Out FLOPs
//   weight_gradient  dW = dz^T x, db = sum dz    2*B*In*Out FLOPs (the backward of a first stage:
//                                                no input gradient)
// hinge runs a one-stage network through the public passes (hinge::forward, hinge::backward);
// Eigen runs the same products as noalias() GEMMs on row-major matrices. 784x256 is the first
// layer of mlp_training (these two products are 80% of its step's FLOPs), 256x128 the second.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>

#include "common.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace {

constexpr std::size_t batch = 64;
constexpr std::size_t batches = 4;  // the timed loops cycle through these inputs

template <std::size_t In, std::size_t Out>
struct shape {
    using net = hinge::network<hinge::input<In>, hinge::dense<Out>, hinge::relu>;
    static constexpr double flops = 2.0 * batch * In * Out;
    static std::string name(const char* product) {
        return "dense_" + std::to_string(In) + "_" + std::to_string(Out) + "_relu_batch64_" + product;
    }

    struct fixture {
        hinge::parameters<net> params;
        std::vector<float> inputs = std::vector<float>(batches * batch * In);
        std::vector<float> output_gradient = std::vector<float>(batch * Out);  // dL/dy, the seed

        fixture() {
            hinge::init::he_normal(params, 5);
            hinge::init::random_generator generator(11);
            auto view = params.template layer<0>();
            for (std::size_t o = 0; o < Out; ++o) view.bias(o) = static_cast<float>(0.1 * (generator.uniform() - 0.5));
            for (float& v : inputs) v = static_cast<float>(generator.uniform());
            for (float& v : output_gradient) v = static_cast<float>(generator.uniform() - 0.5) / batch;
        }
        const float* x(std::size_t k) const { return inputs.data() + k * batch * In; }
    };

    static fixture& shared() {
        static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
        return *instance;
    }

    struct hinge_stage {
        hinge::workspace<net, batch, float, true> ws;
        hinge::gradients<net> grads;
        void forward(const fixture& f, const float* x) { hinge::forward(f.params, ws, x); }
        void weight_gradient(const fixture& f, const float* x) {
            // The seed is multiplied by relu'(y) of the last forward pass, as in training.
            hinge::seed_output_gradient(ws, grads, batch,
                                        [&f](std::size_t r, std::size_t j) { return f.output_gradient[r * Out + j]; });
            hinge::backward(f.params, ws, x, grads);
        }
    };

    static void bench_hinge_forward(benchmark::State& state) {
        const fixture& f = shared();
        auto h = std::make_unique<hinge_stage>();
        std::size_t k = 0;
        for (auto _ : state) {
            h->forward(f, f.x(k));
            benchmark::ClobberMemory();
            k = (k + 1) % batches;
        }
        hinge_bench::set_flops(state, flops);
    }
    static void bench_hinge_weight_gradient(benchmark::State& state) {
        const fixture& f = shared();
        auto h = std::make_unique<hinge_stage>();
        h->forward(f, f.x(0));
        std::size_t k = 0;
        for (auto _ : state) {
            h->weight_gradient(f, f.x(k));
            benchmark::ClobberMemory();
            k = (k + 1) % batches;
        }
        hinge_bench::set_flops(state, flops);
    }

#if HINGE_HAVE_EIGEN
    struct eigen_stage {
        using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        using row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
        using map = Eigen::Map<const matrix>;
        matrix w{Out, In}, y{batch, Out}, dz{batch, Out}, dw{Out, In};
        row b{Out}, db{Out};

        explicit eigen_stage(const fixture& f) {
            const auto view = f.params.template layer<0>();
            for (Eigen::Index o = 0; o < Eigen::Index(Out); ++o) {
                b(o) = view.bias(o);
                for (Eigen::Index i = 0; i < Eigen::Index(In); ++i) w(o, i) = view.weight(o, i);
            }
        }
        void forward(const float* x) {
            y.noalias() = map(x, batch, In) * w.transpose();
            y = (y.rowwise() + b).cwiseMax(0.0f);
        }
        void weight_gradient(const fixture& f, const float* x) {
            dz = (y.array() > 0.0f).select(map(f.output_gradient.data(), batch, Out), 0.0f);
            dw.noalias() = dz.transpose() * map(x, batch, In);
            db = dz.colwise().sum();
        }
    };

    static void bench_eigen_forward(benchmark::State& state) {
        const fixture& f = shared();
        auto e = std::make_unique<eigen_stage>(f);
        std::size_t k = 0;
        for (auto _ : state) {
            e->forward(f.x(k));
            benchmark::ClobberMemory();
            k = (k + 1) % batches;
        }
        hinge_bench::set_flops(state, flops);
    }
    static void bench_eigen_weight_gradient(benchmark::State& state) {
        const fixture& f = shared();
        auto e = std::make_unique<eigen_stage>(f);
        e->forward(f.x(0));
        std::size_t k = 0;
        for (auto _ : state) {
            e->weight_gradient(f, f.x(k));
            benchmark::ClobberMemory();
            k = (k + 1) % batches;
        }
        hinge_bench::set_flops(state, flops);
    }
#endif

    // Outputs and weight gradients against a double reference on input 0:
    // |v - ref| <= 1e-4 * max |ref| (float sums of In terms are ~1e-6 relative).
    static void verify() {
        const fixture& f = shared();
        const auto view = f.params.template layer<0>();
        const float* x = f.x(0);
        std::vector<double> y(batch * Out), dw(Out * In, 0.0), db(Out, 0.0);
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t o = 0; o < Out; ++o) {
                double s = view.bias(o);
                for (std::size_t i = 0; i < In; ++i) s += double(view.weight(o, i)) * x[r * In + i];
                y[r * Out + o] = std::max(s, 0.0);
                const double dz = s > 0 ? f.output_gradient[r * Out + o] : 0.0;
                db[o] += dz;
                for (std::size_t i = 0; i < In; ++i) dw[o * In + i] += dz * x[r * In + i];
            }
        auto tolerance = [](const std::vector<double>& v) {
            double m = 0;
            for (double e : v) m = std::max(m, std::abs(e));
            return 1e-4 * m + 1e-12;
        };
        const double ty = tolerance(y), tw = tolerance(dw), tb = tolerance(db);
        auto check = [](const std::string& what, double value, double ref, double tol) {
            if (!(std::abs(value - ref) <= tol))
                hinge_bench::fail(what + " is " + hinge_bench::number(value) + ", reference " + hinge_bench::number(ref) +
                                  " (tolerance " + hinge_bench::number(tol) + ")");
        };

        auto h = std::make_unique<hinge_stage>();
        h->forward(f, x);
        h->weight_gradient(f, x);
        const auto g = h->grads.template layer<0>();
#if HINGE_HAVE_EIGEN
        auto e = std::make_unique<eigen_stage>(f);
        e->forward(x);
        e->weight_gradient(f, x);
#endif
        for (std::size_t o = 0; o < Out; ++o) {
            check(name("") + " hinge bias gradient " + std::to_string(o), g.bias(o), db[o], tb);
#if HINGE_HAVE_EIGEN
            check(name("") + " eigen bias gradient " + std::to_string(o), e->db(Eigen::Index(o)), db[o], tb);
#endif
            for (std::size_t i = 0; i < In; ++i) {
                check(name("") + " hinge weight gradient", g.weight(o, i), dw[o * In + i], tw);
#if HINGE_HAVE_EIGEN
                check(name("") + " eigen weight gradient", e->dw(Eigen::Index(o), Eigen::Index(i)), dw[o * In + i], tw);
#endif
            }
            for (std::size_t r = 0; r < batch; ++r) {
                check(name("") + " hinge output", h->ws.output(r)[o], y[r * Out + o], ty);
#if HINGE_HAVE_EIGEN
                check(name("") + " eigen output", e->y(Eigen::Index(r), Eigen::Index(o)), y[r * Out + o], ty);
#endif
            }
        }
    }

    static void add() {
        hinge_bench::add(name("forward") + "/hinge", flops, bench_hinge_forward);
#if HINGE_HAVE_EIGEN
        hinge_bench::add(name("forward") + "/eigen", flops, bench_eigen_forward);
#endif
        hinge_bench::add(name("weight_gradient") + "/hinge", flops, bench_hinge_weight_gradient);
#if HINGE_HAVE_EIGEN
        hinge_bench::add(name("weight_gradient") + "/eigen", flops, bench_eigen_weight_gradient);
#endif
    }
};

using first_layer = shape<784, 256>;
using second_layer = shape<256, 128>;

void verify() {
    first_layer::verify();
    second_layer::verify();
    std::fprintf(stderr, "verified: dense 784x256 and 256x128 outputs and weight gradients match a double reference "
                         "(tolerance 1e-4 of the largest value)\n");
}

void register_benchmarks() {
    first_layer::add();
    second_layer::add();
}

}  // namespace

HINGE_BENCH_MAIN()
