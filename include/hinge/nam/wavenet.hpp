#pragma once
// Neural Amp Modeler's "A1" WaveNet as a hinge type, and the loading of a .nam file's weights
// into it.
//
// NAM's WaveNet is a list of layer arrays. Array k reads the network input (k = 0) or the last
// residual value of array k - 1, and computes
//
//   h = R in                                       1x1 "rechannel", no bias
//   per layer, dilation d:
//     z = conv_d(h) + M x                          dilated causal conv (bias) + 1x1 mix-in of the
//                                                  raw input x (the condition), no bias
//     a = act(z)                                   (gated: act(first half) * sigmoid(second half))
//     s = s + a                                    the array's head sum
//     h = h + W a + b                              1x1 residual
//   head_k = Wh s (+ bh)                           array head; s starts at 0 in array 0 and at
//                                                  head_{k-1} in array k
//
// and the output is head_scale * head_{last}. In hinge's graph spelling (docs/graphs.md) a layer is
//
//   conv1d<C, K, 1, padding::causal, d>, tap<"z">,                the dilated conv of h
//   from<"input">, conv1d<C, 1>, add<"z">, act, accumulate<"sK">,  + the mix-in, activation, head sum
//   conv1d<C, 1>, add<"h">, tap<"h">                               the residual
//
// Spelled here:
//
//   namespace nam = hinge::nam;
//   using model = nam::a1_wavenet<nam::layer_array<3, 3, nam::dilations<1, 2>, 2, false>,
//                                 nam::layer_array<2, 3, nam::dilations<8>, 1, true>>;
//   using net = model::network<1>;                 // for a stream; network<L> for windows of L
//   auto params = std::make_unique<hinge::parameters<net>>();
//   model::load(nam::read_model_file("amp.nam"), *params);   // checks the config, then writes
//   hinge::stream<net> s;  nam::prewarm(s, *params, model::prewarm_samples);
//
// What hinge stores differently, and why:
// - NAM has no bias in the rechannel, the mix-in and (head_bias false) the head: those bias
//   slots of hinge's conv1d are set to zero.
// - head_scale is folded into the last head's weights and bias (one product fewer per sample).
// - The last layer of the last array has no residual here: NAM computes it, but nothing reads it,
//   and a value that no stage reads is a compile error in a hinge graph. Its weights are in the
//   file (and counted) but not loaded.
#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <hinge/activations/relu.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/core/graph.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/detail/index_loop.hpp>
#include <hinge/layers/convolution.hpp>
#include <hinge/layers/gated.hpp>
#include <hinge/layers/merge.hpp>
#include <hinge/nam/fast_tanh.hpp>
#include <hinge/nam/file.hpp>
#include <hinge/nam/prewarm.hpp>

