// One SGD training step, batch 64, of a 784 -> 256 -> 128 -> 10 ReLU MLP with softmax
// cross-entropy: hinge::trainer against the same step written by hand with Eigen, from the same
// initial parameters and data. Issue target: the hinge step at >= 60% of the measured peak.
//
// FLOPs per step (real work; elementwise work, the loss and the update are not counted):
//   forward                          2*B*(784*256 + 256*128 + 128*10)   = 30,048,256
//   weight gradients (x^T dz)        2*B*(784*256 + 256*128 + 128*10)   = 30,048,256
//   input gradients, layers 2 and 3  2*B*(256*128 + 128*10)             =  4,358,144
//   (layer 1 has none: the gradient of the network input is not needed)
//   total, B = 64                                                        = 64,454,656
//
// The phases are also timed on their own (forward, loss, backward, SGD update) for hinge and
// Eigen, to show where the time goes; their sum is close to the step.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>

#include "common.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace {

using net = hinge::network<hinge::input<784>, hinge::dense<256>, hinge::relu, hinge::dense<128>, hinge::relu,
                           hinge::dense<10>>;
using loss = hinge::loss::softmax_cross_entropy;
using trainer = hinge::trainer<net, loss, hinge::optim::sgd, hinge::batch<64>>;

constexpr std::size_t batch = 64;
constexpr std::size_t batches = 4;  // the timed loops cycle through these: the input is not loop-invariant
constexpr std::size_t in0 = 784, out0 = 256, out1 = 128, out2 = 10;
constexpr float learning_rate = 1e-3f;  // small: thousands of steps leave the weights sane
constexpr double forward_flops = 2.0 * batch * (in0 * out0 + out0 * out1 + out1 * out2);
constexpr double backward_flops = forward_flops + 2.0 * batch * (out0 * out1 + out1 * out2);
constexpr double step_flops = forward_flops + backward_flops;
const std::string step_workload = "mlp_784_256_128_10_train_batch64";
const std::string phase_prefix = "mlp_784_256_128_10_batch64_";

struct fixture {
    hinge::parameters<net> initial;  // every benchmark run starts from these
    alignas(64) std::array<float, batches * batch * in0> inputs{};
    std::array<std::uint32_t, batches * batch> labels{};

    fixture() {
        hinge::init::he_normal(initial, 2024);
        hinge::init::random_generator generator(99);
        // Small non-zero biases, so that the bias is exercised in the forward pass too.
        hinge::for_each_index<net::stage_count>([&](auto index) {
            auto view = initial.template layer<decltype(index)::value>();
            for (std::size_t o = 0; o < view.output_width; ++o)
                view.bias(o) = static_cast<float>(0.1 * (generator.uniform() - 0.5));
        });
        for (float& v : inputs) v = static_cast<float>(generator.uniform());  // [0, 1), like pixels
        for (std::uint32_t& l : labels) l = static_cast<std::uint32_t>(generator.next() % out2);
    }

    const float* x(std::size_t k) const { return inputs.data() + k * batch * in0; }
    const std::uint32_t* y(std::size_t k) const { return labels.data() + k * batch; }
};

fixture& shared_fixture() {
    static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
    return *instance;
}

// ---- double-precision reference: loss and every gradient, plain loops ------------------------

struct reference_result {
    double loss = 0;
    std::vector<double> dw[3], db[3];  // dw[l][o * in + i]
};

