#pragma once
// One SGD training step of a W0 -> W1 -> ... -> Wn ReLU MLP at batch B, with softmax
// cross-entropy (integer labels) or mean squared error: hinge::trainer, the same step written by
// hand with Eigen, and libtorch (autograd, one thread), from the same initial parameters and data.
// One harness for every training workload file. Before anything is timed, each implementation's
// loss, every weight and bias gradient and every updated parameter of one step are checked
// against a plain double-precision reference.
//
// FLOPs per step (real work; elementwise work, the loss and the update are not counted):
//   forward                          2*B*sum(W[l] * W[l+1])
//   weight gradients (x^T dz)        2*B*sum(W[l] * W[l+1])
//   input gradients, layers 2..n     2*B*sum over l >= 1 of W[l] * W[l+1]
//   (layer 1 has none: the gradient of the network input is not needed)
//
// The phases (forward, loss, backward, SGD update) are also timed on their own for hinge and
// Eigen, to show where the time goes; their sum is close to the step.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <hinge/hinge.hpp>

#include "common.hpp"
#include "mlp_parameters.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif
#if HINGE_HAVE_LIBTORCH
#include <torch/torch.h>
#endif

namespace hinge_bench::training {

// ---- shared by every training workload (this file's MLPs, cnn_fashion_mnist_train_batch64.cpp) ---

// Thread counts: every workload also runs as <workload>_threads<N>/<impl> for N in thread_counts,
// hinge on a hinge::thread_team of N, Eigen with Eigen::setNbThreads(N) (its products use OpenMP),
// libtorch with at::set_num_threads(N), timed in wall-clock time (UseRealTime: CPU time would
// count one thread). The _threads1 rows are the same code as the plain rows (a team of one runs
// on the caller), timed the same way as the _threads2 rows, so that the speed-up is a ratio of
// two numbers measured alike.
inline constexpr std::size_t thread_counts[] = {1, 2};

// Hand-offs per step (thread_team::run calls): the "handoffs" counter of the hinge rows.
template <class Fn>
void add_threaded(const std::string& workload, const std::string& impl, double flops, Fn fn) {
    for (std::size_t n : thread_counts)
        add(workload + "_threads" + std::to_string(n) + "/" + impl, flops,
            [fn, n](benchmark::State& state) { fn(state, n); })
            ->UseRealTime();
}

// Eigen / libtorch on n threads for as long as the guard lives, then back to one (main() sets one).
struct peer_threads {
    explicit peer_threads(std::size_t n) { set_peer_threads(static_cast<int>(n)); }
    ~peer_threads() { set_peer_threads(1); }
    peer_threads(const peer_threads&) = delete;
    peer_threads& operator=(const peer_threads&) = delete;
};

// Checks one SGD step of an implementation against a reference: the loss, every weight and bias
// gradient, and every updated parameter. Indexed by stage like mlp_parameters (a stage without
// weights has empty vectors and is skipped); weights are w[stage][o * in + i] in hinge's order.
// Gradients: |g - g_ref| <= relative * max |g_ref| of that stage (a wrong index or a missing mask
// is off by O(1)). Updated parameters: |p1 - (p0 - lr * g_ref)| <= 4 ulp(p0) + lr * (gradient
// tolerance). Loss: |loss - ref| <= loss_relative * |ref|.
template <std::size_t Stages>
struct step_checker {
    using per_stage = std::vector<double>[Stages];

    const char* who;
    double reference_loss;
    const per_stage& dw;  // reference gradients
    const per_stage& db;
    double learning_rate;
    double loss_relative;
    double tolerance[Stages][2] = {};  // [stage][0 = weights, 1 = biases]
    mutable double worst = 0;          // the largest gradient error seen, as a fraction of its tolerance