namespace hinge::nam {

template <std::size_t... D>
struct dilations {
    static_assert(sizeof...(D) > 0, "nam::dilations<D...>: a layer array needs at least one layer");
    static_assert(((D > 0) && ...), "nam::dilations<D...>: every dilation must be at least 1");
    static constexpr std::array<std::size_t, sizeof...(D)> values{D...};
};

// One layer array: Channels, the kernel size, the dilations (one layer each), the head's channel
// count and whether it has a bias, the activation (hinge::tanh, or nam::fast_tanh for the NAM
// plugin's outputs) and NAM's "gated" (act(first half) * sigmoid(second half) of 2 * Channels).
// The condition is the raw input (condition_size 1), as in every NAM WaveNet.
template <std::size_t Channels, std::size_t Kernel, class Dilations, std::size_t HeadSize, bool HeadBias,
          class Activation = hinge::tanh, bool Gated = false>
struct layer_array {
    static_assert(Channels > 0 && Kernel > 0 && HeadSize > 0,
                  "nam::layer_array: Channels, Kernel and HeadSize must be at least 1");
    static constexpr std::size_t channels = Channels;
    static constexpr std::size_t kernel = Kernel;
    static constexpr std::size_t head_size = HeadSize;
    static constexpr bool head_bias = HeadBias;
    static constexpr bool gated = Gated;
    using dilation_list = Dilations;
    using activation = Activation;
    static constexpr std::size_t layers = Dilations::values.size();
};

// The same array with another activation: a model's fast-tanh twin.
template <class Array, class Activation>
struct with_activation_of;
template <std::size_t C, std::size_t K, class D, std::size_t H, bool B, class A, bool G, class Activation>
struct with_activation_of<layer_array<C, K, D, H, B, A, G>, Activation> {
    using type = layer_array<C, K, D, H, B, Activation, G>;
};

// NAM's name of an activation, as a config writes it. fast_tanh is "Tanh": NAM's fast tanh is an
// engine setting, not part of the file.
template <class A>
constexpr const char* activation_name() {
    if constexpr (std::is_same_v<A, hinge::tanh> || std::is_same_v<A, fast_tanh>) return "Tanh";
    else if constexpr (std::is_same_v<A, hinge::relu>) return "ReLU";
    else if constexpr (std::is_same_v<A, hinge::sigmoid>) return "Sigmoid";
    else {
        static_assert(std::is_same_v<A, hinge::tanh>,
                      "nam::layer_array: this activation has no NAM name here (Tanh, ReLU, Sigmoid), because a "
                      "config from a .nam file must be compared with it");
        return "";
    }
}

namespace detail {

// The name of array K's head sum, "s00", "s01", ...: one sum per array, so that array K + 1's sum
// starts afresh from array K's head.
template <std::size_t K>
constexpr value_name<4> sum_name() {
    static_assert(K < 100, "nam::a1_wavenet: at most 100 layer arrays");
    const char s[4] = {'s', char('0' + K / 10), char('0' + K % 10), '\0'};
    return value_name<4>(s);
}

template <class Array, std::size_t Dilation, value_name Sum, bool Residual>
struct wavenet_layer {
    static constexpr std::size_t C = Array::channels, Z = Array::gated ? 2 * C : C;
    using activation = std::conditional_t<Array::gated, gated<typename Array::activation, hinge::sigmoid>,
                                          typename Array::activation>;
    // A kernel of 1 has no past to pad: a plain 1x1 (a causal one of one tap has no ring to stream).
    using convolution = std::conditional_t<Array::kernel == 1, conv1d<Z, 1>,
                                           conv1d<Z, Array::kernel, 1, padding::causal, Dilation>>;
    // The dilated convolution reads h as the current value; the mix-in, which reads the input by
    // name, comes after it: save() adds the mix-in's bias into the dilated convolution's NAM bias,
    // which it has written by then (plan() keeps this order).
    using mix_and_convolve = sequential<convolution, tap<"z">, from<"input">, conv1d<Z, 1>, add<"z">, activation,
                                        accumulate<Sum>>;
    using type = std::conditional_t<Residual, sequential<mix_and_convolve, conv1d<C, 1>, add<"h">, tap<"h">>,
                                    mix_and_convolve>;
};

template <class Array, std::size_t K, bool Last, class Indices>
struct wavenet_array_layers;
template <class Array, std::size_t K, bool Last, std::size_t... L>
struct wavenet_array_layers<Array, K, Last, std::index_sequence<L...>> {
    using type = sequential<typename wavenet_layer<Array, Array::dilation_list::values[L], sum_name<K>(),
                                                   !(Last && L + 1 == Array::layers)>::type...>;
};

// Array K: its rechannel (from the network input, or from "h": the last residual of array K - 1,
// after starting this array's sum with the previous head), its layers, its head.
template <class Array, std::size_t K, bool Last>
struct wavenet_array {
    using start = std::conditional_t<K == 0, sequential<>, sequential<accumulate<sum_name<K>()>, from<"h">>>;
    using type =
        sequential<start, conv1d<Array::channels, 1>, tap<"h">,
                   typename wavenet_array_layers<Array, K, Last, std::make_index_sequence<Array::layers>>::type,
                   from<sum_name<K>()>, conv1d<Array::head_size, 1>>;
};

template <std::size_t Length, class Indices, class... Arrays>
struct wavenet_network;
template <std::size_t Length, std::size_t... K, class... Arrays>
struct wavenet_network<Length, std::index_sequence<K...>, Arrays...> {
    using type = network<input<Length, 1>, typename wavenet_array<Arrays, K, K + 1 == sizeof...(Arrays)>::type...>;
};

template <class V>
struct is_conv1d : std::false_type {};
template <std::size_t F, std::size_t K, std::size_t S, padding P, std::size_t D, std::size_t G>
struct is_conv1d<conv1d<F, K, S, P, D, G>> : std::true_type {};

// What a conv1d stage is in NAM's A1 WaveNet.
enum class nam_role { rechannel, mix_in, dilated, residual, head };

// Where one conv1d stage's values are in NAM's flat list (in stage order).
struct nam_piece {
    std::size_t weight = 0;       // first weight, [out][in][tap] as PyTorch stores it
    std::size_t bias = 0;         // first bias value, when has_bias; a mix-in's: its dilated convolution's
    bool has_bias = false;
    std::size_t kernel = 1;
    float scale = 1;              // head_scale for the last head
    nam_role role = nam_role::rechannel;
    bool last_array = false;
};

}  // namespace detail

// The model: its layer arrays, the hinge network for sequences of Length, NAM's config and
// weight count, and the loader.
template <class... Arrays>
struct a1_wavenet {
    static_assert(sizeof...(Arrays) > 0, "nam::a1_wavenet: a WaveNet needs at least one layer array");
    static constexpr std::size_t array_count = sizeof...(Arrays);

