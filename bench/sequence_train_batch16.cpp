// One training step of a recurrent sequence model through time, batch 16, sequences of 256 steps:
// GRU and LSTM of 32 hidden units on one input channel, a dense 1 head at every step, mean squared
// error, SGD. hinge::trainer (forward, loss, BPTT, update; no allocation) against libtorch's
// torch::nn::GRU / torch::nn::LSTM (batch_first) and torch::nn::Linear with autograd and
// torch::optim::SGD, one thread, from the same initial parameters and data. (Eigen has no
// autograd: a hand-written BPTT in Eigen would be a third implementation of the same equations,
// not a peer users run, so it is not here.)
//
// Before timing, one step of each from the same start must agree: the loss to 1e-5 relative and
// every parameter gradient to 1e-4 of its tensor's largest value.
//
// FLOPs per step: the forward pass's multiply-adds, 2 B L (G H (C + H) + H), times 3 (the
// backward pass computes two products per forward product: the weight and the input gradient).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>
#include <hinge/io/architecture.hpp>

#include "common.hpp"

#if HINGE_HAVE_LIBTORCH
#include <torch/torch.h>
#endif

namespace {

namespace hn = hinge;
using hinge_bench::add;
using hinge_bench::fail;
using hinge_bench::set_flops;

constexpr std::size_t batch = 16, steps = 256, hidden = 32, batches = 4;
constexpr float learning_rate = 0.01f;

template <template <std::size_t, hn::returns> class Cell>
struct training_workload {
    static constexpr bool is_lstm = std::is_same_v<Cell<hidden, hn::returns::all_steps>, hn::lstm<hidden>>;
    static constexpr std::size_t G = is_lstm ? 4 : 3;
    using net = hn::network<hn::input<steps, 1>, Cell<hidden, hn::returns::all_steps>, hn::dense<1>>;
    using trainer = hn::trainer<net, hn::loss::mean_squared_error, hn::optim::sgd, hn::batch<batch>>;
    static constexpr double flops = 3.0 * 2.0 * batch * steps * (G * hidden * (1 + hidden) + hidden);
    static std::string workload() {
        return std::string(is_lstm ? "lstm" : "gru") + std::to_string(hidden) + "_train_batch16_steps256";
    }

    struct fixture {
        hn::parameters<net> initial;
        std::vector<float> x, y;  // batches x batch x steps values each
        fixture() : x(batches * batch * steps), y(x.size()) {
            hn::init::automatic(initial, 21);
            hn::init::random_generator g(22);
            // A non-linear filter to learn: y_t = tanh(2 x_t) - 0.5 tanh(2 x_{t-3}).
            for (std::size_t s = 0; s < batches * batch; ++s)
                for (std::size_t t = 0; t < steps; ++t)
                    x[s * steps + t] = static_cast<float>(0.7 * std::sin(0.05 * double(t) * (1 + double(s % 5))) +
                                                          0.3 * (2 * g.uniform() - 1));
            for (std::size_t s = 0; s < batches * batch; ++s)
                for (std::size_t t = 0; t < steps; ++t)
                    y[s * steps + t] = std::tanh(2 * x[s * steps + t]) -
                                       (t >= 3 ? 0.5f * std::tanh(2 * x[s * steps + t - 3]) : 0.0f);
        }
        const float* inputs(std::size_t k) const { return x.data() + k * batch * steps; }
        const float* targets(std::size_t k) const { return y.data() + k * batch * steps; }
    };
    static fixture& shared() {
        static const std::unique_ptr<fixture> f = std::make_unique<fixture>();
        return *f;
    }

    static void bench_hinge(benchmark::State& state) {
        fixture& f = shared();
        auto params = std::make_unique<hn::parameters<net>>(f.initial);
        auto t = std::make_unique<trainer>(*params, hn::optim::sgd{learning_rate});
        std::size_t k = 0;
        for (auto _ : state) {
            float loss = t->step(f.inputs(k), f.targets(k), batch);
            benchmark::DoNotOptimize(loss);
            k = (k + 1) % batches;
        }
        set_flops(state, flops);
    }

#if HINGE_HAVE_LIBTORCH
    using torch_cell = std::conditional_t<is_lstm, torch::nn::LSTM, torch::nn::GRU>;
    using torch_options = std::conditional_t<is_lstm, torch::nn::LSTMOptions, torch::nn::GRUOptions>;

    // What a libtorch user writes: the modules, autograd, torch::optim::SGD.
    struct torch_model {
        torch_cell cell{torch_options(1, hidden).batch_first(true)};
        torch::nn::Linear head{torch::nn::LinearOptions(hidden, 1)};
        std::unique_ptr<torch::optim::SGD> optimizer;
        std::vector<at::Tensor> inputs, targets;

