// Streaming a sequence model one sample at a time, the real-time audio case: per-sample latency of
// GRU and LSTM layers of 8, 16, 32 and 64 hidden units (input 1, dense 1 head), of a dilated
// causal conv1d stack (TCN style) and of a gated WaveNet layer array (a graph: gates, residuals,
// a skip sum), hinge::stream against the peers in the same binary:
//
// - Eigen, as a competent Eigen user writes a real-time cell: fixed-size matrices (PyTorch's
//   [G H, H] weight as Eigen::Matrix<float, G H, H>), one step per call, products with noalias()
//   into preallocated vectors, the gates as array expressions (logistic(), tanh(): vectorised in
//   Eigen 3.4). The conv stack keeps a ring of past inputs per layer and multiplies the gathered
//   taps by a fixed-size [F, K C] matrix.
// - libtorch (g++ build only), one thread: at::gru_cell / at::lstm_cell and at::addmv_out for the
//   head, with every weight, input and state tensor preallocated (the cell functions return new
//   tensors: that allocation is part of what a libtorch user pays per step). The conv stack:
//   at::addmv_out per layer on the gathered taps, the same ring as Eigen's.
//
// Every implementation runs the same 256 samples before timing and must match hinge's
// double-precision stream (tests/runtime/stream.cpp checks that one against the whole-sequence
// pass, and tests/parity against PyTorch) to 1e-4.
//
// FLOPs per sample: 2 G H (C + H) for the cell's two products plus 2 H for the head (the gate
// functions are not counted); the conv stack 2 F K C per layer plus the head.
//
// Many streams: `<workload>_x<S>/hinge` advances S independent streams by one step per iteration
// (hinge::streams<Net, S>, one frame of S samples, each stream reading the signal from its own
// offset; in lanes where streams::in_lanes), `<workload>_x<S>/hinge_one_by_one` steps S
// hinge::stream objects in turn, `<workload>_x<S>/eigen` S Eigen cells, as every library runs
// voices today. Their time over the single-stream row's is the cost of S streams in units of one.
// Before timing, every one of hinge's S streams must equal a single hinge stream on its signal bit
// for bit, and stream 0 the double reference.
//
// Latency: `<workload>_latency` and `<workload>_latency_ftz` (inside a flush_denormals_guard) time
// each of a million single-stream steps on its own (bench/latency.hpp): p50, p99, p99.9 and the
// maximum as counters.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <hinge/hinge.hpp>

#include "common.hpp"
#include "latency.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif
#if HINGE_HAVE_LIBTORCH
#include <ATen/ATen.h>
#endif