    step_checker(const char* name, double loss, const per_stage& weight_gradients, const per_stage& bias_gradients,
                 double rate, double gradient_relative, double loss_tolerance)
        : who(name), reference_loss(loss), dw(weight_gradients), db(bias_gradients), learning_rate(rate),
          loss_relative(loss_tolerance) {
        for (std::size_t l = 0; l < Stages; ++l) {
            const std::vector<double>* g[2] = {&dw[l], &db[l]};
            for (std::size_t k = 0; k < 2; ++k) {
                double m = 0;
                for (double v : *g[k]) m = std::max(m, std::abs(v));
                tolerance[l][k] = gradient_relative * m + 1e-12;
            }
        }
    }
    // One weight (bias = false) or bias: its gradient, and its value before and after the step.
    void parameter(std::size_t stage, bool bias, std::size_t index, double gradient, double p0, double p1) const {
        const double g_ref = bias ? db[stage][index] : dw[stage][index];
        const double g_tolerance = tolerance[stage][bias ? 1 : 0];
        worst = std::max(worst, std::abs(gradient - g_ref) / g_tolerance);
        const std::string where = std::string(who) + ": stage " + std::to_string(stage) +
                                  (bias ? " bias " : " weight ") + std::to_string(index);
        if (!(std::abs(gradient - g_ref) <= g_tolerance))
            fail(where + ": gradient " + number(gradient) + ", reference " + number(g_ref) + " (tolerance " +
                 number(g_tolerance) + ")");
        const double expected = p0 - learning_rate * g_ref;
        const double p_tolerance = 4 * 0x1p-23 * std::abs(p0) + learning_rate * g_tolerance;
        if (!(std::abs(p1 - expected) <= p_tolerance))
            fail(where + ": updated to " + number(p1) + ", expected " + number(expected) + " (tolerance " +
                 number(p_tolerance) + ")");
    }
    void loss(double value) const {
        if (!(std::abs(value - reference_loss) <= loss_relative * std::abs(reference_loss)))
            fail(std::string(who) + ": loss " + number(value) + ", reference " + number(reference_loss) +
                 " (tolerance " + number(loss_relative) + " relative)");
    }
    // Every parameter, from the initial values w0, b0 and accessors (stage, o, i) and (stage, o).
    template <class Gradient, class BiasGradient, class After, class BiasAfter>
    void all(const per_stage& w0, const per_stage& b0, Gradient&& gw, BiasGradient&& gb, After&& w1,
             BiasAfter&& b1) const {
        for (std::size_t l = 0; l < Stages; ++l) {
            const std::size_t out = b0[l].size(), in = out ? w0[l].size() / out : 0;
            for (std::size_t o = 0; o < out; ++o) {
                parameter(l, true, o, gb(l, o), b0[l][o], b1(l, o));
                for (std::size_t i = 0; i < in; ++i)
                    parameter(l, false, o * in + i, gw(l, o, i), w0[l][o * in + i], w1(l, o, i));
            }
        }
    }
    // hinge's parameters after the step and the gradients of the step.
    template <class Net>
    void all(const per_stage& w0, const per_stage& b0, const hinge::parameters<Net>& after,
             const hinge::gradients<Net>& gradients) const {
        hinge::for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t l = decltype(index)::value;
            const auto g = gradients.template layer<l>();
            const auto p1 = after.template layer<l>();
            if constexpr (weight_view<decltype(g)>)
                for (std::size_t o = 0; o < g.output_width; ++o) {
                    parameter(l, true, o, g.bias(o), b0[l][o], p1.bias(o));
                    for (std::size_t i = 0; i < g.input_width; ++i)
                        parameter(l, false, o * g.input_width + i, g.weight(o, i), w0[l][o * g.input_width + i],
                                  p1.weight(o, i));
                }
        });
    }
};

// Times step(k) with k cycling through `batches` batches of data (the input is not
// loop-invariant); the last loss must be finite.
template <class Step>
void time_steps(benchmark::State& state, const char* who, std::size_t batches, double flops, Step&& step) {
    std::size_t k = 0;
    float last = 0;
    for (auto _ : state) {
        last = step(k);
        benchmark::DoNotOptimize(last);
        benchmark::ClobberMemory();
        k = (k + 1) % batches;
    }
    if (!std::isfinite(last)) state.SkipWithError((std::string(who) + ": the loss is not finite").c_str());
    set_flops(state, flops);
}

#if HINGE_HAVE_EIGEN
// Mean softmax cross-entropy of the rows of z (one sample per row) against integer labels; leaves
// dL/dz in g.
template <class Matrix, class Label>
typename Matrix::Scalar eigen_softmax_cross_entropy(const Matrix& z, const Label* labels, Matrix& g) {
    using T = typename Matrix::Scalar;
    const T scale = T(1) / T(z.rows());
    T total = 0;
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
        const T largest = z.row(r).maxCoeff();
        g.row(r) = (z.row(r).array() - largest).exp().matrix();
        const T sum = g.row(r).sum();
        total += std::log(sum) - (z(r, labels[r]) - largest);
        g.row(r) *= scale / sum;
        g(r, labels[r]) -= scale;
    }
    return total * scale;
}
#endif