reference_result reference_step(const hinge::parameters<net>& p, const float* x, const std::uint32_t* labels) {
    constexpr std::size_t widths[4] = {in0, out0, out1, out2};
    std::vector<double> a[4];  // a[0] = x, a[l+1] = output of layer l (post-activation)
    a[0].assign(x, x + batch * in0);
    auto weight = [&](std::size_t l, std::size_t o, std::size_t i) -> double {
        if (l == 0) return p.layer<0>().weight(o, i);
        if (l == 1) return p.layer<1>().weight(o, i);
        return p.layer<2>().weight(o, i);
    };
    auto bias = [&](std::size_t l, std::size_t o) -> double {
        if (l == 0) return p.layer<0>().bias(o);
        if (l == 1) return p.layer<1>().bias(o);
        return p.layer<2>().bias(o);
    };
    for (std::size_t l = 0; l < 3; ++l) {
        const std::size_t in = widths[l], out = widths[l + 1];
        a[l + 1].assign(batch * out, 0.0);
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t o = 0; o < out; ++o) {
                double s = bias(l, o);
                for (std::size_t i = 0; i < in; ++i) s += weight(l, o, i) * a[l][r * in + i];
                a[l + 1][r * out + o] = l < 2 ? std::max(s, 0.0) : s;
            }
    }
    reference_result result;
    std::vector<double> dz(batch * out2);
    for (std::size_t r = 0; r < batch; ++r) {
        const double* z = &a[3][r * out2];
        const double m = *std::max_element(z, z + out2);
        double sum = 0;
        for (std::size_t j = 0; j < out2; ++j) sum += std::exp(z[j] - m);
        result.loss += std::log(sum) - (z[labels[r]] - m);
        for (std::size_t j = 0; j < out2; ++j)
            dz[r * out2 + j] = (std::exp(z[j] - m) / sum - (j == labels[r] ? 1.0 : 0.0)) / batch;
    }
    result.loss /= batch;
    for (std::size_t l = 3; l-- > 0;) {
        const std::size_t in = widths[l], out = widths[l + 1];
        result.dw[l].assign(out * in, 0.0);
        result.db[l].assign(out, 0.0);
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t o = 0; o < out; ++o) {
                result.db[l][o] += dz[r * out + o];
                for (std::size_t i = 0; i < in; ++i) result.dw[l][o * in + i] += dz[r * out + o] * a[l][r * in + i];
            }
        if (l == 0) break;
        std::vector<double> dz_prev(batch * in, 0.0);
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t i = 0; i < in; ++i) {
                if (!(a[l][r * in + i] > 0)) continue;  // ReLU derivative from the stored output
                double s = 0;
                for (std::size_t o = 0; o < out; ++o) s += dz[r * out + o] * weight(l, o, i);
                dz_prev[r * in + i] = s;
            }
        dz = std::move(dz_prev);
    }
    return result;
}

// ---- hinge ----------------------------------------------------------------------------------

void bench_hinge_step(benchmark::State& state) {
    const fixture& f = shared_fixture();
    auto params = std::make_unique<hinge::parameters<net>>(f.initial);
    auto t = std::make_unique<trainer>(*params, hinge::optim::sgd{learning_rate});
    std::size_t k = 0;
    float last = 0;
    for (auto _ : state) {
        last = t->step(std::span<const float, batch * in0>(f.x(k), batch * in0),
                       std::span<const std::uint32_t, batch>(f.y(k), batch));
        benchmark::DoNotOptimize(last);
        benchmark::ClobberMemory();
        k = (k + 1) % batches;
    }
    if (!std::isfinite(last)) state.SkipWithError("hinge: the loss is not finite");
    hinge_bench::set_flops(state, step_flops);
}

// The phases of trainer::step, run on a workspace of our own with the public passes.
struct hinge_phases {
    hinge::parameters<net> params;
    hinge::gradients<net> grads;
    hinge::workspace<net, batch, float, true> ws;
    std::array<float, batch * out2> loss_gradient{};  // dL/dy, kept so backward can be re-seeded
    hinge::optim::sgd sgd{learning_rate};

    explicit hinge_phases(const hinge::parameters<net>& initial) : params(initial) {}

    void forward(const float* x) { hinge::forward(params, ws, x); }
    float loss(const std::uint32_t* labels) {
        constexpr std::size_t last = net::stage_count - 1;
        return loss::evaluate(batch, out2, ws.activation<last>(), ws.activation_stride<last>, labels,
                              [this](std::size_t r, std::size_t j, float g) { loss_gradient[r * out2 + j] = g; });
    }
    void backward(const float* x) {
        // Re-seeded every time: backward reuses the seed's buffer for the stage-0 gradient.
        hinge::seed_output_gradient(ws, grads, batch,
                                    [this](std::size_t r, std::size_t j) { return loss_gradient[r * out2 + j]; });
        hinge::backward(params, ws, x, grads);
    }
    void update() { sgd.update(params, grads); }
};

enum class phase { forward, loss, backward, update };