namespace {

namespace hn = hinge;
using hinge_bench::add;
using hinge_bench::fail;
using hinge_bench::set_flops;

constexpr std::size_t signal_length = 4096;  // the timed loops cycle through it
constexpr std::size_t checked_steps = 256;
constexpr std::size_t stream_offset = 517;  // stream s of a multi-stream row reads the signal from s * stream_offset
constexpr std::size_t latency_calls = 1'000'000;

const std::vector<float>& input_signal() {
    static const std::vector<float> x = [] {
        std::vector<float> v(signal_length);
        hn::init::random_generator g(3);
        for (std::size_t t = 0; t < v.size(); ++t)
            v[t] = static_cast<float>(0.8 * std::sin(0.03 * double(t)) + 0.2 * (2 * g.uniform() - 1));
        return v;
    }();
    return x;
}

void check(const std::string& who, const std::vector<float>& y, const std::vector<double>& reference) {
    for (std::size_t t = 0; t < reference.size(); ++t) {
        const double error = std::abs(double(y[t]) - reference[t]);
        if (!(error <= 1e-4 * std::max(1.0, std::abs(reference[t]))))
            fail(who + ": sample " + std::to_string(t) + " is " + hinge_bench::number(y[t]) + ", hinge in double says " +
                 hinge_bench::number(reference[t]));
    }
}

// hinge's outputs in double for the first checked_steps samples: the reference of every peer.
template <class Net>
std::vector<double> reference_outputs(const hn::parameters<Net>& params) {
    auto pd = std::make_unique<hn::parameters<Net, double>>();
    hn::convert_parameters(params, *pd);
    auto s = std::make_unique<hn::stream<Net, double>>();
    std::vector<double> y(checked_steps);
    for (std::size_t t = 0; t < checked_steps; ++t) {
        const double x = input_signal()[t];
        y[t] = (*s)(*pd, std::span<const double, 1>(&x, 1))[0];
    }
    return y;
}

// Every implementation is a "stepper": an object with float step(float x), one sample in, one out.
// hinge's is its stream.
template <class Net>
struct hinge_stepper {
    const hn::parameters<Net>& params;
    hn::stream<Net> stream{};
    float step(float x) noexcept { return stream(params, std::span<const float, 1>(&x, 1))[0]; }
};

// What every workload does with its steppers: time one step per iteration over the input signal,
// check the first checked_steps outputs against hinge in double, register the rows. Workload
// provides workload(), flops, shared() (with .params and .reference) and make_eigen() /
// make_torch() returning steppers.
template <class Workload>
struct streaming_workload {
    template <class Make>
    static void time_steps(benchmark::State& state, Make make) {
        auto stepper = make();
        const std::vector<float>& x = input_signal();
        std::size_t t = 0;
        for (auto _ : state) {
            float y = stepper->step(x[t]);
            benchmark::DoNotOptimize(y);
            t = (t + 1) % signal_length;
        }
        set_flops(state, Workload::flops);
    }
    template <class Make>
    static void check_steps(const std::string& implementation, Make make) {
        auto stepper = make();
        std::vector<float> y(checked_steps);
        for (std::size_t t = 0; t < checked_steps; ++t) y[t] = stepper->step(input_signal()[t]);
        check(Workload::workload() + "/" + implementation, y, Workload::shared().reference);
    }
    static auto make_hinge() {
        return std::make_unique<hinge_stepper<typename Workload::net>>(Workload::shared().params);
    }

    // S streams advance one step: hinge's streams<Net, S>, one frame of S samples per call.
    template <std::size_t S>
    static void time_hinge_streams(benchmark::State& state) {
        auto m = std::make_unique<hn::streams<typename Workload::net, S>>();
        const auto& params = Workload::shared().params;
        const std::vector<float>& x = input_signal();
        std::array<float, S> frame{};
        std::size_t t = 0;
        for (auto _ : state) {
            for (std::size_t s = 0; s < S; ++s) frame[s] = x[(t + s * stream_offset) % signal_length];
            const auto y = (*m)(params, std::span<const float, S>(frame));
            benchmark::DoNotOptimize(y[S - 1]);
            benchmark::ClobberMemory();
            t = (t + 1) % signal_length;
        }
        set_flops(state, double(S) * Workload::flops);
    }
    // The same with S steppers (a peer's cells) stepped one after another.
    template <std::size_t S, class Make>
    static void time_steppers(benchmark::State& state, Make make) {
        std::array<decltype(make()), S> steppers;
        for (auto& s : steppers) s = make();
        const std::vector<float>& x = input_signal();
        std::size_t t = 0;
        for (auto _ : state) {
            for (std::size_t s = 0; s < S; ++s) {
                float y = steppers[s]->step(x[(t + s * stream_offset) % signal_length]);
                benchmark::DoNotOptimize(y);
            }
            t = (t + 1) % signal_length;
        }
        set_flops(state, double(S) * Workload::flops);
    }
    // Every one of S hinge streams equals a single hinge stream on its signal, bit for bit; stream
    // 0 (offset 0) also the double reference.
    template <std::size_t S>
    static void check_streams() {
        auto m = std::make_unique<hn::streams<typename Workload::net, S>>();
        std::array<std::unique_ptr<hinge_stepper<typename Workload::net>>, S> single;
        for (auto& s : single) s = make_hinge();
        std::vector<float> first(checked_steps);
        std::array<float, S> frame{};
        for (std::size_t t = 0; t < checked_steps; ++t) {
            for (std::size_t s = 0; s < S; ++s) frame[s] = input_signal()[(t + s * stream_offset) % signal_length];
            const auto y = (*m)(Workload::shared().params, std::span<const float, S>(frame));
            for (std::size_t s = 0; s < S; ++s)
                if (const float alone = single[s]->step(frame[s]); std::memcmp(&alone, &y[s], sizeof(float)) != 0)
                    fail(Workload::workload() + "_x" + std::to_string(S) + "/hinge: stream " + std::to_string(s) +
                         " differs from a single stream at step " + std::to_string(t));
            first[t] = y[0];
        }
        check(Workload::workload() + "_x" + std::to_string(S) + "/hinge", first, Workload::shared().reference);
    }
    template <class Make>
    static void time_latency(benchmark::State& state, Make make, bool flush_denormals) {
        const std::vector<float>& x = input_signal();
        auto call = [stepper = std::shared_ptr(make()), &x](std::size_t k) {
            float y = stepper->step(x[k]);
            benchmark::DoNotOptimize(y);
        };
        hinge_bench::latency::measure(state, call, signal_length, flush_denormals);
    }