// ---- the MLP workloads -----------------------------------------------------------------------------

// network<input<W0>, sequential<dense<W1>, relu>, ..., dense<Wn>>: ReLU after every layer but the last.
template <std::size_t I, std::size_t... Widths>
inline constexpr std::size_t nth_width = std::array<std::size_t, sizeof...(Widths)>{Widths...}[I];

template <class HiddenIndices, std::size_t... Widths>
struct relu_mlp_network;
template <std::size_t... Hidden, std::size_t... Widths>
struct relu_mlp_network<std::index_sequence<Hidden...>, Widths...> {
    using type = hinge::network<hinge::input<nth_width<0, Widths...>>,
                                hinge::sequential<hinge::dense<nth_width<Hidden + 1, Widths...>>, hinge::relu>...,
                                hinge::dense<nth_width<sizeof...(Widths) - 1, Widths...>>>;
};

// "mlp_32_64x12_4": the widths, a run of three or more equal hidden widths written once with its count.
inline std::string mlp_name(std::initializer_list<std::size_t> widths) {
    const std::vector<std::size_t> w(widths);
    std::string name = "mlp_" + std::to_string(w.front());
    for (std::size_t l = 1; l + 1 < w.size();) {
        std::size_t run = 1;
        while (l + run + 1 < w.size() && w[l + run] == w[l]) ++run;
        name += "_" + std::to_string(w[l]);
        if (run >= 3)
            name += "x" + std::to_string(run);
        else
            for (std::size_t k = 1; k < run; ++k) name += "_" + std::to_string(w[l]);
        l += run;
    }
    return name + "_" + std::to_string(w.back());
}

template <std::size_t Batch, class Loss, std::size_t... Widths>
struct mlp_step {
    static_assert(sizeof...(Widths) >= 3, "training_step.hpp: an MLP workload has at least one hidden layer");
    using net = typename relu_mlp_network<std::make_index_sequence<sizeof...(Widths) - 2>, Widths...>::type;
    static constexpr std::size_t layers = sizeof...(Widths) - 1;
    static constexpr std::size_t widths[] = {Widths...};
    // (clang 19 does not read `widths` in a constant expression while the class is incomplete)
    static constexpr std::size_t In = nth_width<0, Widths...>;
    static constexpr std::size_t Out = nth_width<layers, Widths...>;
    static_assert(net::stage_count == layers);
    using loss = Loss;
    using trainer = hinge::trainer<net, loss, hinge::optim::sgd, hinge::batch<Batch>>;
    using target_type = typename trainer::target_type;
    static constexpr bool classification = std::is_same_v<Loss, hinge::loss::softmax_cross_entropy>;
    static_assert(classification || std::is_same_v<Loss, hinge::loss::mean_squared_error>,
                  "training_step.hpp: the reference implements softmax cross-entropy and mean squared error only");
    static constexpr std::size_t targets_per_sample = trainer::targets_per_sample;

    static constexpr std::size_t batch = Batch;
    static constexpr std::size_t batches = 4;  // the timed loops cycle through these: the input is not loop-invariant
    static constexpr float learning_rate = 1e-3f;  // small: thousands of steps leave the weights sane
    static constexpr double products(std::size_t first_layer) {
        constexpr std::size_t w[] = {Widths...};
        double sum = 0;
        for (std::size_t l = first_layer; l < layers; ++l) sum += double(w[l]) * double(w[l + 1]);
        return sum;
    }
    static constexpr double forward_flops = 2.0 * batch * products(0);
    static constexpr double backward_flops = forward_flops + 2.0 * batch * products(1);
    static constexpr double step_flops = forward_flops + backward_flops;

    static std::string net_name() { return mlp_name({Widths...}); }
    static std::string step_workload() { return net_name() + "_train_batch" + std::to_string(batch); }
    static std::string phase_prefix() { return net_name() + "_batch" + std::to_string(batch) + "_"; }

    struct fixture {
        hinge::parameters<net> initial;  // every benchmark run starts from these
        std::vector<float, xsimd::aligned_allocator<float, 64>> inputs =
            std::vector<float, xsimd::aligned_allocator<float, 64>>(batches * batch * In);
        std::vector<target_type> targets = std::vector<target_type>(batches * batch * targets_per_sample);
        hinge::init::random_generator generator{99};
        mlp_parameters<net> values{initial, 2024, generator};  // and in double
        const std::vector<double> (&w)[layers] = values.w;
        const std::vector<double> (&b)[layers] = values.b;

