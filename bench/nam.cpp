// Neural Amp Modeler's standard model sizes (nam/standard.hpp) as an amp plugin runs them: a host
// block of 1, 64 or 512 samples per call, the cost per sample. hinge::stream::process against an
// Eigen implementation of the same computation in the same binary, both in NAM's fast-tanh mode
// (the NAM plugin's setting), and the standard WaveNet with the exact tanh as well.
//
// The Eigen peer computes the way NAM Core does (NAM/wavenet/model.cpp, NAM/conv1d.cpp): per call
// the whole block at once, layer by layer. Each layer writes its input block into a history
// buffer (NAM's RingBuffer: 2 x lookback + block columns, the last lookback columns copied to the
// front when full), the dilated convolution is K matrix products of [C, C] by the block shifted by
// d (K - 1 - k) columns, then the bias, the mix-in of the input (an outer product), the activation
// over the block, the head sum and the 1x1 residual. Fixed-size weights and row counts, every
// buffer allocated at construction for the largest block, noalias() products. The LSTM peer steps
// the samples one by one, as NAM's LSTM does: one [4H, In + H] product per layer and the gates as
// array expressions (vectorised). Fast tanh is NAM's formula (nam/fast_tanh.hpp) in the same order.
// The peer skips the 1x1 residual of the very last layer, as hinge does (nothing reads it; NAM
// Core computes it: C x C of the second array's, 64 multiply-adds of the standard model's 13,320).
//
// Weights: one flat list in NAM's order (the .nam file's `weights`), from a fixed-seed generator
// scaled by fan-in (biases 0.1, the mix-in 1, head_scale 0.02 as NAM), loaded into hinge by the
// models' own loaders and read by the peer from the same list. Before timing, every peer's output
// at every block size must equal hinge's stream to 1e-5 of the output's peak over 4096 samples of
// the test signal (two sines and noise, peak 0.8), and that output must be non-trivial.
//
// Reported per row (the table after Google Benchmark's): ns per sample (CPU time), the real-time
// factor at 48 kHz (audio seconds per CPU second) and the share of one core that real time takes,
// the multiply-adds per sample counted from the config (WaveNet: per array the rechannel C In,
// per layer K C C + C + C C, the head H C; LSTM: 4 H (In + H) per layer, H for the head), the
// arithmetic bound (those multiply-adds at peak_fma/float, measured in this run, its fastest
// repetition) and time / bound. The JSON (--benchmark_out) has the counters ns_per_sample,
// x_realtime and MAC_per_sample per repetition (the console prints rate units after the first two:
// they are ns and a factor).
//
// Workloads: <model>_<tanh>_block<N>/{hinge,eigen}, e.g. wavenet_standard_fast_block64/hinge.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <numbers>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <hinge/nam/fast_tanh.hpp>
#include <hinge/nam/lstm.hpp>
#include <hinge/nam/standard.hpp>
#include <hinge/nam/wavenet.hpp>
#include <hinge/runtime/stream.hpp>

#include "common.hpp"

#if HINGE_HAVE_EIGEN
#include <Eigen/Core>
#endif

namespace {

namespace hn = hinge;
namespace nam = hinge::nam;
using hinge_bench::add;
using hinge_bench::fail;

constexpr double sample_rate = 48000;
constexpr std::size_t signal_length = 8192;  // a whole number of blocks of 512; the timed loops cycle through it
constexpr std::size_t checked_samples = 4096;
constexpr std::size_t largest_block = 512;
constexpr float head_scale = nam::standard::head_scale;

// Two sines and noise, peak 0.8: a guitar-like level.
const std::vector<float>& input_signal() {
    static const std::vector<float> x = [] {
        std::vector<float> v(signal_length);
        std::uint64_t s = 7;
        for (std::size_t t = 0; t < v.size(); ++t) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double noise = double(s >> 40) / double(1ull << 24) - 0.5;
            v[t] = static_cast<float>(0.45 * std::sin(2 * std::numbers::pi * 110 * double(t) / sample_rate) +
                                      0.25 * std::sin(2 * std::numbers::pi * 440 * double(t) / sample_rate) + 0.2 * noise);
        }
        return v;
    }();
    return x;
}

// ---- the weights, NAM's flat list ----------------------------------------------------------------