    static void verify() {
        check_streams<2>();
        check_streams<4>();
        check_streams<8>();
        check_streams<16>();
        check_steps("hinge", make_hinge);
#if HINGE_HAVE_EIGEN
        check_steps("eigen", Workload::make_eigen);
#endif
#if HINGE_HAVE_LIBTORCH
        if constexpr (requires { Workload::make_torch(); }) check_steps("libtorch", Workload::make_torch);
#endif
    }
    template <std::size_t S>
    static void register_streams() {
        const std::string w = Workload::workload() + "_x" + std::to_string(S);
        add(w + "/hinge", double(S) * Workload::flops, [](benchmark::State& s) { time_hinge_streams<S>(s); })
            ->Unit(benchmark::kNanosecond);
        // S hinge::stream objects stepped in turn: what streams<Net, S> does when it cannot use lanes.
        add(w + "/hinge_one_by_one", double(S) * Workload::flops, [](benchmark::State& s) { time_steppers<S>(s, make_hinge); })
            ->Unit(benchmark::kNanosecond);
#if HINGE_HAVE_EIGEN
        add(w + "/eigen", double(S) * Workload::flops,
            [](benchmark::State& s) { time_steppers<S>(s, Workload::make_eigen); })
            ->Unit(benchmark::kNanosecond);
#endif
    }
    static void register_latency(const std::string& suffix, bool flush) {
        const std::string w = Workload::workload() + suffix;
        add(w + "/hinge", Workload::flops, [=](benchmark::State& s) { time_latency(s, make_hinge, flush); })
            ->Unit(benchmark::kNanosecond)
            ->Iterations(latency_calls);
#if HINGE_HAVE_EIGEN
        add(w + "/eigen", Workload::flops, [=](benchmark::State& s) { time_latency(s, Workload::make_eigen, flush); })
            ->Unit(benchmark::kNanosecond)
            ->Iterations(latency_calls);
#endif
    }
    static void register_all() {
        register_streams<2>();
        register_streams<4>();
        register_streams<8>();
        register_streams<16>();
        register_latency("_latency", false);
        register_latency("_latency_ftz", true);
        add(Workload::workload() + "/hinge", Workload::flops, [](benchmark::State& s) { time_steps(s, make_hinge); })
            ->Unit(benchmark::kNanosecond);
#if HINGE_HAVE_EIGEN
        add(Workload::workload() + "/eigen", Workload::flops,
            [](benchmark::State& s) { time_steps(s, Workload::make_eigen); })
            ->Unit(benchmark::kNanosecond);
#endif
#if HINGE_HAVE_LIBTORCH
        if constexpr (requires { Workload::make_torch(); })
            add(Workload::workload() + "/libtorch", Workload::flops,
                [](benchmark::State& s) { time_steps(s, Workload::make_torch); })
                ->Unit(benchmark::kNanosecond);
#endif
    }
};

// ---- recurrent cells ----------------------------------------------------------------------------

template <template <std::size_t, hn::returns> class Cell, std::size_t H>
struct recurrent_workload : streaming_workload<recurrent_workload<Cell, H>> {
    static constexpr bool is_lstm = std::is_same_v<Cell<H, hn::returns::all_steps>, hn::lstm<H>>;
    static constexpr std::size_t G = is_lstm ? 4 : 3;
    using net = hn::network<hn::input<1, 1>, Cell<H, hn::returns::all_steps>, hn::dense<1>>;
    static constexpr double flops = 2.0 * G * H * (1 + H) + 2.0 * H;
    static std::string workload() { return std::string(is_lstm ? "lstm" : "gru") + std::to_string(H) + "_stream"; }