template <phase Phase>
void bench_hinge_phase(benchmark::State& state) {
    const fixture& f = shared_fixture();
    auto h = std::make_unique<hinge_phases>(f.initial);
    h->forward(f.x(0));
    h->loss(f.y(0));
    h->backward(f.x(0));
    std::size_t k = 0;
    for (auto _ : state) {
        if constexpr (Phase == phase::forward) h->forward(f.x(k));
        if constexpr (Phase == phase::loss) benchmark::DoNotOptimize(h->loss(f.y(k)));
        if constexpr (Phase == phase::backward) h->backward(f.x(k));
        if constexpr (Phase == phase::update) h->update();
        benchmark::ClobberMemory();
        k = (k + 1) % batches;
    }
    if constexpr (Phase == phase::forward) hinge_bench::set_flops(state, forward_flops);
    if constexpr (Phase == phase::backward) hinge_bench::set_flops(state, backward_flops);
}

// ---- Eigen ----------------------------------------------------------------------------------

#if HINGE_HAVE_EIGEN
// The same step by hand. Activations are batch-major (row r = sample r) and row-major, as the
// data arrives; weights are (out x in) row-major, i.e. PyTorch's layout. Every product is a
// noalias() GEMM into a preallocated matrix (Eigen's packed, cache-blocked kernel); bias, ReLU and
// the ReLU mask are fused coefficient-wise expressions; softmax uses Eigen's vectorised exp.
// (Column-major weights / activations were tried and were not faster; see docs/performance.md.)
struct eigen_mlp {
    using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using row = Eigen::Matrix<float, 1, Eigen::Dynamic>;
    using input_map = Eigen::Map<const matrix, Eigen::Aligned64>;

    matrix w1{out0, in0}, w2{out1, out0}, w3{out2, out1};
    row b1{out0}, b2{out1}, b3{out2};
    matrix h1{batch, out0}, h2{batch, out1}, z3{batch, out2};
    matrix g3{batch, out2}, g2{batch, out1}, g1{batch, out0};
    matrix dw1{out0, in0}, dw2{out1, out0}, dw3{out2, out1};
    row db1{out0}, db2{out1}, db3{out2};
    float learning_rate;

    eigen_mlp(const hinge::parameters<net>& p, float rate) : learning_rate(rate) {
        auto copy = [](auto view, matrix& w, row& b) {
            for (Eigen::Index o = 0; o < w.rows(); ++o) {
                b(o) = view.bias(o);
                for (Eigen::Index i = 0; i < w.cols(); ++i) w(o, i) = view.weight(o, i);
            }
        };
        copy(p.layer<0>(), w1, b1);
        copy(p.layer<1>(), w2, b2);
        copy(p.layer<2>(), w3, b3);
    }

    static input_map input(const float* x) { return input_map(x, batch, in0); }

    void forward(const float* xp) {
        const input_map x = input(xp);
        h1.noalias() = x * w1.transpose();
        h1 = (h1.rowwise() + b1).cwiseMax(0.0f);
        h2.noalias() = h1 * w2.transpose();
        h2 = (h2.rowwise() + b2).cwiseMax(0.0f);
        z3.noalias() = h2 * w3.transpose();
        z3.rowwise() += b3;
    }

    // Mean softmax cross-entropy; leaves dL/dz3 = (softmax - onehot) / batch in g3.
    float loss(const std::uint32_t* labels) {
        const float scale = 1.0f / batch;
        float total = 0;
        for (Eigen::Index r = 0; r < static_cast<Eigen::Index>(batch); ++r) {
            const float largest = z3.row(r).maxCoeff();
            g3.row(r) = (z3.row(r).array() - largest).exp().matrix();
            const float sum = g3.row(r).sum();
            total += std::log(sum) - (z3(r, labels[r]) - largest);
            g3.row(r) *= scale / sum;
            g3(r, labels[r]) -= scale;
        }
        return total * scale;
    }

    void backward(const float* xp) {
        const input_map x = input(xp);
        dw3.noalias() = g3.transpose() * h2;
        db3 = g3.colwise().sum();
        g2.noalias() = g3 * w3;
        g2 = (h2.array() > 0.0f).select(g2, 0.0f);
        dw2.noalias() = g2.transpose() * h1;
        db2 = g2.colwise().sum();
        g1.noalias() = g2 * w2;
        g1 = (h1.array() > 0.0f).select(g1, 0.0f);
        dw1.noalias() = g1.transpose() * x;
        db1 = g1.colwise().sum();
    }

    void update() {
        w1 -= learning_rate * dw1;
        w2 -= learning_rate * dw2;
        w3 -= learning_rate * dw3;
        b1 -= learning_rate * db1;
        b2 -= learning_rate * db2;
        b3 -= learning_rate * db3;
    }