        fixture() {
            for (float& v : inputs) v = static_cast<float>(generator.uniform());  // [0, 1), like pixels
            for (target_type& t : targets) {
                if constexpr (classification)
                    t = static_cast<target_type>(generator.next() % Out);
                else
                    t = static_cast<target_type>(2.0 * generator.uniform() - 1.0);
            }
        }

        const float* x(std::size_t k) const { return inputs.data() + k * batch * In; }
        const target_type* t(std::size_t k) const { return targets.data() + k * batch * targets_per_sample; }
    };

    static fixture& shared() {
        static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
        return *instance;
    }

    // ---- double-precision reference: loss and every gradient, plain loops ------------------------

    struct reference_result {
        double loss = 0;
        std::vector<double> dw[layers], db[layers];  // dw[l][o * in + i]
    };

    static reference_result reference_step(const fixture& f, std::size_t k) {
        std::vector<double> a[layers + 1];  // a[0] = x, a[l+1] = output of layer l (post-activation)
        a[0].assign(f.x(k), f.x(k) + batch * In);
        for (std::size_t l = 0; l < layers; ++l) {
            const std::size_t in = widths[l], out = widths[l + 1];
            a[l + 1].assign(batch * out, 0.0);
            for (std::size_t r = 0; r < batch; ++r)
                for (std::size_t o = 0; o < out; ++o) {
                    const double* w = &f.w[l][o * in];
                    const double* x = &a[l][r * in];
                    double s = f.b[l][o];
                    for (std::size_t i = 0; i < in; ++i) s += w[i] * x[i];
                    a[l + 1][r * out + o] = l + 1 < layers ? std::max(s, 0.0) : s;
                }
        }
        reference_result result;
        std::vector<double> dz(batch * Out);
        const target_type* targets = f.t(k);
        for (std::size_t r = 0; r < batch; ++r) {
            const double* z = &a[layers][r * Out];
            if constexpr (classification) {
                const double m = *std::max_element(z, z + Out);
                double sum = 0;
                for (std::size_t j = 0; j < Out; ++j) sum += std::exp(z[j] - m);
                result.loss += (std::log(sum) - (z[targets[r]] - m)) / batch;
                for (std::size_t j = 0; j < Out; ++j)
                    dz[r * Out + j] = (std::exp(z[j] - m) / sum - (j == targets[r] ? 1.0 : 0.0)) / batch;
            } else {
                const double scale = 1.0 / (batch * Out);
                for (std::size_t j = 0; j < Out; ++j) {
                    const double difference = z[j] - double(targets[r * Out + j]);
                    result.loss += scale * difference * difference;
                    dz[r * Out + j] = 2 * scale * difference;
                }
            }
        }
        for (std::size_t l = layers; l-- > 0;) {
            const std::size_t in = widths[l], out = widths[l + 1];
            result.dw[l].assign(out * in, 0.0);
            result.db[l].assign(out, 0.0);
            for (std::size_t r = 0; r < batch; ++r)
                for (std::size_t o = 0; o < out; ++o) {
                    const double g = dz[r * out + o];
                    result.db[l][o] += g;
                    double* dw = &result.dw[l][o * in];
                    const double* x = &a[l][r * in];
                    for (std::size_t i = 0; i < in; ++i) dw[i] += g * x[i];
                }
            if (l == 0) break;
            std::vector<double> dz_prev(batch * in, 0.0);
            for (std::size_t r = 0; r < batch; ++r) {
                double* target = &dz_prev[r * in];
                for (std::size_t o = 0; o < out; ++o) {
                    const double g = dz[r * out + o];
                    const double* w = &f.w[l][o * in];
                    for (std::size_t i = 0; i < in; ++i) target[i] += g * w[i];
                }
                for (std::size_t i = 0; i < in; ++i)
                    if (!(a[l][r * in + i] > 0)) target[i] = 0;  // ReLU derivative from the stored output
            }
            dz = std::move(dz_prev);
        }
        return result;
    }

    // ---- hinge ----------------------------------------------------------------------------------

    static void bench_hinge_step(benchmark::State& state) {
        const fixture& f = shared();
        auto params = std::make_unique<hinge::parameters<net>>(f.initial);
        auto t = std::make_unique<trainer>(*params, hinge::optim::sgd{learning_rate});
        time_steps(state, "hinge", batches, step_flops, [&](std::size_t k) { return t->step(f.x(k), f.t(k), batch); });
    }