    struct fixture {
        hn::parameters<net> params;
        std::vector<double> reference;
        fixture() {
            hn::init::automatic(params, 11 + H);
            // Non-zero biases everywhere, so that a peer that drops one fails the check.
            auto cell = params.template layer<0>();
            for (std::size_t o = 0; o < G * H; ++o) {
                cell.bias_ih(o) += 0.05f * std::sin(float(o));
                cell.bias_hh(o) += 0.05f * std::cos(float(o));
            }
            params.template layer<1>().bias(0) = 0.1f;
            reference = reference_outputs(params);
        }
    };
    static fixture& shared() {
        static const std::unique_ptr<fixture> f = std::make_unique<fixture>();
        return *f;
    }


#if HINGE_HAVE_EIGEN
    struct eigen_cell {
        static constexpr int h = int(H), g = int(G);
        Eigen::Matrix<float, g * h, h> w_hh;
        Eigen::Matrix<float, g * h, 1> w_ih, b_ih, b_hh, a, r;
        Eigen::Matrix<float, 1, h> w_out;
        float b_out = 0;
        Eigen::Matrix<float, h, 1> state = Eigen::Matrix<float, h, 1>::Zero(), cell = Eigen::Matrix<float, h, 1>::Zero();

        explicit eigen_cell(const hn::parameters<net>& p) {
            const auto c = p.template layer<0>();
            for (int o = 0; o < g * h; ++o) {
                w_ih(o) = c.weight_ih(o, 0);
                b_ih(o) = c.bias_ih(o);
                b_hh(o) = c.bias_hh(o);
                for (int k = 0; k < h; ++k) w_hh(o, k) = c.weight_hh(o, k);
            }
            for (int k = 0; k < h; ++k) w_out(k) = p.template layer<1>().weight(0, k);
            b_out = p.template layer<1>().bias(0);
        }
        float step(float x) {
            a.noalias() = w_ih * x + b_ih;
            r.noalias() = w_hh * state;
            r += b_hh;
            if constexpr (is_lstm) {
                const auto pre = (a + r).array();
                const auto i = pre.template segment<h>(0).logistic();
                const auto f = pre.template segment<h>(h).logistic();
                const auto gg = pre.template segment<h>(2 * h).tanh();
                const auto o = pre.template segment<h>(3 * h).logistic();
                cell.array() = f * cell.array() + i * gg;
                state.array() = o * cell.array().tanh();
            } else {
                const auto reset = (a.template segment<h>(0) + r.template segment<h>(0)).array().logistic();
                const auto update = (a.template segment<h>(h) + r.template segment<h>(h)).array().logistic();
                const Eigen::Array<float, h, 1> n =
                    (a.template segment<h>(2 * h).array() + reset * r.template segment<h>(2 * h).array()).tanh();
                state.array() = n + update * (state.array() - n);
            }
            return w_out.dot(state) + b_out;
        }
    };
    static auto make_eigen() { return std::make_unique<eigen_cell>(shared().params); }
#endif

#if HINGE_HAVE_LIBTORCH
    struct torch_cell {
        at::Tensor w_ih, w_hh, b_ih, b_hh, w_out, b_out, x, h, c, y;
        explicit torch_cell(const hn::parameters<net>& p) {
            const auto cell = p.template layer<0>();
            w_ih = at::empty({long(G * H), 1});
            w_hh = at::empty({long(G * H), long(H)});
            b_ih = at::empty({long(G * H)});
            b_hh = at::empty({long(G * H)});
            for (std::size_t o = 0; o < G * H; ++o) {
                w_ih.data_ptr<float>()[o] = cell.weight_ih(o, 0);
                b_ih.data_ptr<float>()[o] = cell.bias_ih(o);
                b_hh.data_ptr<float>()[o] = cell.bias_hh(o);
                for (std::size_t k = 0; k < H; ++k) w_hh.data_ptr<float>()[o * H + k] = cell.weight_hh(o, k);
            }
            w_out = at::empty({1, long(H)});
            for (std::size_t k = 0; k < H; ++k) w_out.data_ptr<float>()[k] = p.template layer<1>().weight(0, k);
            b_out = at::full({1}, p.template layer<1>().bias(0));
            x = at::zeros({1, 1});
            h = at::zeros({1, long(H)});
            c = at::zeros({1, long(H)});
            y = at::zeros({1});
        }
        float step(float value) {
            x.data_ptr<float>()[0] = value;
            if constexpr (is_lstm) {
                auto [next_h, next_c] = at::lstm_cell(x, {h, c}, w_ih, w_hh, b_ih, b_hh);
                h = next_h;
                c = next_c;
            } else {
                h = at::gru_cell(x, h, w_ih, w_hh, b_ih, b_hh);
            }
            at::addmv_out(y, b_out, w_out, h[0]);
            return y.data_ptr<float>()[0];
        }
    };
    static auto make_torch() { return std::make_unique<torch_cell>(shared().params); }
#endif

};

// ---- a dilated causal conv1d stack --------------------------------------------------------------

// 1 -> 8 channels, kernel 2, dilations 1, 2, 4, ..., 128 (receptive field 256 samples), tanh, and a
// dense 1 head: the shape of a small WaveNet-style amplifier model.
struct causal_stack_workload : streaming_workload<causal_stack_workload> {
    static constexpr std::size_t F = 8, K = 2, layers = 8;
    template <std::size_t C, std::size_t D>
    using conv = hn::sequential<hn::conv1d<F, K, 1, hn::padding::causal, D>, hn::tanh>;
    using net = hn::network<hn::input<1, 1>, conv<1, 1>, conv<F, 2>, conv<F, 4>, conv<F, 8>, conv<F, 16>,
                            conv<F, 32>, conv<F, 64>, conv<F, 128>, hn::dense<1>>;
    static constexpr double flops = 2.0 * (F * K * 1 + (layers - 1) * F * K * F + F);
    static std::string workload() { return "causal_conv8x8_stream"; }

