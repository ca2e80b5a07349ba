// One SGD training step, batch 64, of the CNN of examples/fashion_mnist_cnn.cpp on 28x28x1 images:
//   conv 3x3x32 'same' + ReLU, max-pool 2, conv 3x3x64 'same' + ReLU, max-pool 2, flatten,
//   dense 128 + ReLU, dense 10, softmax cross-entropy, SGD (learning rate 1e-3).
// Implementations: hinge::trainer; Eigen by hand (im2col + GEMM, hand-written backward, the same
// channels-last layout as hinge); libtorch (at:: ops, NCHW, autograd, one thread).
//
// Verification before timing: every implementation starts from the same parameters (permuted into
// libtorch's layouts) and the same data; after one step its loss, every weight and bias gradient
// and every updated parameter are compared with a double-precision reference: the Eigen code
// below instantiated with double. That reference shares its im2col/pooling code with the Eigen
// peer, so it is trusted because hinge and libtorch, which share nothing with it or with each
// other, agree with it (tolerances at verify()).
//
// FLOPs per step: the multiply-adds of the convolutions and dense layers, 2 FLOPs each; windows
// that overlap the zero padding count in full (as everyone counts a 'same' convolution);
// elementwise work, pooling, the loss and the update are not counted. Per sample:
//   conv1  28*28 positions x 32 filters x 9 (3x3x1)     =    225,792 MACs
//   conv2  14*14 positions x 64 filters x 288 (3x3x32)  =  3,612,672
//   dense1 3136 x 128                                   =    401,408
//   dense2 128 x 10                                     =      1,280
// forward: all four; backward: weight gradients of all four, input gradients of all but conv1
// (the gradient of the network input is not needed, and no implementation computes it):
//   2 * 64 * (2 * 225,792 + 3 * (3,612,672 + 401,408 + 1,280)) = 1,599,700,992 FLOPs per step,
// 87% of them in conv2.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <hinge/hinge.hpp>

#include "common.hpp"
#include "mlp_parameters.hpp"
#include "training_step.hpp"