    static void bench_hinge_step_threads(benchmark::State& state, std::size_t threads) {
        const fixture& f = shared();
        hinge::thread_team team(threads);
        auto params = std::make_unique<hinge::parameters<net>>(f.initial);
        auto t = std::make_unique<trainer>(*params, hinge::optim::sgd{learning_rate});
        t->use(team);
        const std::uint32_t before = team.passes();
        time_steps(state, "hinge", batches, step_flops, [&](std::size_t k) { return t->step(f.x(k), f.t(k), batch); });
        state.counters["handoffs"] = benchmark::Counter(static_cast<double>(team.passes() - before) /
                                                        static_cast<double>(state.iterations()));
    }

    // The phases of trainer::step, run on a workspace of our own with the public passes.
    struct hinge_phases {
        hinge::parameters<net> params;
        hinge::gradients<net> grads;
        hinge::workspace<net, batch, float, true> ws;
        std::array<float, batch * Out> loss_gradient{};  // dL/dy, kept so backward can be re-seeded
        hinge::optim::sgd sgd{learning_rate};

        explicit hinge_phases(const hinge::parameters<net>& initial) : params(initial) {}

        void forward(const float* x) { hinge::forward(params, ws, x); }
        float evaluate_loss(const target_type* targets) {
            constexpr std::size_t last = net::stage_count - 1;
            return loss::evaluate(batch, Out, ws.template activation<last>(), ws.template activation_stride<last>,
                                  targets,
                                  [this](std::size_t r, std::size_t j, float g) { loss_gradient[r * Out + j] = g; });
        }
        void backward(const float* x) {
            // Re-seeded every time: backward reuses the seed's buffer for the stage-0 gradient.
            hinge::seed_output_gradient(ws, grads, batch,
                                        [this](std::size_t r, std::size_t j) { return loss_gradient[r * Out + j]; });
            hinge::backward(params, ws, x, grads);
        }
        void update() { sgd.update(params, grads); }
    };

    enum class phase { forward, loss, backward, update };

    // One phase of a step, timed alone: the model (hinge_phases or eigen_mlp) first runs a whole
    // step, so that every phase finds the state it needs, then repeats only Phase.
    template <phase Phase, class Model>
    static void bench_phase(benchmark::State& state, Model& model) {
        const fixture& f = shared();
        model.forward(f.x(0));
        model.evaluate_loss(f.t(0));
        model.backward(f.x(0));
        std::size_t k = 0;
        for (auto _ : state) {
            if constexpr (Phase == phase::forward) model.forward(f.x(k));
            if constexpr (Phase == phase::loss) benchmark::DoNotOptimize(model.evaluate_loss(f.t(k)));
            if constexpr (Phase == phase::backward) model.backward(f.x(k));
            if constexpr (Phase == phase::update) model.update();
            benchmark::ClobberMemory();
            k = (k + 1) % batches;
        }
        if constexpr (Phase == phase::forward) set_flops(state, forward_flops);
        if constexpr (Phase == phase::backward) set_flops(state, backward_flops);
    }

    template <phase Phase>
    static void bench_hinge_phase(benchmark::State& state) {
        auto h = std::make_unique<hinge_phases>(shared().initial);
        bench_phase<Phase>(state, *h);
    }

    // ---- Eigen ----------------------------------------------------------------------------------

#if HINGE_HAVE_EIGEN
    // The same step by hand. Activations are batch-major (row r = sample r) and row-major, as the
    // data arrives; weights are (out x in) row-major, i.e. PyTorch's layout. Every product is a
    // noalias() GEMM into a preallocated matrix (Eigen's packed, cache-blocked kernel); bias, ReLU
    // and the ReLU mask are fused coefficient-wise expressions; softmax uses Eigen's vectorised
    // exp. (Column-major weights / activations were tried and were not faster.)
    struct eigen_mlp {
        using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        using row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
        using input_map = Eigen::Map<const matrix, Eigen::Aligned64>;
        using index = Eigen::Index;

        // h[l]: the output of layer l (after its ReLU but for the last), g[l]: dL/d(pre-activation).
        matrix w[layers], dw[layers], h[layers], g[layers];
        row b[layers], db[layers];
        float rate;