// Uniform in [-scale, scale) from a 64-bit LCG (the top 24 bits: exact in float before the scale).
struct weight_source {
    std::uint64_t state;
    std::vector<float> weights;
    void take(std::size_t n, double scale) {
        for (std::size_t k = 0; k < n; ++k) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            const double u = double(state >> 40) / double(1ull << 23) - 1.0;
            weights.push_back(static_cast<float>(u * scale));
        }
    }
};

constexpr double bias_scale = 0.1;

// NAM's order (the data folder's README): per array the rechannel [C][In], per layer the dilated
// convolution [C][C][K], its bias [C], the mix-in [C][1], the 1x1 [C][C] and its bias [C], then the
// head [H][C] (and its bias); head_scale last. Weights scaled by 1 / sqrt(fan-in).
std::vector<float> wavenet_weights(const std::vector<nam::layer_array_config>& arrays, std::uint64_t seed) {
    weight_source w{seed, {}};
    for (const nam::layer_array_config& a : arrays) {
        const double c = double(a.channels);
        w.take(a.channels * a.input_size, 1 / std::sqrt(double(a.input_size)));
        for (std::size_t l = 0; l < a.dilations.size(); ++l) {
            w.take(a.channels * a.channels * a.kernel_size, 1 / std::sqrt(c * double(a.kernel_size)));
            w.take(a.channels, bias_scale);
            w.take(a.channels * a.condition_size, 1.0);
            w.take(a.channels * a.channels, 1 / std::sqrt(c));
            w.take(a.channels, bias_scale);
        }
        w.take(a.head_size * a.channels, 1 / std::sqrt(c));
        if (a.head_bias) w.take(a.head_size, bias_scale);
    }
    w.weights.push_back(head_scale);
    return w.weights;
}

// NAM's LSTM: per layer W [4H][In + H], b [4H], the initial h [H] and c [H]; the head [H] and its bias.
std::vector<float> lstm_weights(std::size_t hidden, std::size_t layers, std::uint64_t seed) {
    weight_source w{seed, {}};
    for (std::size_t l = 0; l < layers; ++l) {
        const std::size_t in = l == 0 ? 1 : hidden;
        w.take(4 * hidden * (in + hidden), 1 / std::sqrt(double(in + hidden)));
        w.take(4 * hidden, bias_scale);
        w.take(2 * hidden, bias_scale);
    }
    w.take(hidden, 1 / std::sqrt(double(hidden)));
    w.take(1, bias_scale);
    return w.weights;
}

// Multiply-adds per sample, from the config.
double wavenet_macs(const std::vector<nam::layer_array_config>& arrays) {
    double n = 0;
    for (const nam::layer_array_config& a : arrays) {
        const double c = double(a.channels), k = double(a.kernel_size);
        n += c * double(a.input_size) + double(a.dilations.size()) * (k * c * c + c + c * c) + double(a.head_size) * c;
    }
    return n;
}
double lstm_macs(std::size_t hidden, std::size_t layers) {
    double n = double(hidden);
    for (std::size_t l = 0; l < layers; ++l) n += 4.0 * double(hidden) * double((l == 0 ? 1 : hidden) + hidden);
    return n;
}

// ---- the Eigen peer --------------------------------------------------------------------------------

#if HINGE_HAVE_EIGEN

// NAM's fast tanh on an array block, in place, in NAM's order of operations.
template <class D>
void fast_tanh_in_place(const Eigen::ArrayBase<D>& values) {
    auto& x = const_cast<Eigen::ArrayBase<D>&>(values);  // Eigen's idiom for writable blocks
    constexpr float a = 2.45550750702956f, b = 0.893229853513558f, c = 0.821226666969744f, d = 2.44506634652299f,
                    e = 0.814642734961073f;
    x = x * (a + a * x.abs() + (b + c * x.abs()) * (x * x)) / (d + (d + x * x) * (x + e * x * x.abs()).abs());
}

template <class Activation, class D>
void activate(const Eigen::ArrayBase<D>& values) {
    if constexpr (std::is_same_v<Activation, nam::fast_tanh>) {
        fast_tanh_in_place(values);
    } else {
        static_assert(std::is_same_v<Activation, hn::tanh>, "bench/nam.cpp: the Eigen peer has tanh and fast tanh");
        const_cast<Eigen::ArrayBase<D>&>(values) = values.tanh();
    }
}