    struct fixture {
        hn::parameters<net> params;
        std::vector<double> reference;
        fixture() {
            hn::init::automatic(params, 5);
            reference = reference_outputs(params);
        }
    };
    static fixture& shared() {
        static const std::unique_ptr<fixture> f = std::make_unique<fixture>();
        return *f;
    }


    // The weights of layer l as [F, K C] (PyTorch's [F, C, K] reordered tap-major, as hinge's
    // rows are), the ring capacity per layer (K - 1) D, dilation 2^l.
    static std::vector<float> layer_weights(const hn::parameters<net>& p, std::size_t l, std::size_t& fan_in,
                                            std::vector<float>& bias) {
        std::vector<float> w;
        hn::for_each_index<net::stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            if (i != l) return;
            const auto v = p.template layer<i>();
            fan_in = v.input_width;
            w.resize(F * fan_in);
            bias.resize(v.output_width);
            for (std::size_t o = 0; o < v.output_width; ++o) {
                bias[o] = v.bias(o);
                for (std::size_t k = 0; k < fan_in; ++k) w[o * fan_in + k] = v.weight(o, k);
            }
        });
        return w;
    }

#if HINGE_HAVE_EIGEN
    struct eigen_stack {
        // Layer 0 has one input channel, the others F; rings hold each layer's past inputs.
        Eigen::Matrix<float, int(F), int(K)> w0;
        std::array<Eigen::Matrix<float, int(F), int(K * F)>, layers - 1> w;
        std::array<Eigen::Matrix<float, int(F), 1>, layers> b;
        Eigen::Matrix<float, 1, int(F)> w_out;
        float b_out = 0;
        std::array<std::vector<Eigen::Matrix<float, int(F), 1>>, layers - 1> rings;
        std::vector<float> ring0;
        std::size_t t = 0;
        Eigen::Matrix<float, int(K * F), 1> taps;
        Eigen::Matrix<float, int(F), 1> value;

        explicit eigen_stack(const hn::parameters<net>& p) {
            for (std::size_t l = 0; l < layers; ++l) {
                std::size_t fan_in = 0;
                std::vector<float> bias;
                const std::vector<float> wl = layer_weights(p, l, fan_in, bias);
                for (std::size_t o = 0; o < F; ++o) {
                    b[l](int(o)) = bias[o];
                    for (std::size_t k = 0; k < fan_in; ++k) {
                        if (l == 0) w0(int(o), int(k)) = wl[o * fan_in + k];
                        else w[l - 1](int(o), int(k)) = wl[o * fan_in + k];
                    }
                }
                const std::size_t capacity = (K - 1) << l;
                if (l == 0) ring0.assign(capacity, 0.0f);
                else rings[l - 1].assign(capacity, Eigen::Matrix<float, int(F), 1>::Zero());
            }
            std::size_t fan_in = 0;
            std::vector<float> bias;
            const std::vector<float> wo = layer_weights(p, layers, fan_in, bias);
            for (std::size_t k = 0; k < F; ++k) w_out(int(k)) = wo[k];
            b_out = bias[0];
        }
        float step(float x) {
            // Layer 0: taps x[t - 1], x[t] (kernel 2, dilation 1).
            float& past0 = ring0[t % ring0.size()];
            value.noalias() = w0.col(0) * past0 + w0.col(1) * x + b[0];
            past0 = x;
            value = value.array().tanh();
            for (std::size_t l = 1; l < layers; ++l) {
                auto& ring = rings[l - 1];
                auto& past = ring[t % ring.size()];  // the input of (K - 1) D steps ago
                taps.template head<int(F)>() = past;
                taps.template tail<int(F)>() = value;
                past = value;
                value.noalias() = w[l - 1] * taps;
                value = (value + b[l]).array().tanh();
            }
            ++t;
            return w_out.dot(value) + b_out;
        }
    };
    static auto make_eigen() { return std::make_unique<eigen_stack>(shared().params); }