        eigen_mlp(const fixture& f, float learning) : rate(learning) {
            for (std::size_t l = 0; l < layers; ++l) {
                const auto out = index(widths[l + 1]), in = index(widths[l]);
                w[l].resize(out, in);
                dw[l].resize(out, in);
                b[l].resize(out);
                db[l].resize(out);
                h[l].resize(index(batch), out);
                g[l].resize(index(batch), out);
                for (index o = 0; o < out; ++o) {
                    b[l](o) = static_cast<float>(f.b[l][std::size_t(o)]);
                    for (index i = 0; i < in; ++i) w[l](o, i) = static_cast<float>(f.w[l][std::size_t(o * in + i)]);
                }
            }
        }

        static input_map input(const float* x) { return input_map(x, batch, In); }

        void forward(const float* xp) {
            h[0].noalias() = input(xp) * w[0].transpose();
            for (std::size_t l = 0; l < layers; ++l) {
                if (l > 0) h[l].noalias() = h[l - 1] * w[l].transpose();
                if (l + 1 < layers)
                    h[l] = (h[l].rowwise() + b[l]).cwiseMax(0.0f);
                else
                    h[l].rowwise() += b[l];
            }
        }

        // The mean loss; leaves dL/dz in g[layers - 1].
        float evaluate_loss(const target_type* targets) {
            const matrix& z = h[layers - 1];
            matrix& dz = g[layers - 1];
            if constexpr (classification) {
                return eigen_softmax_cross_entropy(z, targets, dz);
            } else {
                const float scale = 1.0f / (batch * Out);
                dz = z - Eigen::Map<const matrix>(targets, batch, Out);
                const float total = dz.squaredNorm();
                dz *= 2 * scale;
                return total * scale;
            }
        }

        void backward(const float* xp) {
            for (std::size_t l = layers; l-- > 0;) {
                if (l > 0)
                    dw[l].noalias() = g[l].transpose() * h[l - 1];
                else
                    dw[l].noalias() = g[l].transpose() * input(xp);
                db[l] = g[l].colwise().sum();
                if (l == 0) break;
                g[l - 1].noalias() = g[l] * w[l];
                g[l - 1] = (h[l - 1].array() > 0.0f).select(g[l - 1], 0.0f);
            }
        }

        void update() {
            for (std::size_t l = 0; l < layers; ++l) {
                w[l] -= rate * dw[l];
                b[l] -= rate * db[l];
            }
        }

        float step(const float* x, const target_type* targets) {
            forward(x);
            const float l = evaluate_loss(targets);
            backward(x);
            update();
            return l;
        }
    };

    static void bench_eigen_step(benchmark::State& state) {
        const fixture& f = shared();
        auto model = std::make_unique<eigen_mlp>(f, learning_rate);
        time_steps(state, "eigen", batches, step_flops, [&](std::size_t k) { return model->step(f.x(k), f.t(k)); });
    }

    template <phase Phase>
    static void bench_eigen_phase(benchmark::State& state) {
        auto model = std::make_unique<eigen_mlp>(shared(), learning_rate);
        bench_phase<Phase>(state, *model);
    }
#endif

    // ---- libtorch -------------------------------------------------------------------------------

#if HINGE_HAVE_LIBTORCH
    // What a libtorch user writes: parameters with requires_grad, the forward pass as ATen ops
    // (addmm, relu, cross_entropy_loss / mse_loss), autograd for the backward pass, and the SGD
    // update in place under NoGradGuard. Gradients are zeroed before each backward pass (as
    // optimizer.zero_grad() does), so that they stay readable after a step. One thread (set in
    // common.hpp). Inputs and targets are wrapped as tensors once, outside the timed loop.
    struct torch_mlp {
        at::Tensor w[layers], b[layers];
        std::vector<at::Tensor> inputs, targets;
        float rate;