// One layer array of NAM's A1 WaveNet over a block: Array is hinge's nam::layer_array (its sizes
// and activation), In the channels arriving, Last whether its last layer's residual is read.
template <class Array, int In, bool Last>
struct eigen_layer_array {
    static constexpr int C = int(Array::channels), K = int(Array::kernel), H = int(Array::head_size);
    static constexpr std::size_t L = Array::layers;
    static_assert(!Array::gated, "bench/nam.cpp: the Eigen peer computes NAM's non-gated layers (every standard size)");
    using block = Eigen::Matrix<float, C, Eigen::Dynamic>;

    struct layer {
        std::array<Eigen::Matrix<float, C, C>, std::size_t(K)> conv;  // tap k reads d (K - 1 - k) samples back
        Eigen::Matrix<float, C, 1> conv_bias, mix, residual_bias;
        Eigen::Matrix<float, C, C> residual;
        long dilation = 1, lookback = 0, position = 0;  // position: where this block's first column goes
        block history;                                  // NAM's RingBuffer storage
    };

    Eigen::Matrix<float, C, In> rechannel;
    std::array<layer, L> layers;
    Eigen::Matrix<float, H, C> head;
    Eigen::Matrix<float, H, 1> head_bias = Eigen::Matrix<float, H, 1>::Zero();
    block h, z, sum;
    Eigen::Matrix<float, H, Eigen::Dynamic> head_out;

    // Reads this array's weights from NAM's flat list at `at`, and moves `at` past them.
    eigen_layer_array(const std::vector<float>& w, std::size_t& at, int max_block) {
        for (int c = 0; c < C; ++c)
            for (int i = 0; i < In; ++i) rechannel(c, i) = w[at++];
        for (std::size_t l = 0; l < L; ++l) {
            layer& y = layers[l];
            for (int o = 0; o < C; ++o)
                for (int i = 0; i < C; ++i)
                    for (int k = 0; k < K; ++k) y.conv[std::size_t(k)](o, i) = w[at++];
            for (int o = 0; o < C; ++o) y.conv_bias(o) = w[at++];
            for (int o = 0; o < C; ++o) y.mix(o) = w[at++];
            for (int o = 0; o < C; ++o)
                for (int i = 0; i < C; ++i) y.residual(o, i) = w[at++];
            for (int o = 0; o < C; ++o) y.residual_bias(o) = w[at++];
            y.dilation = long(Array::dilation_list::values[l]);
            y.lookback = (K - 1) * y.dilation;
            y.history = block::Zero(C, 2 * y.lookback + max_block);
            y.position = y.lookback;
        }
        for (int o = 0; o < H; ++o)
            for (int c = 0; c < C; ++c) head(o, c) = w[at++];
        if (Array::head_bias)
            for (int o = 0; o < H; ++o) head_bias(o) = w[at++];
        h = block::Zero(C, max_block);
        z = block::Zero(C, max_block);
        sum = block::Zero(C, max_block);
        head_out = Eigen::Matrix<float, H, Eigen::Dynamic>::Zero(H, max_block);
    }

    // in: [In, n] (the audio or the previous array's last residual), x: the audio [1, n] (the
    // condition), previous_head: the previous array's head output (null for the first array).
    template <class Input, class Condition>
    void process(const Input& in, const Condition& x, const Eigen::Matrix<float, C, Eigen::Dynamic>* previous_head,
                 int n) {
        h.leftCols(n).noalias() = rechannel * in.leftCols(n);
        if (previous_head) sum.leftCols(n) = previous_head->leftCols(n);
        else sum.leftCols(n).setZero();
        for (std::size_t l = 0; l < L; ++l) {
            layer& y = layers[l];
            if (y.position + n > y.history.cols()) {  // NAM's Rewind: keep the last lookback columns
                y.history.leftCols(y.lookback) = y.history.middleCols(y.position - y.lookback, y.lookback);
                y.position = y.lookback;
            }
            y.history.middleCols(y.position, n) = h.leftCols(n);
            auto zn = z.leftCols(n);
            zn.noalias() = y.conv[0] * y.history.middleCols(y.position - y.lookback, n);
            for (int k = 1; k < K; ++k)
                zn.noalias() += y.conv[std::size_t(k)] * y.history.middleCols(y.position - y.dilation * (K - 1 - k), n);
            zn.colwise() += y.conv_bias;
            zn.noalias() += y.mix * x.leftCols(n);
            activate<typename Array::activation>(zn.array());
            sum.leftCols(n) += zn;
            if (!(Last && l + 1 == L)) {
                h.leftCols(n).noalias() += y.residual * zn;
                h.leftCols(n).colwise() += y.residual_bias;
            }
            y.position += n;
        }
        head_out.leftCols(n).noalias() = head * sum.leftCols(n);
        if (Array::head_bias) head_out.leftCols(n).colwise() += head_bias;
    }
};