#endif

#if HINGE_HAVE_LIBTORCH
    struct torch_stack {
        std::array<at::Tensor, layers> w, b, rings, values;
        std::array<at::Tensor, layers> taps;
        at::Tensor w_out, b_out, y, x = at::zeros({1});
        std::size_t t = 0;
        explicit torch_stack(const hn::parameters<net>& p) {
            for (std::size_t l = 0; l < layers; ++l) {
                std::size_t fan_in = 0;
                std::vector<float> bias;
                const std::vector<float> wl = layer_weights(p, l, fan_in, bias);
                w[l] = at::from_blob(const_cast<float*>(wl.data()), {long(F), long(fan_in)}).clone();
                b[l] = at::from_blob(bias.data(), {long(F)}).clone();
                const std::size_t channels = fan_in / K;
                rings[l] = at::zeros({long((K - 1) << l), long(channels)});
                taps[l] = at::zeros({long(fan_in)});
                values[l] = at::zeros({long(F)});
            }
            std::size_t fan_in = 0;
            std::vector<float> bias;
            const std::vector<float> wo = layer_weights(p, layers, fan_in, bias);
            w_out = at::from_blob(const_cast<float*>(wo.data()), {1, long(F)}).clone();
            b_out = at::full({1}, bias[0]);
            y = at::zeros({1});
        }
        float step(float value) {
            x.data_ptr<float>()[0] = value;
            at::Tensor in = x;
            for (std::size_t l = 0; l < layers; ++l) {
                const long channels = in.size(0);
                at::Tensor past = rings[l][long(t % std::size_t(rings[l].size(0)))];
                taps[l].narrow(0, 0, channels).copy_(past);
                taps[l].narrow(0, channels, channels).copy_(in);
                past.copy_(in);
                at::addmv_out(values[l], b[l], w[l], taps[l]);
                values[l].tanh_();
                in = values[l];
            }
            ++t;
            at::addmv_out(y, b_out, w_out, in);
            return y.data_ptr<float>()[0];
        }
    };
    static auto make_torch() { return std::make_unique<torch_stack>(shared().params); }