    template <std::size_t Length>
    using network =
        typename detail::wavenet_network<Length, std::make_index_sequence<sizeof...(Arrays)>, Arrays...>::type;

    // The same model with another activation in every array (e.g. nam::fast_tanh).
    template <class Activation>
    using with_activation = a1_wavenet<typename with_activation_of<Arrays, Activation>::type...>;

    // Inputs a step's output depends on: 1 + sum over layers of (K - 1) d.
    static constexpr std::size_t receptive_field = [] {
        std::size_t r = 1;
        (
            [&] {
                for (std::size_t d : Arrays::dilation_list::values) r += (Arrays::kernel - 1) * d;
            }(),
            ...);
        return r;
    }();
    // NAM's prewarm: zeros until the conv rings hold the zero-input response (more change nothing).
    static constexpr std::size_t prewarm_samples = receptive_field;

    // The config a .nam file must have to load into this type.
    static std::vector<layer_array_config> config() {
        std::vector<layer_array_config> c;
        std::size_t input = 1;
        (
            [&] {
                c.push_back({input, 1, Arrays::head_size, Arrays::channels, Arrays::kernel,
                             std::vector<std::size_t>(Arrays::dilation_list::values.begin(),
                                                      Arrays::dilation_list::values.end()),
                             activation_name<typename Arrays::activation>(), Arrays::gated, Arrays::head_bias});
                input = Arrays::channels;
            }(),
            ...);
        return c;
    }

    // The length of NAM's flat weight list, head_scale included.
    static constexpr std::size_t weight_count = [] {
        std::size_t n = 1, input = 1;
        (
            [&] {
                constexpr std::size_t C = Arrays::channels, Z = Arrays::gated ? 2 * C : C, K = Arrays::kernel;
                n += C * input + Arrays::layers * (Z * C * K + Z + Z * 1 + C * C + C) + Arrays::head_size * C +
                     (Arrays::head_bias ? Arrays::head_size : 0);
                input = C;
            }(),
            ...);
        return n;
    }();