template <class Model>
struct eigen_wavenet;
template <class A0, class A1>
struct eigen_wavenet<nam::a1_wavenet<A0, A1>> {
    static_assert(A0::head_size == A1::channels,
                  "bench/nam.cpp: the second array's head sum starts from the first's head, so their sizes agree");
    std::size_t read = 0;  // the next weight of the flat list, while constructing (members in this order)
    eigen_layer_array<A0, 1, false> first;
    eigen_layer_array<A1, int(A0::channels), true> second;
    Eigen::Matrix<float, 1, Eigen::Dynamic> x;
    float scale;

    eigen_wavenet(const std::vector<float>& w, int max_block)
        : first(w, read, max_block), second(w, read, max_block), x(1, max_block), scale(w[read]) {
        if (read + 1 != w.size()) fail("eigen_wavenet: the weight list does not match the model");
    }
    void process(const float* in, float* out, int n) {
        for (int t = 0; t < n; ++t) x(t) = in[t];
        first.process(x, x, nullptr, n);
        second.process(first.h, x, &first.head_out, n);
        for (int t = 0; t < n; ++t) out[t] = scale * second.head_out(0, t);
    }
};

// NAM's LSTM, one sample at a time (NAM/lstm.cpp), gates as array expressions; fast tanh mode:
// sigmoid(x) = (fast_tanh(x / 2) + 1) / 2, as NAM and hinge's nam::fast_lstm.
template <int H, int Layers>
struct eigen_lstm {
    template <int In>
    struct cell {
        Eigen::Matrix<float, 4 * H, In + H> w;
        Eigen::Matrix<float, 4 * H, 1> b, g;
        Eigen::Matrix<float, In + H, 1> xh;  // the input, then h
        Eigen::Array<float, 4 * H, 1> t;
        Eigen::Array<float, H, 1> c, tc;
        cell(const std::vector<float>& weights, std::size_t& at) {
            for (int r = 0; r < 4 * H; ++r)
                for (int k = 0; k < In + H; ++k) w(r, k) = weights[at++];
            for (int r = 0; r < 4 * H; ++r) b(r) = weights[at++];
            xh.setZero();
            for (int j = 0; j < H; ++j) xh(In + j) = weights[at++];
            for (int j = 0; j < H; ++j) c(j) = weights[at++];
        }
        template <class Input>
        void step(const Input& input) {
            xh.template head<In>() = input;
            g.noalias() = w * xh;
            g += b;
            t = g.array() * 0.5f;                                   // sigmoid gates: fast_tanh(x / 2)
            t.template segment<H>(2 * H) = g.template segment<H>(2 * H).array();  // g: fast_tanh(x)
            fast_tanh_in_place(t);
            c = (0.5f * (t.template segment<H>(H) + 1.0f)) * c +
                (0.5f * (t.template segment<H>(0) + 1.0f)) * t.template segment<H>(2 * H);
            tc = c;
            fast_tanh_in_place(tc);
            xh.template tail<H>() = ((0.5f * (t.template segment<H>(3 * H) + 1.0f)) * tc).matrix();
        }
        auto hidden() const { return xh.template tail<H>(); }
    };

    std::size_t read = 0;  // the next weight of the flat list, while constructing (members in this order)
    cell<1> first;
    std::vector<cell<H>> rest;  // filled at construction: no allocation afterwards
    Eigen::Matrix<float, 1, H> head;
    float head_bias = 0;