        torch_mlp(fixture& f, float learning) : rate(learning) {
            for (std::size_t l = 0; l < layers; ++l) {
                const auto out = std::int64_t(widths[l + 1]), in = std::int64_t(widths[l]);
                w[l] = at::empty({out, in}, at::kFloat);
                b[l] = at::empty({out}, at::kFloat);
                float* wp = w[l].template data_ptr<float>();
                float* bp = b[l].template data_ptr<float>();
                for (std::size_t o = 0; o < widths[l + 1]; ++o) {
                    bp[o] = static_cast<float>(f.b[l][o]);
                    for (std::size_t i = 0; i < widths[l]; ++i)
                        wp[o * widths[l] + i] = static_cast<float>(f.w[l][o * widths[l] + i]);
                }
                w[l].set_requires_grad(true);
                b[l].set_requires_grad(true);
            }
            for (std::size_t k = 0; k < batches; ++k) {
                inputs.push_back(at::from_blob(const_cast<float*>(f.x(k)), {std::int64_t(batch), std::int64_t(In)},
                                               at::kFloat));
                if constexpr (classification) {
                    at::Tensor labels = at::empty({std::int64_t(batch)}, at::kLong);
                    for (std::size_t r = 0; r < batch; ++r) labels.data_ptr<std::int64_t>()[r] = f.t(k)[r];
                    targets.push_back(labels);
                } else {
                    targets.push_back(at::from_blob(const_cast<float*>(f.t(k)),
                                                    {std::int64_t(batch), std::int64_t(Out)}, at::kFloat));
                }
            }
        }

        float step(std::size_t k) {
            for (std::size_t l = 0; l < layers; ++l)
                for (at::Tensor* p : {&w[l], &b[l]})
                    if (p->grad().defined()) p->mutable_grad().zero_();
            at::Tensor z = inputs[k];
            for (std::size_t l = 0; l < layers; ++l) {
                z = at::addmm(b[l], z, w[l].t());
                if (l + 1 < layers) z = at::relu(z);
            }
            at::Tensor value;
            if constexpr (classification)
                value = at::cross_entropy_loss(z, targets[k]);
            else
                value = at::mse_loss(z, targets[k]);
            value.backward();
            {
                at::NoGradGuard no_grad;
                for (std::size_t l = 0; l < layers; ++l) {
                    w[l].sub_(w[l].grad(), rate);
                    b[l].sub_(b[l].grad(), rate);
                }
            }
            return value.template item<float>();
        }
    };

    static void bench_libtorch_step(benchmark::State& state) {
        fixture& f = shared();
        auto model = std::make_unique<torch_mlp>(f, learning_rate);
        time_steps(state, "libtorch", batches, step_flops, [&](std::size_t k) { return model->step(k); });
    }
#endif

    // ---- verification -----------------------------------------------------------------------------

    // Gradients within 1e-4 of the largest of their layer (float sums of up to 1024 terms are
    // ~1e-6 relative). The loss is a float sum of n = B * (terms per sample) values: its rounding
    // error grows like sqrt(n) ulp for a sequential float sum (hinge's MSE over 256 x 1024 was
    // 6.7e-5 relative off before its losses summed in double; Eigen's is 2e-6), so the tolerance is 4 sqrt(n) 2^-24 + 1e-6 relative (7e-6 for 64 x 10, 1.2e-4
    // for 256 x 1024).
    static step_checker<layers> checker(const char* who, const reference_result& ref) {
        const double loss_relative = 4 * std::sqrt(double(batch) * Out) * 0x1p-24 + 1e-6;
        return step_checker<layers>(who, ref.loss, ref.dw, ref.db, learning_rate, 1e-4, loss_relative);
    }