    // Checks f against this type (architecture, config, weight count), then writes every weight
    // of params. On any mismatch it throws io::file_error naming the difference and leaves params
    // untouched. Net: network<L> for any L.
    template <class Net, class T>
    static void load(const model_file& f, parameters<Net, T>& params) {
        static_assert(std::is_same_v<Net, network<Net::input_shape::dimension(0)>>,
                      "nam::a1_wavenet::load: params must be parameters<model::network<L>>, because the weights "
                      "are placed by that network's stages");
        check(f);
        const std::vector<detail::nam_piece> pieces = plan(f.weights.back());
        std::size_t next = 0;  // the conv1d stage's number among conv1d stages
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t I = decltype(index)::value;
            if constexpr (detail::is_conv1d<typename Net::template placed<I>::layer_type>::value) {
                const detail::nam_piece& p = pieces[next++];
                const auto view = params.template layer<I>();
                using V = decltype(view);
                constexpr std::size_t out = V::output_width, in = V::input_width;
                const std::size_t channels = in / p.kernel;
                for (std::size_t o = 0; o < out; ++o) {
                    for (std::size_t c = 0; c < channels; ++c)
                        for (std::size_t k = 0; k < p.kernel; ++k)
                            view.weight(o, k * channels + c) =
                                static_cast<T>(p.scale * f.weights[p.weight + (o * channels + c) * p.kernel + k]);
                    view.bias(o) = p.has_bias ? static_cast<T>(p.scale * f.weights[p.bias + o]) : T(0);
                }
            }
        });
    }

    // The inverse of load: params as a .nam model (write it with nam::write_model_file), e.g. after
    // training. head_scale is the config's (NAM's trainer uses 0.02); the last head's weights and
    // bias are divided by it, as load multiplies them.
    //
    // hinge's conv1d has biases where NAM has none (the rechannel, the mix-in, a head without
    // head_bias); training moves them. They are constants added on a linear path, so they are
    // folded into biases NAM has: the mix-in's into the dilated convolution's; the rechannel's,
    // which rides along the residual path h, into every later dilated convolution (through its
    // taps) and the next array's rechannel; a bias-less head's into the next array's head. The
    // file then plays as params stream once both have seen the receptive field (the zeros of a
    // prewarm; before that hinge pads h with zeros where NAM's h would hold the constant). A
    // last head without head_bias but with a bias left is refused (io::file_error): NAM's model
    // has no place for it. The last residual, which no stage here computes, is written as zeros.
    // Set the file's sample_rate and metadata_json before writing.
    template <class Net, class T>
    static model_file save(const parameters<Net, T>& params, float head_scale = 0.02f) {
        static_assert(std::is_same_v<Net, network<Net::input_shape::dimension(0)>>,
                      "nam::a1_wavenet::save: params must be parameters<model::network<L>>, because the weights "
                      "are placed by that network's stages");
        if (!(head_scale != 0.0f)) throw io::file_error("nam::a1_wavenet::save: head_scale must not be zero");
        model_file f;
        f.version = "0.5.4";
        f.architecture = "WaveNet";
        f.wavenet = wavenet_config{config(), head_scale};
        f.metadata_json = "null";
        f.weights.assign(weight_count, 0.0f);
        f.weights.back() = head_scale;
        const std::vector<detail::nam_piece> pieces = plan(head_scale);
        // The constants riding on h (per channel of the current array) and on the head sum.
        std::vector<double> on_h, on_sum;
        std::size_t next = 0;
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr std::size_t I = decltype(index)::value;
            if constexpr (detail::is_conv1d<typename Net::template placed<I>::layer_type>::value) {
                using detail::nam_role;
                const detail::nam_piece& p = pieces[next++];
                const auto view = params.template layer<I>();
                using V = decltype(view);
                constexpr std::size_t out = V::output_width, in = V::input_width;
                const std::size_t channels = in / p.kernel;
                const auto weight = [&](std::size_t o, std::size_t c, std::size_t k) {
                    return double(view.weight(o, k * channels + c));
                };
                std::vector<double> bias(out);
                for (std::size_t o = 0; o < out; ++o) bias[o] = double(view.bias(o));
                switch (p.role) {
                case nam_role::rechannel: {  // h = R in + b: b rides on h from here on
                    std::vector<double> carried(out);
                    for (std::size_t o = 0; o < out; ++o) {
                        carried[o] = bias[o];
                        for (std::size_t c = 0; c < on_h.size(); ++c) carried[o] += weight(o, c, 0) * on_h[c];
                    }
                    on_h = std::move(carried);
                    bias.assign(out, 0.0);
                    break;
                }
                case nam_role::mix_in:  // added to the dilated convolution's sum: into its bias (p.bias)
                    for (std::size_t o = 0; o < out; ++o)
                        f.weights[p.bias + o] = static_cast<float>(double(f.weights[p.bias + o]) + bias[o]);
                    bias.assign(out, 0.0);
                    break;
                case nam_role::dilated:
                    for (std::size_t o = 0; o < out; ++o) {
                        for (std::size_t c = 0; c < channels; ++c)
                            for (std::size_t k = 0; k < p.kernel; ++k) bias[o] += weight(o, c, k) * on_h[c];
                    }
                    break;
                case nam_role::residual: break;  // NAM has this bias
                case nam_role::head: {
                    for (std::size_t o = 0; o < out; ++o)
                        for (std::size_t c = 0; c < on_sum.size(); ++c) bias[o] += weight(o, c, 0) * on_sum[c];
                    if (p.has_bias) {
                        on_sum.assign(out, 0.0);
                    } else {
                        on_sum = bias;  // rides into the next array's head sum
                        bias.assign(out, 0.0);
                        if (p.last_array)
                            for (double b : on_sum)
                                if (b != 0.0)
                                    throw io::file_error(
                                        "nam::a1_wavenet::save: the last head has a bias, and a config without "
                                        "head_bias has no place for it in a .nam file");
                    }
                    break;
                }
                }
                for (std::size_t o = 0; o < out; ++o) {
                    for (std::size_t c = 0; c < channels; ++c)
                        for (std::size_t k = 0; k < p.kernel; ++k)
                            f.weights[p.weight + (o * channels + c) * p.kernel + k] =
                                static_cast<float>(weight(o, c, k) / double(p.scale));
                    if (p.has_bias) f.weights[p.bias + o] = static_cast<float>(bias[o] / double(p.scale));
                }
            }
        });
        return f;
    }

    // Throws io::file_error when f is not this model.
    static void check(const model_file& f) {
        if (f.architecture != "WaveNet" || !f.wavenet)
            refuse(f, "architecture \"" + f.architecture + "\", the compiled type is a WaveNet");
        const std::vector<layer_array_config> expected = config();
        const std::vector<layer_array_config>& found = f.wavenet->layer_arrays;
        expect_config(f, "the number of layer arrays (config.layers)", found.size(), expected.size());
        for (std::size_t k = 0; k < expected.size(); ++k) {
            const layer_array_config &e = expected[k], &g = found[k];
            const std::string at = "config.layers[" + std::to_string(k) + "].";
            expect_config(f, at + "input_size", g.input_size, e.input_size);
            expect_config(f, at + "condition_size", g.condition_size, e.condition_size);
            expect_config(f, at + "channels", g.channels, e.channels);
            expect_config(f, at + "kernel_size", g.kernel_size, e.kernel_size);
            expect_config(f, at + "head_size", g.head_size, e.head_size);
            if (g.dilations != e.dilations) refuse(f, at + "dilations differ from the compiled type's");
            if (g.activation != e.activation)
                refuse(f,
                       at + "activation is \"" + g.activation + "\", the compiled type has \"" + e.activation + "\"");
            expect_config(f, at + "gated", g.gated, e.gated);
            expect_config(f, at + "head_bias", g.head_bias, e.head_bias);
        }
        // The weight count follows from the config; a different one is a damaged file.
        expect_config(f, "the weight count", f.weights.size(), weight_count);
    }