    eigen_lstm(const std::vector<float>& w, int /*max_block*/) : first(w, read) {
        rest.reserve(Layers - 1);
        for (int l = 1; l < Layers; ++l) rest.emplace_back(w, read);
        for (int j = 0; j < H; ++j) head(j) = w[read++];
        head_bias = w[read++];
        if (read != w.size()) fail("eigen_lstm: the weight list does not match the model");
    }
    void process(const float* in, float* out, int n) {
        for (int t = 0; t < n; ++t) {
            first.step(Eigen::Matrix<float, 1, 1>::Constant(in[t]));
            if constexpr (Layers > 1) {
                rest[0].step(first.hidden());
                for (std::size_t l = 1; l < rest.size(); ++l) rest[l].step(rest[l - 1].hidden());
                out[t] = head.dot(rest.back().hidden()) + head_bias;
            } else {
                out[t] = head.dot(first.hidden()) + head_bias;
            }
        }
    }
};

#endif  // HINGE_HAVE_EIGEN

// ---- the workloads ------------------------------------------------------------------------------------

// A model as hinge runs it (its stream and parameters), its flat weights, and its peer.
template <class Model>
struct wavenet_workload {
    using net = typename Model::template network<1>;
    static constexpr bool is_lstm = false;
    static double macs() { return wavenet_macs(Model::config()); }
    static std::vector<float> weights() { return wavenet_weights(Model::config(), 1); }

    struct fixture {
        std::vector<float> weights = wavenet_workload::weights();
        std::unique_ptr<hn::parameters<net>> params = std::make_unique<hn::parameters<net>>();
        fixture() {
            nam::model_file f;
            f.source = "<bench/nam.cpp>";
            f.version = "0.5.4";
            f.architecture = "WaveNet";
            f.wavenet = nam::wavenet_config{Model::config(), head_scale};
            f.weights = weights;
            Model::load(f, *params);
        }
        std::unique_ptr<hn::stream<net>> make_stream() const { return std::make_unique<hn::stream<net>>(); }
    };
#if HINGE_HAVE_EIGEN
    using peer = eigen_wavenet<Model>;
#endif
};

template <class Model>
struct lstm_workload {
    using net = typename Model::template network<1>;
    static constexpr bool is_lstm = true;
    static double macs() { return lstm_macs(Model::hidden, Model::layers); }
    static std::vector<float> weights() { return lstm_weights(Model::hidden, Model::layers, 2); }

    struct fixture {
        std::vector<float> weights = lstm_workload::weights();
        std::unique_ptr<hn::parameters<net>> params = std::make_unique<hn::parameters<net>>();
        typename Model::initial_state init;
        fixture() {
            nam::model_file f;
            f.source = "<bench/nam.cpp>";
            f.version = "0.5.4";
            f.architecture = "LSTM";
            f.lstm = Model::config();
            f.weights = weights;
            init = Model::load(f, *params);
        }
        // From the stored state, as NAM starts.
        std::unique_ptr<hn::stream<net>> make_stream() const {
            auto s = std::make_unique<hn::stream<net>>();
            Model::start(*s, init);
            return s;
        }
    };
#if HINGE_HAVE_EIGEN
    using peer = eigen_lstm<int(Model::hidden), int(Model::layers)>;
#endif
};

template <class Workload>
typename Workload::fixture& shared() {
    static const std::unique_ptr<typename Workload::fixture> f = std::make_unique<typename Workload::fixture>();
    return *f;
}

// What a registered row needs for the table.
struct row_info {
    double macs;
    std::size_t block;
};
std::map<std::string, row_info>& rows() {
    static std::map<std::string, row_info> table;
    return table;
}

void set_counters(benchmark::State& state, std::size_t block, double macs) {
    using C = benchmark::Counter;
    state.counters["ns_per_sample"] = C(double(block) * 1e-9, C::kIsIterationInvariantRate | C::kInvert);
    state.counters["x_realtime"] = C(double(block) / sample_rate, C::kIsIterationInvariantRate);
    state.counters["MAC_per_sample"] = C(macs);
    hinge_bench::set_flops(state, 2.0 * macs * double(block));
}

// One block of `block` samples per iteration, cycling through the signal.
template <class Workload>
void time_hinge(benchmark::State& state, std::size_t block) {
    const auto& f = shared<Workload>();
    auto s = f.make_stream();
    const std::vector<float>& x = input_signal();
    std::vector<float> y(block);
    std::size_t at = 0;
    for (auto _ : state) {
        s->process(*f.params, std::span<const float>(x.data() + at, block), std::span<float>(y));
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        at = at + 2 * block > signal_length ? 0 : at + block;
    }
    set_counters(state, block, Workload::macs());
}