#endif

};

// ---- a gated WaveNet layer array (a graph) ------------------------------------------------------

// Neural Amp Modeler's layer array, "standard" size: 1 -> 16 channels (1x1), ten layers with
// dilations 1, 2, ..., 512, each a causal convolution of kernel 3 to 32 channels, the tanh-sigmoid
// gate, the gate's output added into a skip sum and a 1x1 convolution added back to the layer's
// input (the last layer's input is nobody's, so it has none), and a 1x1 head on the skip sum.
struct wavenet_workload : streaming_workload<wavenet_workload> {
    static constexpr std::size_t C = 16, K = 3, layers = 10;
    template <std::size_t D>
    using layer = hn::sequential<hn::tap<"in">, hn::conv1d<2 * C, K, 1, hn::padding::causal, D>,
                                 hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::conv1d<C, 1>,
                                 hn::add<"in">>;
    using net = hn::network<hn::input<1, 1>, hn::conv1d<C, 1>, layer<1>, layer<2>, layer<4>, layer<8>, layer<16>,
                            layer<32>, layer<64>, layer<128>, layer<256>, hn::conv1d<2 * C, K, 1, hn::padding::causal, 512>,
                            hn::gated<hn::tanh, hn::sigmoid>, hn::accumulate<"skip">, hn::from<"skip">,
                            hn::conv1d<1, 1>>;
    // Stages: 0 the input 1x1; layer 0 at 1 (convolution, gate, 1x1, add), layer l >= 1 at 5 l
    // (convolution, gate, skip sum, 1x1, add), the last without 1x1 and add; the head last.
    static constexpr std::size_t convolution_stage(std::size_t l) { return l == 0 ? 1 : 5 * l; }
    static constexpr std::size_t residual_stage(std::size_t l) { return convolution_stage(l) + (l == 0 ? 2 : 3); }
    static_assert(net::stage_count == 5 * (layers - 1) + 4);
    static constexpr double flops =
        2.0 * (C + layers * K * C * 2 * C + (layers - 1) * C * C + C);  // products only
    static std::string workload() { return "wavenet16x10_stream"; }

    struct fixture {
        hn::parameters<net> params;
        std::vector<double> reference;
        fixture() {
            hn::init::automatic(params, 9);
            reference = reference_outputs(params);
        }
    };
    static fixture& shared() {
        static const std::unique_ptr<fixture> f = std::make_unique<fixture>();
        return *f;
    }

    // Stage i's weights as [outputs, fan-in] (hinge's tap-major fan-in) and its biases.
    static void stage_weights(const hn::parameters<net>& p, std::size_t i, std::vector<float>& w,
                              std::vector<float>& bias) {
        hn::for_each_index<net::stage_count>([&](auto index) {
            constexpr std::size_t s = decltype(index)::value;
            if constexpr (hn::stage_property::affine<typename net::stage<s>::layer_type>) {
                if (s != i) return;
                const auto v = p.template layer<s>();
                w.resize(v.output_width * v.input_width);
                bias.resize(v.output_width);
                for (std::size_t o = 0; o < v.output_width; ++o) {
                    bias[o] = v.bias(o);
                    for (std::size_t k = 0; k < v.input_width; ++k) w[o * v.input_width + k] = v.weight(o, k);
                }
            }
        });
    }

#if HINGE_HAVE_EIGEN
    // As an Eigen user writes NAM's layer array: fixed-size matrices, a ring of past inputs per
    // layer, the taps gathered into one vector and one product per convolution.
    struct eigen_wavenet {
        using vec = Eigen::Matrix<float, int(C), 1>;
        Eigen::Matrix<float, int(C), 1> w_in, b_in;
        std::array<Eigen::Matrix<float, int(2 * C), int(K * C)>, layers> w;
        std::array<Eigen::Matrix<float, int(2 * C), 1>, layers> b;
        std::array<Eigen::Matrix<float, int(C), int(C)>, layers - 1> w_res;
        std::array<vec, layers - 1> b_res;
        Eigen::Matrix<float, 1, int(C)> w_out;
        float b_out = 0;
        std::array<std::vector<vec>, layers> rings;  // (K - 1) D past inputs of layer l
        std::size_t t = 0;
        Eigen::Matrix<float, int(K * C), 1> taps;
        Eigen::Matrix<float, int(2 * C), 1> z;
        vec h, gated, skip;