private:
    // Every conv1d stage's place in NAM's flat list, in the order the network's stages come.
    static std::vector<detail::nam_piece> plan(float head_scale) {
        std::vector<detail::nam_piece> pieces;
        std::size_t at = 0, input = 1, array = 0;
        (
            [&] {
                constexpr std::size_t C = Arrays::channels, Z = Arrays::gated ? 2 * C : C, K = Arrays::kernel;
                const bool last_array = ++array == sizeof...(Arrays);
                using detail::nam_role;
                pieces.push_back({at, 0, false, 1, 1.0f, nam_role::rechannel, last_array});
                at += C * input;
                for (std::size_t l = 0; l < Arrays::layers; ++l) {
                    const std::size_t conv = at, conv_bias = conv + Z * C * K, mix = conv_bias + Z,
                                      residual = mix + Z, residual_bias = residual + C * C;
                    at = residual_bias + C;
                    pieces.push_back({conv, conv_bias, true, K, 1.0f, nam_role::dilated, last_array});
                    pieces.push_back({mix, conv_bias, false, 1, 1.0f, nam_role::mix_in, last_array});
                    if (!(last_array && l + 1 == Arrays::layers))
                        pieces.push_back({residual, residual_bias, true, 1, 1.0f, nam_role::residual, last_array});
                }
                pieces.push_back(
                    {at, at + Arrays::head_size * C, Arrays::head_bias, 1, 1.0f, nam_role::head, last_array});
                at += Arrays::head_size * C + (Arrays::head_bias ? Arrays::head_size : 0);
                input = C;
            }(),
            ...);
        // NAM reads head_scale from the end of the weight list (the config repeats it); it
        // multiplies the last head.
        pieces.back().scale = head_scale;
        return pieces;
    }
};

}  // namespace hinge::nam