#if HINGE_HAVE_EIGEN
template <class Workload>
void time_eigen(benchmark::State& state, std::size_t block) {
    auto peer = std::make_unique<typename Workload::peer>(shared<Workload>().weights, int(block));
    const std::vector<float>& x = input_signal();
    std::vector<float> y(block);
    std::size_t at = 0;
    for (auto _ : state) {
        peer->process(x.data() + at, y.data(), int(block));
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
        at = at + 2 * block > signal_length ? 0 : at + block;
    }
    set_counters(state, block, Workload::macs());
}
#endif

constexpr std::size_t blocks[] = {1, 64, largest_block};

// hinge's stream on the first checked_samples samples (blocks of 64; a stream's output does not
// depend on the block), then every peer at every block size against it.
template <class Workload>
void verify_workload(const std::string& name) {
    const auto& f = shared<Workload>();
    const std::vector<float>& x = input_signal();
    std::vector<float> expected(checked_samples);
    {
        auto s = f.make_stream();
        for (std::size_t t = 0; t < checked_samples; t += 64)
            s->process(*f.params, std::span<const float>(x.data() + t, 64), std::span<float>(expected.data() + t, 64));
    }
    double peak = 0, mean = 0;
    for (float v : expected) {
        if (!std::isfinite(v)) fail(name + "/hinge: a non-finite output");
        peak = std::max(peak, double(std::fabs(v)));
        mean += double(v) / double(checked_samples);
    }
    double spread = 0;
    for (float v : expected) spread = std::max(spread, std::fabs(double(v) - mean));
    // Non-trivial: the output moves (a dead model, all constant, would measure nothing) and is bounded.
    if (!(spread > 1e-3 && peak < 10))
        fail(name + ": the output is trivial or unbounded (peak " + hinge_bench::number(peak) +
             ", largest distance from the mean " + hinge_bench::number(spread) + ")");
#if HINGE_HAVE_EIGEN
    double worst = 0;
    for (std::size_t block : blocks) {
        auto peer = std::make_unique<typename Workload::peer>(f.weights, int(block));
        std::vector<float> y(checked_samples);
        for (std::size_t t = 0; t < checked_samples; t += block) peer->process(x.data() + t, y.data() + t, int(block));
        for (std::size_t t = 0; t < checked_samples; ++t) {
            const double error = std::fabs(double(y[t]) - double(expected[t]));
            if (!(error <= 1e-5 * peak))
                fail(name + "/eigen at block " + std::to_string(block) + ": sample " + std::to_string(t) + " is " +
                     hinge_bench::number(y[t]) + ", hinge's stream says " + hinge_bench::number(expected[t]) +
                     " (output peak " + hinge_bench::number(peak) + ")");
            worst = std::max(worst, error);
        }
    }
    std::fprintf(stderr, "%s: output peak %.4f; the Eigen peer at blocks 1, 64, 512 within %.2g of hinge's stream\n",
                 name.c_str(), peak, worst);
#else
    std::fprintf(stderr, "%s: output peak %.4f (no Eigen peer in this build)\n", name.c_str(), peak);
#endif
}

template <class Workload>
void register_workload(const std::string& name) {
    for (std::size_t block : blocks) {
        const std::string w = name + "_block" + std::to_string(block);
        const double flops = 2.0 * Workload::macs() * double(block);
        rows()[w + "/hinge"] = {Workload::macs(), block};
        add(w + "/hinge", flops, [block](benchmark::State& s) { time_hinge<Workload>(s, block); });
#if HINGE_HAVE_EIGEN
        rows()[w + "/eigen"] = {Workload::macs(), block};
        add(w + "/eigen", flops, [block](benchmark::State& s) { time_eigen<Workload>(s, block); });
#endif
    }
}

namespace standard = nam::standard;
template <class Model>
using fast = typename Model::template with_activation<nam::fast_tanh>;