    float step(const float* x, const std::uint32_t* labels) {
        forward(x);
        const float l = loss(labels);
        backward(x);
        update();
        return l;
    }
};

void bench_eigen_step(benchmark::State& state) {
    const fixture& f = shared_fixture();
    auto model = std::make_unique<eigen_mlp>(f.initial, learning_rate);
    std::size_t k = 0;
    float last = 0;
    for (auto _ : state) {
        last = model->step(f.x(k), f.y(k));
        benchmark::DoNotOptimize(last);
        benchmark::ClobberMemory();
        k = (k + 1) % batches;
    }
    if (!std::isfinite(last)) state.SkipWithError("eigen: the loss is not finite");
    hinge_bench::set_flops(state, step_flops);
}

template <phase Phase>
void bench_eigen_phase(benchmark::State& state) {
    const fixture& f = shared_fixture();
    auto model = std::make_unique<eigen_mlp>(f.initial, learning_rate);
    model->forward(f.x(0));
    model->loss(f.y(0));
    model->backward(f.x(0));
    std::size_t k = 0;
    for (auto _ : state) {
        if constexpr (Phase == phase::forward) model->forward(f.x(k));
        if constexpr (Phase == phase::loss) benchmark::DoNotOptimize(model->loss(f.y(k)));
        if constexpr (Phase == phase::backward) model->backward(f.x(k));
        if constexpr (Phase == phase::update) model->update();
        benchmark::ClobberMemory();
        k = (k + 1) % batches;
    }
    if constexpr (Phase == phase::forward) hinge_bench::set_flops(state, forward_flops);
    if constexpr (Phase == phase::backward) hinge_bench::set_flops(state, backward_flops);
}
#endif

// ---- verification -----------------------------------------------------------------------------

// Gradients: |g - g_ref| <= 1e-4 * max |g_ref| of that layer (float sums of up to 784 terms are
// ~1e-6 relative; a wrong index or a missing mask is off by O(1)). Loss: 1e-5 relative.
// Updated parameters: |p1 - (p0 - lr * g_ref)| <= 4 ulp(p0) + lr * (gradient tolerance).
struct checker {
    const char* who;
    const reference_result& ref;
    double tolerance[3][2] = {};  // [layer][0 = weights, 1 = biases]

    checker(const char* name, const reference_result& r) : who(name), ref(r) {
        for (std::size_t l = 0; l < 3; ++l) {
            const std::vector<double>* g[2] = {&ref.dw[l], &ref.db[l]};
            for (std::size_t k = 0; k < 2; ++k) {
                double m = 0;
                for (double v : *g[k]) m = std::max(m, std::abs(v));
                tolerance[l][k] = 1e-4 * m + 1e-12;
            }
        }
    }
    // One weight (bias = false) or bias: its gradient, and its value before and after the step.
    void parameter(std::size_t layer, bool bias, std::size_t index, double gradient, double p0, double p1) const {
        const double g_ref = bias ? ref.db[layer][index] : ref.dw[layer][index];
        const double g_tolerance = tolerance[layer][bias ? 1 : 0];
        const std::string where = std::string(who) + ": layer " + std::to_string(layer) + (bias ? " bias " : " weight ") +
                                  std::to_string(index);
        if (!(std::abs(gradient - g_ref) <= g_tolerance))
            hinge_bench::fail(where + ": gradient " + hinge_bench::number(gradient) + ", reference " + hinge_bench::number(g_ref) +
                              " (tolerance " + hinge_bench::number(g_tolerance) + ")");
        const double expected = p0 - double(learning_rate) * g_ref;
        const double p_tolerance = 4 * 0x1p-23 * std::abs(p0) + double(learning_rate) * g_tolerance;
        if (!(std::abs(p1 - expected) <= p_tolerance))
            hinge_bench::fail(where + ": updated to " + hinge_bench::number(p1) + ", expected " + hinge_bench::number(expected) +
                              " (tolerance " + hinge_bench::number(p_tolerance) + ")");
    }
    void loss(double value) const {
        if (!(std::abs(value - ref.loss) <= 1e-5 * std::abs(ref.loss)))
            hinge_bench::fail(std::string(who) + ": loss " + hinge_bench::number(value) + ", reference " +
                              hinge_bench::number(ref.loss) + " (tolerance 1e-5 relative)");
    }
};

