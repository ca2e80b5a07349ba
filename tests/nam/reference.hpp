#pragma once
// NAM's models computed directly from a .nam file's config and flat weight list, in double, as
// the data folder's README states them: what hinge's types and the player are compared with
// where NAM Core's own outputs are not at hand (random weights, other sizes). Also a random
// model file, a test input and the text of a refusal.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <hinge/nam/file.hpp>

namespace hinge_nam_test {

namespace nam = hinge::nam;

// NAM's A1 WaveNet computed directly from the config and the flat weight list, in double, as the
// data folder's README states it (the gated form: act(first half) * sigmoid(second half)). It
// starts from a zero history and sees the leading zeros of x as its prewarm.
inline std::vector<double> reference_wavenet(const nam::model_file& f, const std::vector<float>& x) {
    const std::size_t T = x.size();
    std::size_t at = 0;
    const auto take = [&](std::size_t n) { at += n; return f.weights.data() + at - n; };
    using signal = std::vector<std::vector<double>>;  // [channel][time]
    const signal condition{std::vector<double>(x.begin(), x.end())};
    signal in = condition, head;
    for (const nam::layer_array_config& a : f.wavenet->layer_arrays) {
        if (a.activation != "Tanh")  // the activation below is tanh; another would be compared with the wrong one
            throw std::invalid_argument("reference_wavenet: only Tanh layer arrays, found " + a.activation);
        const std::size_t C = a.channels, Z = a.gated ? 2 * C : C, K = a.kernel_size;
        const float* rechannel = take(C * a.input_size);
        signal h(C, std::vector<double>(T, 0.0));
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t i = 0; i < a.input_size; ++i)
                for (std::size_t t = 0; t < T; ++t) h[c][t] += rechannel[c * a.input_size + i] * in[i][t];
        signal sum = head.empty() ? signal(C, std::vector<double>(T, 0.0)) : head;
        for (std::size_t d : a.dilations) {
            const float *conv = take(Z * C * K), *conv_bias = take(Z), *mix = take(Z * a.condition_size);
            const float *residual = take(C * C), *residual_bias = take(C);
            signal z(Z, std::vector<double>(T, 0.0));
            for (std::size_t o = 0; o < Z; ++o)
                for (std::size_t t = 0; t < T; ++t) {
                    double v = conv_bias[o] + mix[o] * condition[0][t];
                    for (std::size_t c = 0; c < C; ++c)
                        for (std::size_t k = 0; k < K; ++k) {
                            const std::size_t back = d * (K - 1 - k);
                            if (t >= back) v += conv[(o * C + c) * K + k] * h[c][t - back];
                        }
                    z[o][t] = v;
                }
            signal act(C, std::vector<double>(T));
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t t = 0; t < T; ++t)
                    act[c][t] = a.gated ? std::tanh(z[c][t]) / (1 + std::exp(-z[C + c][t])) : std::tanh(z[c][t]);
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t t = 0; t < T; ++t) {
                    sum[c][t] += act[c][t];
                    double r = residual_bias[c];
                    for (std::size_t j = 0; j < C; ++j) r += residual[c * C + j] * act[j][t];
                    h[c][t] += r;
                }
        }
        const float* head_weight = take(a.head_size * C);
        const float* head_bias = a.head_bias ? take(a.head_size) : nullptr;
        head.assign(a.head_size, std::vector<double>(T, 0.0));
        for (std::size_t o = 0; o < a.head_size; ++o)
            for (std::size_t t = 0; t < T; ++t) {
                double v = head_bias ? head_bias[o] : 0.0;
                for (std::size_t c = 0; c < C; ++c) v += head_weight[o * C + c] * sum[c][t];
                head[o][t] = v;
            }
        in = h;
    }
    const double head_scale = *take(1);
    BOOST_TEST_REQUIRE(at == f.weights.size());
    std::vector<double> y(T);
    for (std::size_t t = 0; t < T; ++t) y[t] = head_scale * head[0][t];
    return y;
}

// NAM's LSTM from the flat weight list, in double, from the stored state.
inline std::vector<double> reference_lstm(const nam::model_file& f, const std::vector<float>& x) {
    const std::size_t H = f.lstm->hidden_size, L = f.lstm->num_layers;
    std::size_t at = 0;
    const auto take = [&](std::size_t n) { at += n; return f.weights.data() + at - n; };
    struct layer { const float *w, *b; std::vector<double> h, c; std::size_t in; };
    std::vector<layer> layers;
    for (std::size_t l = 0; l < L; ++l) {
        const std::size_t in = l == 0 ? 1 : H;
        const float* w = take(4 * H * (in + H));
        const float* b = take(4 * H);
        const float* h = take(H);
        const float* c = take(H);
        layers.push_back({w, b, std::vector<double>(h, h + H), std::vector<double>(c, c + H), in});
    }
    const float* head = take(H);
    const double head_bias = *take(1);
    BOOST_TEST_REQUIRE(at == f.weights.size());
    const auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
    std::vector<double> y;
    for (float sample : x) {
        std::vector<double> input{sample};
        for (layer& l : layers) {
            std::vector<double> g(4 * H);
            for (std::size_t r = 0; r < 4 * H; ++r) {
                g[r] = l.b[r];
                for (std::size_t i = 0; i < l.in; ++i) g[r] += l.w[r * (l.in + H) + i] * input[i];
                for (std::size_t j = 0; j < H; ++j) g[r] += l.w[r * (l.in + H) + l.in + j] * l.h[j];
            }
            for (std::size_t j = 0; j < H; ++j) {
                l.c[j] = sigmoid(g[H + j]) * l.c[j] + sigmoid(g[j]) * std::tanh(g[2 * H + j]);
                l.h[j] = sigmoid(g[3 * H + j]) * std::tanh(l.c[j]);
            }
            input = l.h;
        }
        double v = head_bias;
        for (std::size_t j = 0; j < H; ++j) v += head[j] * input[j];
        y.push_back(v);
    }
    return y;
}

// A model file of the compiled type's config with weights in [-0.5, 0.5] from a fixed seed.
inline nam::model_file random_model_file(std::size_t count, std::uint64_t seed) {
    nam::model_file f;
    f.source = "<random>";
    f.version = "0.5.4";
    std::uint64_t s = seed;
    for (std::size_t k = 0; k < count; ++k) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        f.weights.push_back(static_cast<float>(static_cast<double>(s >> 40) / double(1ull << 24)) - 0.5f);
    }
    return f;
}

// The text of the io::file_error that f raises, or "" when it raises none.
template <class F>
std::string refusal(F&& f) {
    try {
        f();
    } catch (const hinge::io::file_error& e) {
        return e.what();
    }
    return "";
}

// An input of noise and a tone, after `zeros` zeros (the prewarm).
inline std::vector<float> test_input(std::size_t zeros, std::size_t length) {
    std::vector<float> x(zeros + length, 0.0f);
    for (std::size_t t = 0; t < length; ++t)
        x[zeros + t] =
            0.4f * std::sin(0.05f * static_cast<float>(t)) + 0.2f * std::sin(1.7f * static_cast<float>(t * t % 97));
    return x;
}

}  // namespace hinge_nam_test