        template <class M>
        static void fill(M& m, const std::vector<float>& values) {
            for (int o = 0; o < m.rows(); ++o)
                for (int k = 0; k < m.cols(); ++k) m(o, k) = values[std::size_t(o) * std::size_t(m.cols()) + std::size_t(k)];
        }
        explicit eigen_wavenet(const hn::parameters<net>& p) {
            std::vector<float> wv, bv;
            stage_weights(p, 0, wv, bv);
            fill(w_in, wv);
            fill(b_in, bv);
            for (std::size_t l = 0; l < layers; ++l) {
                stage_weights(p, convolution_stage(l), wv, bv);
                fill(w[l], wv);
                fill(b[l], bv);
                if (l + 1 < layers) {
                    stage_weights(p, residual_stage(l), wv, bv);
                    fill(w_res[l], wv);
                    fill(b_res[l], bv);
                }
                rings[l].assign((K - 1) << l, vec::Zero());
            }
            stage_weights(p, net::stage_count - 1, wv, bv);
            fill(w_out, wv);
            b_out = bv[0];
        }
        float step(float x) {
            h.noalias() = w_in * x + b_in;
            skip.setZero();
            for (std::size_t l = 0; l < layers; ++l) {
                // Taps x[t - 2 D], x[t - D], x[t]: the ring holds the last 2 D inputs.
                std::vector<vec>& ring = rings[l];
                const std::size_t d = std::size_t(1) << l, n = ring.size();
                taps.template segment<int(C)>(0) = ring[t % n];
                taps.template segment<int(C)>(int(C)) = ring[(t + d) % n];
                taps.template segment<int(C)>(int(2 * C)) = h;
                ring[t % n] = h;
                z.noalias() = w[l] * taps;
                z += b[l];
                gated = z.template head<int(C)>().array().tanh() * z.template tail<int(C)>().array().logistic();
                skip += gated;
                if (l + 1 < layers) {
                    h.noalias() += w_res[l] * gated;
                    h += b_res[l];
                }
            }
            ++t;
            return w_out.dot(skip) + b_out;
        }
    };
    static auto make_eigen() { return std::make_unique<eigen_wavenet>(shared().params); }
#endif

    // No libtorch peer: one call per layer costs microseconds there (the cells above show it),
    // which says nothing about the arithmetic.
};

void verify() {
    recurrent_workload<hn::gru, 8>::verify();
    recurrent_workload<hn::gru, 16>::verify();
    recurrent_workload<hn::gru, 32>::verify();
    recurrent_workload<hn::gru, 64>::verify();
    recurrent_workload<hn::lstm, 8>::verify();
    recurrent_workload<hn::lstm, 16>::verify();
    recurrent_workload<hn::lstm, 32>::verify();
    recurrent_workload<hn::lstm, 64>::verify();
    causal_stack_workload::verify();
    wavenet_workload::verify();
}

void register_benchmarks() {
    recurrent_workload<hn::gru, 8>::register_all();
    recurrent_workload<hn::gru, 16>::register_all();
    recurrent_workload<hn::gru, 32>::register_all();
    recurrent_workload<hn::gru, 64>::register_all();
    recurrent_workload<hn::lstm, 8>::register_all();
    recurrent_workload<hn::lstm, 16>::register_all();
    recurrent_workload<hn::lstm, 32>::register_all();
    recurrent_workload<hn::lstm, 64>::register_all();
    causal_stack_workload::register_all();
    wavenet_workload::register_all();
}

}  // namespace

HINGE_BENCH_MAIN()