using wavenet_standard_fast = wavenet_workload<fast<standard::wavenet_standard>>;
using wavenet_standard_exact = wavenet_workload<standard::wavenet_standard>;
using wavenet_lite_fast = wavenet_workload<fast<standard::wavenet_lite>>;
using wavenet_feather_fast = wavenet_workload<fast<standard::wavenet_feather>>;
using wavenet_nano_fast = wavenet_workload<fast<standard::wavenet_nano>>;
using lstm_standard_fast = lstm_workload<standard::lstm_standard::fast>;
using lstm_lite_fast = lstm_workload<standard::lstm_lite::fast>;
using lstm_feather_fast = lstm_workload<standard::lstm_feather::fast>;
using lstm_nano_fast = lstm_workload<standard::lstm_nano::fast>;

void verify() {
    verify_workload<wavenet_standard_fast>("wavenet_standard_fast");
    verify_workload<wavenet_standard_exact>("wavenet_standard_exact");
    verify_workload<wavenet_lite_fast>("wavenet_lite_fast");
    verify_workload<wavenet_feather_fast>("wavenet_feather_fast");
    verify_workload<wavenet_nano_fast>("wavenet_nano_fast");
    verify_workload<lstm_standard_fast>("lstm_standard_fast");
    verify_workload<lstm_lite_fast>("lstm_lite_fast");
    verify_workload<lstm_feather_fast>("lstm_feather_fast");
    verify_workload<lstm_nano_fast>("lstm_nano_fast");
}

void register_benchmarks() {
    register_workload<wavenet_standard_fast>("wavenet_standard_fast");
    register_workload<wavenet_standard_exact>("wavenet_standard_exact");
    register_workload<wavenet_lite_fast>("wavenet_lite_fast");
    register_workload<wavenet_feather_fast>("wavenet_feather_fast");
    register_workload<wavenet_nano_fast>("wavenet_nano_fast");
    register_workload<lstm_standard_fast>("lstm_standard_fast");
    register_workload<lstm_lite_fast>("lstm_lite_fast");
    register_workload<lstm_feather_fast>("lstm_feather_fast");
    register_workload<lstm_nano_fast>("lstm_nano_fast");
}

// The per-sample table: medians of CPU time per block over the block.
void print_nam_table(std::FILE* out, const hinge_bench::recording_reporter& reporter) {
    const auto summaries = reporter.summaries();
    if (summaries.empty()) return;
    double peak = 0;
    std::map<std::string, double> median_of;
    for (const auto& [name, s] : summaries) {
        median_of[name] = s.median;
        if (name == hinge_bench::peak_name) peak = hinge_bench::flops_per_iteration().at(name) / s.min;
    }
    std::fprintf(out,
                 "\nPer sample (medians of CPU time per block / block; bound = multiply-adds at %.1f GFLOP/s, "
                 "the fastest peak_fma/float repetition; real time at %.0f kHz)\n",
                 peak * 1e-9, sample_rate * 1e-3);
    std::fprintf(out, "%-36s %-6s %10s %10s %8s %9s %10s %8s %12s\n", "workload", "impl", "ns/sample", "x realtime",
                 "% core", "MAC/smp", "bound ns", "/bound", "hinge/eigen");
    for (const auto& [name, s] : summaries) {
        const auto info = rows().find(name);
        if (info == rows().end()) continue;
        const std::size_t slash = name.rfind('/');
        const std::string workload = name.substr(0, slash), impl = name.substr(slash + 1);
        const double ns = s.median / double(info->second.block) * 1e9;
        const double bound = peak > 0 ? 2.0 * info->second.macs / peak * 1e9 : 0;
        char ratio[16] = "-";
        if (impl == "hinge" && median_of.count(workload + "/eigen"))
            std::snprintf(ratio, sizeof ratio, "%.3f", s.median / median_of.at(workload + "/eigen"));
        std::fprintf(out, "%-36s %-6s %10.1f %10.1f %8.2f %9.0f %10.1f %8.2f %12s\n", workload.c_str(), impl.c_str(), ns,
                     1e9 / (ns * sample_rate), 100.0 * ns * sample_rate * 1e-9, info->second.macs, bound,
                     bound > 0 ? ns / bound : 0.0, ratio);
    }
    std::fflush(out);
}

}  // namespace

int main(int argc, char** argv) { return hinge_bench::main(argc, argv, &register_benchmarks, &verify, &print_nam_table); }