    static void verify() {
        fixture& f = shared();
        const reference_result ref = reference_step(f, 0);

        // hinge: one trainer step from the initial parameters.
        auto params = std::make_unique<hinge::parameters<net>>(f.initial);
        auto t = std::make_unique<trainer>(*params, hinge::optim::sgd{learning_rate});
        const float hinge_loss = t->step(f.x(0), f.t(0), batch);
        const step_checker<layers> hc = checker("hinge", ref);
        hc.loss(hinge_loss);
        hc.all(f.w, f.b, *params, t->last_gradients());
        std::fprintf(stderr, "verified %s: hinge loss %.6f (double reference %.6f)", step_workload().c_str(),
                     double(hinge_loss), ref.loss);
        // The same step on a team of two: every product is split at tile boundaries, so the
        // parameters must be the single thread's bit for bit.
        {
            hinge::thread_team team(2);
            auto parallel_params = std::make_unique<hinge::parameters<net>>(f.initial);
            auto parallel = std::make_unique<trainer>(*parallel_params, hinge::optim::sgd{learning_rate});
            parallel->use(team);
            const float parallel_loss = parallel->step(f.x(0), f.t(0), batch);
            if (parallel_loss != hinge_loss || !(*parallel_params == *params))
                fail("hinge on a team of 2 threads: the step differs from the single-threaded step");
            std::fprintf(stderr, ", hinge on 2 threads bit for bit the same");
        }

#if HINGE_HAVE_EIGEN
        auto model = std::make_unique<eigen_mlp>(f, learning_rate);
        const float eigen_loss = model->step(f.x(0), f.t(0));
        const step_checker<layers> ec = checker("eigen", ref);
        ec.loss(eigen_loss);
        ec.all(
            f.w, f.b, [&](std::size_t l, std::size_t o, std::size_t i) { return model->dw[l](o, i); },
            [&](std::size_t l, std::size_t o) { return model->db[l](o); },
            [&](std::size_t l, std::size_t o, std::size_t i) { return model->w[l](o, i); },
            [&](std::size_t l, std::size_t o) { return model->b[l](o); });
        std::fprintf(stderr, ", Eigen %.6f", double(eigen_loss));
#endif
#if HINGE_HAVE_LIBTORCH
        auto torch = std::make_unique<torch_mlp>(f, learning_rate);
        const float torch_loss = torch->step(0);
        const step_checker<layers> tc = checker("libtorch", ref);
        tc.loss(torch_loss);
        auto at2 = [](const at::Tensor& x, std::size_t o, std::size_t i) {
            return double(x.data_ptr<float>()[o * std::size_t(x.size(1)) + i]);
        };
        auto at1 = [](const at::Tensor& x, std::size_t o) { return double(x.data_ptr<float>()[o]); };
        tc.all(
            f.w, f.b, [&](std::size_t l, std::size_t o, std::size_t i) { return at2(torch->w[l].grad(), o, i); },
            [&](std::size_t l, std::size_t o) { return at1(torch->b[l].grad(), o); },
            [&](std::size_t l, std::size_t o, std::size_t i) { return at2(torch->w[l], o, i); },
            [&](std::size_t l, std::size_t o) { return at1(torch->b[l], o); });
        std::fprintf(stderr, ", libtorch %.6f", double(torch_loss));
#endif
        std::fprintf(stderr, "; every gradient and updated parameter of one step within tolerance\n");
    }

    static void register_benchmarks() {
        add_threaded(step_workload(), "hinge", step_flops, bench_hinge_step_threads);
#if HINGE_HAVE_EIGEN
        add_threaded(step_workload(), "eigen", step_flops, [](benchmark::State& state, std::size_t n) {
            const peer_threads guard(n);
            bench_eigen_step(state);
        });
#endif
#if HINGE_HAVE_LIBTORCH
        add_threaded(step_workload(), "libtorch", step_flops, [](benchmark::State& state, std::size_t n) {
            const peer_threads guard(n);
            bench_libtorch_step(state);
        });
#endif
        add(step_workload() + "/hinge", step_flops, bench_hinge_step);
#if HINGE_HAVE_EIGEN
        add(step_workload() + "/eigen", step_flops, bench_eigen_step);
#endif
#if HINGE_HAVE_LIBTORCH
        add(step_workload() + "/libtorch", step_flops, bench_libtorch_step);
#endif
        const std::string prefix = phase_prefix();
        add(prefix + "forward/hinge", forward_flops, bench_hinge_phase<phase::forward>);
        add(prefix + "loss/hinge", 0, bench_hinge_phase<phase::loss>);
        add(prefix + "backward/hinge", backward_flops, bench_hinge_phase<phase::backward>);
        add(prefix + "sgd_update/hinge", 0, bench_hinge_phase<phase::update>);
#if HINGE_HAVE_EIGEN
        add(prefix + "forward/eigen", forward_flops, bench_eigen_phase<phase::forward>);
        add(prefix + "loss/eigen", 0, bench_eigen_phase<phase::loss>);
        add(prefix + "backward/eigen", backward_flops, bench_eigen_phase<phase::backward>);
        add(prefix + "sgd_update/eigen", 0, bench_eigen_phase<phase::update>);
#endif
    }
};

}  // namespace hinge_bench::training

// One training workload per file: HINGE_TRAINING_STEP_MAIN(Batch, Loss, W0, W1, ..., Wn), the
// widths from the input to the output.
#define HINGE_TRAINING_STEP_MAIN(Batch, Loss, ...)                                              \
    namespace {                                                                                 \
    using workload_type = ::hinge_bench::training::mlp_step<Batch, Loss, __VA_ARGS__>;          \
    void verify() { workload_type::verify(); }                                                  \
    void register_benchmarks() { workload_type::register_benchmarks(); }                        \
    }                                                                                           \
    HINGE_BENCH_MAIN()