void verify() {
    const fixture& f = shared_fixture();
    const reference_result ref = reference_step(f.initial, f.x(0), f.y(0));

    // hinge: one trainer step from the initial parameters.
    auto params = std::make_unique<hinge::parameters<net>>(f.initial);
    auto t = std::make_unique<trainer>(*params, hinge::optim::sgd{learning_rate});
    const float hinge_loss = t->step(std::span<const float, batch * in0>(f.x(0), batch * in0),
                                     std::span<const std::uint32_t, batch>(f.y(0), batch));
    const checker hc("hinge", ref);
    hc.loss(hinge_loss);
    hinge::for_each_index<net::stage_count>([&](auto index) {
        constexpr std::size_t l = decltype(index)::value;
        const auto g = t->last_gradients().template layer<l>();
        const auto p0 = f.initial.template layer<l>();
        const auto p1 = params->template layer<l>();
        for (std::size_t o = 0; o < g.output_width; ++o) {
            hc.parameter(l, true, o, g.bias(o), p0.bias(o), p1.bias(o));
            for (std::size_t i = 0; i < g.input_width; ++i)
                hc.parameter(l, false, o * g.input_width + i, g.weight(o, i), p0.weight(o, i), p1.weight(o, i));
        }
    });

#if HINGE_HAVE_EIGEN
    // Eigen: the same step from the same parameters.
    auto model = std::make_unique<eigen_mlp>(f.initial, learning_rate);
    const auto before = std::make_unique<eigen_mlp>(f.initial, learning_rate);
    const float eigen_loss = model->step(f.x(0), f.y(0));
    const checker ec("eigen", ref);
    ec.loss(eigen_loss);
    const eigen_mlp::matrix* dw[3] = {&model->dw1, &model->dw2, &model->dw3};
    const eigen_mlp::row* db[3] = {&model->db1, &model->db2, &model->db3};
    const eigen_mlp::matrix* w0[3] = {&before->w1, &before->w2, &before->w3};
    const eigen_mlp::matrix* w1[3] = {&model->w1, &model->w2, &model->w3};
    const eigen_mlp::row* b0[3] = {&before->b1, &before->b2, &before->b3};
    const eigen_mlp::row* b1[3] = {&model->b1, &model->b2, &model->b3};
    for (std::size_t l = 0; l < 3; ++l) {
        const Eigen::Index outputs = dw[l]->rows(), inputs = dw[l]->cols();
        for (Eigen::Index o = 0; o < outputs; ++o) {
            ec.parameter(l, true, static_cast<std::size_t>(o), (*db[l])(o), (*b0[l])(o), (*b1[l])(o));
            for (Eigen::Index i = 0; i < inputs; ++i)
                ec.parameter(l, false, static_cast<std::size_t>(o * inputs + i), (*dw[l])(o, i), (*w0[l])(o, i),
                             (*w1[l])(o, i));
        }
    }
    std::fprintf(stderr,
                 "verified: one step of hinge and of Eigen from the same parameters: loss %.6f / %.6f "
                 "(double reference %.6f), every gradient and updated parameter within tolerance\n",
                 double(hinge_loss), double(eigen_loss), ref.loss);
#else
    std::fprintf(stderr, "verified: one hinge step: loss %.6f (double reference %.6f), gradients and update\n",
                 double(hinge_loss), ref.loss);
#endif
}

void register_benchmarks() {
    hinge_bench::add(step_workload + "/hinge", step_flops, bench_hinge_step);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(step_workload + "/eigen", step_flops, bench_eigen_step);
#endif
    hinge_bench::add(phase_prefix + "forward/hinge", forward_flops, bench_hinge_phase<phase::forward>);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(phase_prefix + "forward/eigen", forward_flops, bench_eigen_phase<phase::forward>);
#endif
    hinge_bench::add(phase_prefix + "loss/hinge", 0, bench_hinge_phase<phase::loss>);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(phase_prefix + "loss/eigen", 0, bench_eigen_phase<phase::loss>);
#endif
    hinge_bench::add(phase_prefix + "backward/hinge", backward_flops, bench_hinge_phase<phase::backward>);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(phase_prefix + "backward/eigen", backward_flops, bench_eigen_phase<phase::backward>);
#endif
    hinge_bench::add(phase_prefix + "sgd_update/hinge", 0, bench_hinge_phase<phase::update>);
#if HINGE_HAVE_EIGEN
    hinge_bench::add(phase_prefix + "sgd_update/eigen", 0, bench_eigen_phase<phase::update>);
#endif
}

}  // namespace

HINGE_BENCH_MAIN()