        explicit torch_model(const fixture& f) {
            torch::NoGradGuard no_grad;
            const auto view = f.initial.template layer<0>();
            auto copy = [&](at::Tensor t, auto&& value) {
                float* p = t.data_ptr<float>();
                for (std::int64_t k = 0; k < t.numel(); ++k) p[k] = value(std::size_t(k));
            };
            copy(cell->named_parameters()["weight_ih_l0"], [&](std::size_t k) { return view.weight_ih(k, 0); });
            copy(cell->named_parameters()["weight_hh_l0"], [&](std::size_t k) { return view.weight_hh(k / hidden, k % hidden); });
            copy(cell->named_parameters()["bias_ih_l0"], [&](std::size_t k) { return view.bias_ih(k); });
            copy(cell->named_parameters()["bias_hh_l0"], [&](std::size_t k) { return view.bias_hh(k); });
            const auto out = f.initial.template layer<1>();
            copy(head->weight, [&](std::size_t k) { return out.weight(0, k); });
            copy(head->bias, [&](std::size_t) { return out.bias(0); });
            std::vector<at::Tensor> parameters = cell->parameters();
            for (const at::Tensor& p : head->parameters()) parameters.push_back(p);
            optimizer = std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(learning_rate));
            for (std::size_t k = 0; k < batches; ++k) {
                inputs.push_back(torch::from_blob(const_cast<float*>(f.inputs(k)), {long(batch), long(steps), 1}));
                targets.push_back(torch::from_blob(const_cast<float*>(f.targets(k)), {long(batch), long(steps), 1}));
            }
        }
        float step(std::size_t k) {
            optimizer->zero_grad();
            auto output = std::get<0>(cell->forward(inputs[k]));
            at::Tensor loss = torch::mse_loss(head->forward(output), targets[k]);
            loss.backward();
            optimizer->step();
            return loss.item<float>();
        }
    };

    static void bench_torch(benchmark::State& state) {
        auto model = std::make_unique<torch_model>(shared());
        std::size_t k = 0;
        for (auto _ : state) {
            float loss = model->step(k);
            benchmark::DoNotOptimize(loss);
            k = (k + 1) % batches;
        }
        set_flops(state, flops);
    }
#endif

    static void verify() {
        fixture& f = shared();
        auto params = std::make_unique<hn::parameters<net>>(f.initial);
        auto t = std::make_unique<trainer>(*params, hn::optim::sgd{learning_rate});
        const float hinge_loss = t->step(f.inputs(0), f.targets(0), batch);
        if (!std::isfinite(hinge_loss)) fail(workload() + "/hinge: the loss is not finite");
#if HINGE_HAVE_LIBTORCH
        auto model = std::make_unique<torch_model>(f);
        const float torch_loss = model->step(0);
        if (!(std::abs(hinge_loss - torch_loss) <= 1e-5 * std::abs(torch_loss)))
            fail(workload() + ": hinge's loss " + hinge_bench::number(hinge_loss) + " differs from libtorch's " +
                 hinge_bench::number(torch_loss));
        // Every gradient, by PyTorch name (hinge's tensor table maps them).
        std::map<std::string, at::Tensor> grads;
        for (const auto& p : model->cell->named_parameters()) grads["0." + p.key()] = p.value().grad();
        for (const auto& p : model->head->named_parameters()) grads["1." + p.key()] = p.value().grad();
        for (const hn::io::tensor_slot& slot : hn::io::tensor_table<net, float>()) {
            const at::Tensor g = grads.at(slot.torch_name).contiguous();
            double largest = 0, error = 0;
            for (std::size_t k = 0; k < slot.count; ++k) {
                const double expected = g.data_ptr<float>()[k];
                largest = std::max(largest, std::abs(expected));
                error = std::max(error, std::abs(double(t->last_gradients().data()[slot.element(k)]) - expected));
            }
            if (!(error <= 1e-4 * largest))
                fail(workload() + ": the gradient of " + slot.torch_name + " differs from libtorch's by " +
                     hinge_bench::number(error) + " (largest " + hinge_bench::number(largest) + ")");
        }
#endif
    }

    static void register_all() {
        add(workload() + "/hinge", flops, bench_hinge);
#if HINGE_HAVE_LIBTORCH
        add(workload() + "/libtorch", flops, bench_torch);
#endif
    }
};

void verify() {
    training_workload<hn::gru>::verify();
    training_workload<hn::lstm>::verify();
}

void register_benchmarks() {
    training_workload<hn::gru>::register_all();
    training_workload<hn::lstm>::register_all();
}

}  // namespace

HINGE_BENCH_MAIN()
