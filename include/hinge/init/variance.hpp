#pragma once
// What every initialiser shares: the variance of each scheme, what an activation asks for (its
// preferred scheme and its negative slope, for the He gain), and the loop that fills a parameter
// block stage by stage from one seeded generator.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <hinge/activations/concepts.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/core/concepts.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/random.hpp>
#include <hinge/init/scheme.hpp>

namespace hinge::init {

// The scheme an activation prefers: its member preferred_initialisation if it has one, else he,
// the right default for the ReLU family (relu, leaky_relu, prelu, relu6, elu, gelu, silu, ...).
template <class Activation>
inline constexpr scheme preferred_scheme = [] {
    if constexpr (requires { Activation::preferred_initialisation; })
        return static_cast<scheme>(Activation::preferred_initialisation);
    else
        return scheme::he;
}();
// identity is declared with the core (activations/identity.hpp), so its preference is stated here:
// a layer with no nonlinearity after it keeps variance best with Glorot's compromise.
template <>
inline constexpr scheme preferred_scheme<identity> = scheme::glorot;

// The slope a of a rectifier's negative side, which enters the He gain 2 / (1 + a^2): leaky_relu
// exposes it as negative_slope, prelu its starting value as initial_slope; 0 for everything else.
template <class Activation>
inline constexpr double negative_slope = [] {
    if constexpr (requires { Activation::negative_slope; })
        return static_cast<double>(Activation::negative_slope);
    else if constexpr (requires { Activation::initial_slope; })
        return static_cast<double>(Activation::initial_slope);
    else
        return 0.0;
}();

// Var W for a layer with fan_in inputs and fan_out outputs. The slope a only enters he: Glorot's
// and LeCun's rules are stated for activations that are linear near 0.
constexpr double variance(scheme s, std::size_t fan_in, std::size_t fan_out, double a = 0.0) noexcept {
    const double in = static_cast<double>(fan_in);
    switch (s) {
        case scheme::he: return 2.0 / ((1.0 + a * a) * in);
        case scheme::glorot: return 2.0 / (in + static_cast<double>(fan_out));
        case scheme::lecun: return 1.0 / in;
    }
    return 0.0;
}

enum class distribution {
    normal,   // N(0, Var)
    uniform,  // U(-sqrt(3 Var), sqrt(3 Var)), the uniform law with the same variance
};

namespace detail {

// The activation that follows stage I's layer: the stage's own, or, when the layer's output goes
// straight into a batch_norm stage (dense, batch_norm, relu), the activation after that one.
template <class Net, std::size_t I>
constexpr auto following_activation() {
    using S = typename Net::template stage<I>;
    if constexpr (I + 1 < Net::stage_count && std::is_same_v<typename S::activation, identity>) {
        using Next = typename Net::template stage<I + 1>;
        if constexpr (normalization_layer<typename Next::layer_type>)
            return std::type_identity<typename Next::activation>{};
        else
            return std::type_identity<identity>{};
    } else {
        return std::type_identity<typename S::activation>{};
    }
}
template <class Net, std::size_t I>
using following_activation_t = typename decltype(following_activation<Net, I>())::type;

// Fills params: for every dense or convolution stage I, weights drawn with the variance choose(index) returns
// (index = std::integral_constant<std::size_t, I>), biases zero; recurrent stages as below; for batch_norm stages scale 1,
// shift 0, running mean 0 and running variance 1; learned activation slopes (prelu) their
// initial_slope; padding zero.
//
// The draws come from one generator, stage by stage, output by output, input by input, so the
// result is a function of the seed alone: bit-identical on every run (for a given libm, since the
// normal draws use log, sqrt and cos).
template <class Net, class T, class Choose>
void fill(parameters<Net, T>& params, std::uint64_t seed, distribution law, Choose choose) noexcept {
    random_generator generator(seed);
    params.fill_zero();
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = typename S::layer_type;
        auto view = params.template layer<i>();
        if constexpr (affine_layer<L>) {
            const double var = choose(index);
            if (law == distribution::normal) {
                const double deviation = std::sqrt(var);
                for (std::size_t o = 0; o < view.output_width; ++o)
                    for (std::size_t in = 0; in < view.input_width; ++in)
                        view.weight(o, in) = static_cast<T>(deviation * generator.normal());
            } else {
                const double bound = std::sqrt(3.0 * var);
                for (std::size_t o = 0; o < view.output_width; ++o)
                    for (std::size_t in = 0; in < view.input_width; ++in)
                        view.weight(o, in) = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
            }
        } else if constexpr (normalization_layer<L>) {
            for (std::size_t o = 0; o < view.output_width; ++o) {
                view.scale(o) = T(1);
                view.running_variance(o) = T(1);
            }
        } else if constexpr (recurrent_layer<L>) {
            // Recurrent layers take PyTorch's law whatever the scheme: W_ih and W_hh ~ U(-k, k),
            // k = 1 / sqrt(Hidden), known to train gru and lstm (the gates are sigmoids, so He's
            // gain does not apply). Biases start at 0, except lstm's forget gate at 1, so that the
            // cell keeps its memory from the first steps on (Jozefowicz et al. 2015).
            const double bound = 1.0 / std::sqrt(static_cast<double>(view.output_width));
            for (std::size_t o = 0; o < view.gate_rows; ++o) {
                for (std::size_t in = 0; in < view.input_width; ++in)
                    view.weight_ih(o, in) = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
                for (std::size_t h = 0; h < view.output_width; ++h)
                    view.weight_hh(o, h) = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
            }
            if constexpr (L::has_cell_state)
                for (std::size_t o = 0; o < view.output_width; ++o) view.bias_ih(view.output_width + o) = T(1);
        }
        if constexpr (has_learned_slope<typename S::activation>)
            for (std::size_t o = 0; o < view.output_width; ++o)
                view.slope(o) = static_cast<T>(S::activation::initial_slope);
    });
}

// The same scheme for every dense stage; he takes the slope of the activation after each layer.
template <class Net, class T>
void fill_with(parameters<Net, T>& params, std::uint64_t seed, scheme s, distribution law) noexcept {
    fill(params, seed, law, [s](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        return variance(s, S::input_width, S::fan_out, negative_slope<following_activation_t<Net, i>>);
    });
}

}  // namespace detail
}  // namespace hinge::init