namespace {

namespace hn = hinge;
using hinge_bench::training::step_checker;
using hinge_bench::training::time_steps;

using net = hn::network<hn::input<28, 28, 1>,
                        hn::conv2d<32, 3>, hn::relu, hn::max_pool2d<2>,
                        hn::conv2d<64, 3>, hn::relu, hn::max_pool2d<2>,
                        hn::flatten,
                        hn::dense<128>, hn::relu,
                        hn::dense<10>>;
using trainer = hn::trainer<net, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<64>>;
using label = trainer::target_type;

constexpr std::size_t batch = 64;
constexpr std::size_t batches = 4;  // the timed loops cycle through these
constexpr std::size_t image = 28 * 28;
constexpr std::size_t classes = 10;
constexpr float learning_rate = 1e-3f;
constexpr std::size_t stages = net::stage_count;
// The stages with weights, and the order of the peers' parameter lists: conv1, conv2, dense1, dense2.
constexpr std::array<std::size_t, 4> weighted_stages = {0, 2, 5, 6};
static_assert(stages == 7, "stages: conv1, pool, conv2, pool, flatten, dense1, dense2");

constexpr double macs_per_sample[4] = {28 * 28 * 32 * 9, 14 * 14 * 64 * 288, 3136 * 128, 128 * 10};
constexpr double step_flops = 2.0 * batch *
                              (2 * macs_per_sample[0] + 3 * (macs_per_sample[1] + macs_per_sample[2] + macs_per_sample[3]));
static_assert(step_flops == 1'599'700'992.0);
const std::string workload = "cnn_fashion_mnist_train_batch64";

struct fixture {
    hn::parameters<net> initial;  // every benchmark run starts from these
    std::vector<float, xsimd::aligned_allocator<float, 64>> inputs =
        std::vector<float, xsimd::aligned_allocator<float, 64>>(batches * batch * image);
    std::vector<label> labels = std::vector<label>(batches * batch);
    hn::init::random_generator generator{7};
    hinge_bench::mlp_parameters<net> values{initial, 2025, generator};  // and in double, by stage

    fixture() {
        for (float& v : inputs) v = static_cast<float>(generator.uniform());  // [0, 1), like pixels
        for (label& t : labels) t = static_cast<label>(generator.next() % classes);
    }
    const float* x(std::size_t k) const { return inputs.data() + k * batch * image; }
    const label* t(std::size_t k) const { return labels.data() + k * batch; }
};

fixture& shared() {
    static const std::unique_ptr<fixture> instance = std::make_unique<fixture>();
    return *instance;
}

// ---- Eigen (float: the peer; double: the reference) --------------------------------------------------

#if !HINGE_HAVE_EIGEN
#error "cnn_fashion_mnist_train_batch64 needs Eigen: its double-precision reference is written with it"
#endif

using index = Eigen::Index;

// The 3x3 windows, stride 1, zero padding 1, of `count` channels-last images H x W x C, as im2col
// lays them out: one row of 9 * C values per output position (n, h, w), columns
// (kh * 3 + kw) * C + c (hinge's weight order). visit(at, from) for each group of C values: `at`
// in the window matrix, `from` in the images, or -1 where the window reads the padding.
template <class Visit>
void for_each_window_channels(index count, index H, index W, index C, Visit&& visit) {
    index row = 0;
    for (index n = 0; n < count; ++n)
        for (index h = 0; h < H; ++h)
            for (index w = 0; w < W; ++w, row += 9 * C)
                for (index kh = 0; kh < 3; ++kh)
                    for (index kw = 0; kw < 3; ++kw) {
                        const index y = h + kh - 1, x = w + kw - 1;
                        const bool inside = y >= 0 && y < H && x >= 0 && x < W;
                        visit(row + (kh * 3 + kw) * C, inside ? ((n * H + y) * W + x) * C : index(-1));
                    }
}

template <class T>
void im2col(const T* in, index count, index H, index W, index C, T* col) {
    for_each_window_channels(count, H, W, C, [&](index at, index from) {
        if (from < 0)
            std::fill(col + at, col + at + C, T(0));
        else
            std::copy_n(in + from, C, col + at);
    });
}

// The adjoint of im2col: adds every window gradient back to the input position it was read from.
template <class T>
void col2im(const T* col, index count, index H, index W, index C, T* in) {
    std::fill(in, in + count * H * W * C, T(0));
    for_each_window_channels(count, H, W, C, [&](index at, index from) {
        if (from >= 0)
            for (index c = 0; c < C; ++c) in[from + c] += col[at + c];
    });
}

// 2x2 max-pooling, stride 2; `from` keeps where each maximum came from (the first of equals).
template <class T>
void max_pool(const T* in, index count, index H, index W, index C, T* out, index* from) {
    for (index n = 0; n < count; ++n)
        for (index i = 0; i < H / 2; ++i)
            for (index j = 0; j < W / 2; ++j)
                for (index c = 0; c < C; ++c, ++out, ++from) {
                    index best = ((n * H + 2 * i) * W + 2 * j) * C + c;
                    for (index di = 0; di < 2; ++di)
                        for (index dj = 0; dj < 2; ++dj) {
                            const index at = ((n * H + 2 * i + di) * W + 2 * j + dj) * C + c;
                            if (in[at] > in[best]) best = at;
                        }
                    *out = in[best];
                    *from = best;
                }
}

// The pooling gradient routed back to the maxima, times the derivative of the ReLU before the
// pooling (from its output: 0 where the output is 0).
template <class T>
void unpool_relu(const T* gradient, const index* from, std::size_t pooled, const T* activation, std::size_t size,
                 T* out) {
    std::fill(out, out + size, T(0));
    for (std::size_t k = 0; k < pooled; ++k)
        if (activation[from[k]] > T(0)) out[from[k]] = gradient[k];
}

template <class T>
struct eigen_cnn {
    using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using row = Eigen::Matrix<T, 1, Eigen::Dynamic>;
    using map = Eigen::Map<matrix>;
    static constexpr index B = index(batch), P1 = 28 * 28, P2 = 14 * 14, P3 = 7 * 7;

    // Weights (fan-in x outputs): w(i, o) = hinge's weight(o, i), for conv1, conv2, dense1, dense2.
    static constexpr index fan_in[4] = {9, 288, 3136, 128}, outputs[4] = {32, 64, 128, 10};
    matrix w[4], dw[4];
    row b[4], db[4];
    // Every row is one position of one sample (channels last), or one sample for the dense layers.
    matrix col1{B * P1, 9}, a1{B * P1, 32}, p1{B * P2, 32}, col2{B * P2, 288}, a2{B * P2, 64}, p2{B * P3, 64};
    matrix h3{B, 128}, z4{B, 10};
    matrix g4{B, 10}, g3{B, 128}, gp2{B * P3, 64}, g2{B * P2, 64}, dcol2{B * P2, 288}, gp1{B * P2, 32};
    matrix g1{B * P1, 32};
    std::vector<index> from1 = std::vector<index>(std::size_t(B * P2 * 32));
    std::vector<index> from2 = std::vector<index>(std::size_t(B * P3 * 64));
    T rate;

    eigen_cnn(const fixture& f, T learning) : rate(learning) {
        for (std::size_t l = 0; l < 4; ++l) {
            const std::size_t s = weighted_stages[l];
            w[l].resize(fan_in[l], outputs[l]);
            dw[l].resize(fan_in[l], outputs[l]);
            b[l].resize(outputs[l]);
            db[l].resize(outputs[l]);
            for (index o = 0; o < outputs[l]; ++o) {
                b[l](o) = static_cast<T>(f.values.b[s][std::size_t(o)]);
                for (index i = 0; i < fan_in[l]; ++i)
                    w[l](i, o) = static_cast<T>(f.values.w[s][std::size_t(o * fan_in[l] + i)]);
            }
        }
    }

    // p2 (B*49 positions x 64 channels) is the flattened B x 3136 input of dense1, in hinge's
    // flatten order (h * 7 + w) * 64 + c.
    map flat(matrix& m) { return map(m.data(), B, 3136); }

    void forward(const T* x) {
        im2col(x, B, 28, 28, 1, col1.data());
        a1.noalias() = col1 * w[0];
        a1 = (a1.rowwise() + b[0]).cwiseMax(T(0));
        max_pool(a1.data(), B, 28, 28, 32, p1.data(), from1.data());
        im2col(p1.data(), B, 14, 14, 32, col2.data());
        a2.noalias() = col2 * w[1];
        a2 = (a2.rowwise() + b[1]).cwiseMax(T(0));
        max_pool(a2.data(), B, 14, 14, 64, p2.data(), from2.data());
        h3.noalias() = flat(p2) * w[2];
        h3 = (h3.rowwise() + b[2]).cwiseMax(T(0));
        z4.noalias() = h3 * w[3];
        z4.rowwise() += b[3];
    }

    void backward() {
        dw[3].noalias() = h3.transpose() * g4;
        db[3] = g4.colwise().sum();
        g3.noalias() = g4 * w[3].transpose();
        g3 = (h3.array() > T(0)).select(g3, T(0));
        dw[2].noalias() = flat(p2).transpose() * g3;
        db[2] = g3.colwise().sum();
        flat(gp2).noalias() = g3 * w[2].transpose();
        unpool_relu(gp2.data(), from2.data(), from2.size(), a2.data(), std::size_t(a2.size()), g2.data());
        dw[1].noalias() = col2.transpose() * g2;
        db[1] = g2.colwise().sum();
        dcol2.noalias() = g2 * w[1].transpose();
        col2im(dcol2.data(), B, 14, 14, 32, gp1.data());
        unpool_relu(gp1.data(), from1.data(), from1.size(), a1.data(), std::size_t(a1.size()), g1.data());
        dw[0].noalias() = col1.transpose() * g1;
        db[0] = g1.colwise().sum();
    }

    T step(const T* x, const label* labels) {
        forward(x);
        const T loss = hinge_bench::training::eigen_softmax_cross_entropy(z4, labels, g4);
        backward();
        for (std::size_t l = 0; l < 4; ++l) {
            w[l] -= rate * dw[l];
            b[l] -= rate * db[l];
        }
        return loss;
    }

    // Gradients and parameters by hinge stage and index, for step_checker.
    static std::size_t layer_of(std::size_t stage) {
        return std::size_t(std::find(weighted_stages.begin(), weighted_stages.end(), stage) - weighted_stages.begin());
    }
    double weight_gradient(std::size_t s, std::size_t o, std::size_t i) const { return dw[layer_of(s)](index(i), index(o)); }
    double bias_gradient(std::size_t s, std::size_t o) const { return db[layer_of(s)](index(o)); }
    double weight(std::size_t s, std::size_t o, std::size_t i) const { return w[layer_of(s)](index(i), index(o)); }
    double bias(std::size_t s, std::size_t o) const { return b[layer_of(s)](index(o)); }
};

void bench_hinge(benchmark::State& state) {
    const fixture& f = shared();
    auto params = std::make_unique<hn::parameters<net>>(f.initial);
    auto t = std::make_unique<trainer>(*params, hn::optim::sgd{learning_rate});
    time_steps(state, "hinge", batches, step_flops, [&](std::size_t k) { return t->step(f.x(k), f.t(k), batch); });
}

void bench_eigen(benchmark::State& state) {
    const fixture& f = shared();
    auto model = std::make_unique<eigen_cnn<float>>(f, learning_rate);
    time_steps(state, "eigen", batches, step_flops, [&](std::size_t k) { return model->step(f.x(k), f.t(k)); });
}

// ---- libtorch ---------------------------------------------------------------------------------------

#if HINGE_HAVE_LIBTORCH
// What a libtorch user writes (torch::nn::Conv2d, MaxPool2d, Linear and F::cross_entropy call
// these ops): parameters with requires_grad, the forward pass as ATen ops in NCHW, autograd, and
// the SGD update in place under NoGradGuard; gradients are zeroed before each backward pass, as
// optimizer.zero_grad() does. One thread (common.hpp).
struct torch_cnn {
    at::Tensor w[4], b[4];  // conv weights (F, C, 3, 3); dense weights (out, in)
    std::vector<at::Tensor> inputs, labels;
    float rate;

    // Where hinge's weight(o, i) of stage `stage` is in the flat libtorch tensor:
    // conv: i = (kh * 3 + kw) * C + c -> ((o * C + c) * 3 + kh) * 3 + kw;
    // dense1: i = (h * 7 + w) * 64 + c (channels-last flatten) -> o * 3136 + c * 49 + h * 7 + w.
    static std::size_t position(std::size_t stage, std::size_t o, std::size_t i) {
        if (stage == 0 || stage == 2) {
            const std::size_t channels = stage == 0 ? 1 : 32, c = i % channels, k = i / channels;
            return (o * channels + c) * 9 + k;
        }
        if (stage == 5) return o * 3136 + (i % 64) * 49 + i / 64;
        return o * 128 + i;
    }
    static std::size_t layer_of(std::size_t stage) { return eigen_cnn<float>::layer_of(stage); }

    explicit torch_cnn(const fixture& f, float learning) : rate(learning) {
        const std::vector<std::int64_t> shapes[4] = {{32, 1, 3, 3}, {64, 32, 3, 3}, {128, 3136}, {10, 128}};
        for (std::size_t l = 0; l < 4; ++l) {
            const std::size_t s = weighted_stages[l];
            const std::size_t out = f.values.b[s].size(), in = f.values.w[s].size() / out;
            w[l] = at::empty(shapes[l], at::kFloat);
            b[l] = at::empty({std::int64_t(out)}, at::kFloat);
            for (std::size_t o = 0; o < out; ++o) {
                b[l].data_ptr<float>()[o] = static_cast<float>(f.values.b[s][o]);
                for (std::size_t i = 0; i < in; ++i)
                    w[l].data_ptr<float>()[position(s, o, i)] = static_cast<float>(f.values.w[s][o * in + i]);
            }
            w[l].set_requires_grad(true);
            b[l].set_requires_grad(true);
        }
        // One channel: NCHW and channels-last are the same bytes.
        for (std::size_t k = 0; k < batches; ++k) {
            inputs.push_back(at::from_blob(const_cast<float*>(f.x(k)), {std::int64_t(batch), 1, 28, 28}, at::kFloat));
            at::Tensor t = at::empty({std::int64_t(batch)}, at::kLong);
            for (std::size_t r = 0; r < batch; ++r) t.data_ptr<std::int64_t>()[r] = f.t(k)[r];
            labels.push_back(t);
        }
    }

    float step(std::size_t k) {
        for (std::size_t l = 0; l < 4; ++l)
            for (at::Tensor* p : {&w[l], &b[l]})
                if (p->grad().defined()) p->mutable_grad().zero_();
        const at::Tensor a1 = at::max_pool2d(at::relu(at::conv2d(inputs[k], w[0], b[0], {1, 1}, {1, 1})), {2, 2});
        const at::Tensor a2 = at::max_pool2d(at::relu(at::conv2d(a1, w[1], b[1], {1, 1}, {1, 1})), {2, 2});
        const at::Tensor h3 = at::relu(at::addmm(b[2], a2.flatten(1), w[2].t()));
        const at::Tensor z4 = at::addmm(b[3], h3, w[3].t());
        at::Tensor value = at::cross_entropy_loss(z4, labels[k]);
        value.backward();
        {
            at::NoGradGuard no_grad;
            for (std::size_t l = 0; l < 4; ++l) {
                w[l].sub_(w[l].grad(), rate);
                b[l].sub_(b[l].grad(), rate);
            }
        }
        return value.item<float>();
    }

    double weight_gradient(std::size_t s, std::size_t o, std::size_t i) const {
        return w[layer_of(s)].grad().data_ptr<float>()[position(s, o, i)];
    }
    double bias_gradient(std::size_t s, std::size_t o) const { return b[layer_of(s)].grad().data_ptr<float>()[o]; }
    double weight(std::size_t s, std::size_t o, std::size_t i) const {
        return w[layer_of(s)].data_ptr<float>()[position(s, o, i)];
    }
    double bias(std::size_t s, std::size_t o) const { return b[layer_of(s)].data_ptr<float>()[o]; }
};

void bench_libtorch(benchmark::State& state) {
    const fixture& f = shared();
    auto model = std::make_unique<torch_cnn>(f, learning_rate);
    time_steps(state, "libtorch", batches, step_flops, [&](std::size_t k) { return model->step(k); });
}
#endif

// ---- verification -------------------------------------------------------------------------------------

// The reference: eigen_cnn<double> from the same parameters and data. Its gradients by stage, as
// step_checker wants them (w[stage][o * in + i]).
struct reference {
    double loss = 0;
    std::vector<double> dw[stages], db[stages];

    explicit reference(const fixture& f) {
        auto model = std::make_unique<eigen_cnn<double>>(f, double(learning_rate));
        const std::vector<double> x(f.x(0), f.x(0) + batch * image);
        loss = model->step(x.data(), f.t(0));
        for (std::size_t s : weighted_stages) {
            const std::size_t out = f.values.b[s].size(), in = f.values.w[s].size() / out;
            for (std::size_t o = 0; o < out; ++o) {
                db[s].push_back(model->bias_gradient(s, o));
                for (std::size_t i = 0; i < in; ++i) dw[s].push_back(model->weight_gradient(s, o, i));
            }
        }
    }
};

// Tolerances. Gradients: 1e-4 of the largest gradient of their stage, as for the MLP steps.
// conv2's weight gradient sums 64 x 196 = 12,544 float products per entry, and the rounding of the
// forward pass reaches it through four layers; measured (g++ and clang, -march=native): the
// largest error is 2.2% of this tolerance (hinge, libtorch) and 1.1% (Eigen), which the binary
// prints. Loss: 1e-5 relative (the logits are sums of up to 3136 products after two
// convolutions; measured: 4e-8).
constexpr double gradient_relative = 1e-4;
constexpr double loss_relative = 1e-5;

step_checker<stages> checker(const char* who, const reference& ref) {
    return step_checker<stages>(who, ref.loss, ref.dw, ref.db, learning_rate, gradient_relative, loss_relative);
}

// Prints the loss and the largest gradient error as a fraction of its tolerance.
void report(const step_checker<stages>& c, double loss) {
    std::fprintf(stderr, ", %s loss %.7f (gradient errors <= %.3f of tolerance)", c.who, loss, c.worst);
}

template <class Model>
void check_peer(const char* who, const reference& ref, const fixture& f, double loss, const Model& m) {
    const step_checker<stages> c = checker(who, ref);
    c.loss(loss);
    c.all(
        f.values.w, f.values.b, [&](std::size_t s, std::size_t o, std::size_t i) { return m.weight_gradient(s, o, i); },
        [&](std::size_t s, std::size_t o) { return m.bias_gradient(s, o); },
        [&](std::size_t s, std::size_t o, std::size_t i) { return m.weight(s, o, i); },
        [&](std::size_t s, std::size_t o) { return m.bias(s, o); });
    report(c, loss);
}

void verify() {
    const fixture& f = shared();
    const reference ref(f);

    auto params = std::make_unique<hn::parameters<net>>(f.initial);
    auto t = std::make_unique<trainer>(*params, hn::optim::sgd{learning_rate});
    const float hinge_loss = t->step(f.x(0), f.t(0), batch);
    std::fprintf(stderr, "verified %s against a double reference (loss %.7f)", workload.c_str(), ref.loss);
    const step_checker<stages> hc = checker("hinge", ref);
    hc.loss(hinge_loss);
    hc.all(f.values.w, f.values.b, *params, t->last_gradients());
    report(hc, hinge_loss);
    {
        // The same step on a team of two, against the same reference and tolerances (its conv
        // bias gradients are summed per thread, so not bit for bit the single thread's).
        hn::thread_team team(2);
        auto parallel_params = std::make_unique<hn::parameters<net>>(f.initial);
        auto parallel = std::make_unique<trainer>(*parallel_params, hn::optim::sgd{learning_rate});
        parallel->use(team);
        const float parallel_loss = parallel->step(f.x(0), f.t(0), batch);
        const step_checker<stages> pc = checker("hinge, 2 threads", ref);
        pc.loss(parallel_loss);
        pc.all(f.values.w, f.values.b, *parallel_params, parallel->last_gradients());
        report(pc, parallel_loss);
    }
    {
        // How far 2 threads drift from 1 over training: 100 steps from the same parameters.
        auto one = std::make_unique<hn::parameters<net>>(f.initial);
        auto two = std::make_unique<hn::parameters<net>>(f.initial);
        auto t1 = std::make_unique<trainer>(*one, hn::optim::sgd{learning_rate});
        auto t2 = std::make_unique<trainer>(*two, hn::optim::sgd{learning_rate});
        hn::thread_team team(2);
        t2->use(team);
        constexpr std::size_t steps = 100;
        double loss_difference = 0;
        for (std::size_t k = 0; k < steps; ++k) {
            const float l1 = t1->step(f.x(k % batches), f.t(k % batches), batch);
            const float l2 = t2->step(f.x(k % batches), f.t(k % batches), batch);
            loss_difference = std::max(loss_difference, std::abs(double(l1) - double(l2)) / std::abs(double(l1)));
        }
        double largest = 0, difference = 0;
        for (std::size_t i = 0; i < one->storage_size; ++i) {
            largest = std::max(largest, std::abs(double(one->data()[i])));
            difference = std::max(difference, std::abs(double(one->data()[i]) - double(two->data()[i])));
        }
        std::fprintf(stderr, "; 1 vs 2 threads after %zu steps: parameters differ by at most %.2e (%.2e of the "
                     "largest), losses by at most %.2e relative", steps, difference, difference / largest,
                     loss_difference);
    }

    auto model = std::make_unique<eigen_cnn<float>>(f, learning_rate);
    const float eigen_loss = model->step(f.x(0), f.t(0));
    check_peer("eigen", ref, f, eigen_loss, *model);
#if HINGE_HAVE_LIBTORCH
    auto torch = std::make_unique<torch_cnn>(f, learning_rate);
    const float torch_loss = torch->step(0);
    check_peer("libtorch", ref, f, torch_loss, *torch);
#endif
    std::fprintf(stderr, "; every gradient and updated parameter of one step within tolerance\n");
}

void bench_hinge_threads(benchmark::State& state, std::size_t threads) {
    const fixture& f = shared();
    hn::thread_team team(threads);
    auto params = std::make_unique<hn::parameters<net>>(f.initial);
    auto t = std::make_unique<trainer>(*params, hn::optim::sgd{learning_rate});
    t->use(team);
    const std::uint32_t before = team.passes();
    time_steps(state, "hinge", batches, step_flops, [&](std::size_t k) { return t->step(f.x(k), f.t(k), batch); });
    state.counters["handoffs"] =
        benchmark::Counter(static_cast<double>(team.passes() - before) / static_cast<double>(state.iterations()));
}

void register_benchmarks() {
    using hinge_bench::training::add_threaded;
    using hinge_bench::training::peer_threads;
    add_threaded(workload, "hinge", step_flops, bench_hinge_threads);
    add_threaded(workload, "eigen", step_flops, [](benchmark::State& state, std::size_t n) {
        const peer_threads guard(n);
        bench_eigen(state);
    });
#if HINGE_HAVE_LIBTORCH
    add_threaded(workload, "libtorch", step_flops, [](benchmark::State& state, std::size_t n) {
        const peer_threads guard(n);
        bench_libtorch(state);
    });
#endif
    hinge_bench::add(workload + "/hinge", step_flops, bench_hinge);
    hinge_bench::add(workload + "/eigen", step_flops, bench_eigen);
#if HINGE_HAVE_LIBTORCH
    hinge_bench::add(workload + "/libtorch", step_flops, bench_libtorch);
#endif
}

}  // namespace

HINGE_BENCH_MAIN()
