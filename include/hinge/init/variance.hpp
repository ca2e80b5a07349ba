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
#include <hinge/core/stage.hpp>
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
// straight into a normalising stage (dense, batch_norm, relu), the activation after that one.
template <class Net, std::size_t I>
constexpr auto following_activation() {
    using S = typename Net::template stage<I>;
    if constexpr (I + 1 < Net::stage_count && std::is_same_v<typename S::activation, identity>) {
        using Next = typename Net::template stage<I + 1>;
        if constexpr (stage_property::normalizes<typename Next::layer_type>)
            return std::type_identity<typename Next::activation>{};
        else
            return std::type_identity<identity>{};
    } else {
        return std::type_identity<typename S::activation>{};
    }
}
template <class Net, std::size_t I>
using following_activation_t = typename decltype(following_activation<Net, I>())::type;

// Fills params, stage by stage, each tensor by the law its layer declares (core/stage.hpp): a
// fan_scaled weight drawn with the variance choose(index) returns (index =
// std::integral_constant<std::size_t, I>), output by output, input by input; constants; zero
// elsewhere, padding included. A layer with its own initialize(view, generator, variance) (gru,
// lstm) draws its tensors itself.
//
// The draws come from one generator, stage by stage, so the result is a function of the seed
// alone: bit-identical on every run (for a given libm, since the normal draws use log, sqrt and
// cos).
// One tensor by its law: constants, or fan_scaled weights drawn with variance `var`, output by
// output, input by input. Not per stage: one function for every tensor of every network.
template <class T>
void fill_tensor(T* values, const tensor_spec& t, random_generator& generator, double var, distribution law) noexcept {
    if (t.initial == initial_values::constant) {
        for (std::size_t o = 0; o < t.blocks * t.units; ++o) values[t.template element<T>(o, 0)] = static_cast<T>(t.value);
    } else if (t.initial == initial_values::fan_scaled) {
        const std::size_t fan_in = t.fan_in == 0 ? 1 : t.fan_in;
        if (law == distribution::normal) {
            const double deviation = std::sqrt(var);
            for (std::size_t o = 0; o < t.blocks * t.units; ++o)
                for (std::size_t in = 0; in < fan_in; ++in)
                    values[t.template element<T>(o, in)] = static_cast<T>(deviation * generator.normal());
        } else {
            const double bound = std::sqrt(3.0 * var);
            for (std::size_t o = 0; o < t.blocks * t.units; ++o)
                for (std::size_t in = 0; in < fan_in; ++in)
                    values[t.template element<T>(o, in)] = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
        }
    }
}

// Fills params, stage by stage, each tensor by the law its layer declares (core/stage.hpp): a
// fan_scaled weight drawn with the variance choose(index) returns (index =
// std::integral_constant<std::size_t, I>); constants; zero elsewhere, padding included. A layer
// with its own initialize(view, generator, variance) (gru, lstm) draws its tensors itself.
//
// The draws come from one generator, stage by stage, so the result is a function of the seed
// alone: bit-identical on every run (for a given libm, since the normal draws use log, sqrt and
// cos).
template <class Net, class T, class Choose>
void fill(parameters<Net, T>& params, std::uint64_t seed, distribution law, Choose choose) noexcept {
    using LT = layout<Net, T>;
    random_generator generator(seed);
    params.fill_zero();
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using L = typename Net::template stage<i>::layer_type;
        constexpr stage_layout s = LT::stages[i];
        constexpr bool draws = [] {
            constexpr stage_layout own = LT::stages[i];
            for (std::size_t k = own.first_tensor; k < own.first_tensor + own.tensor_count; ++k)
                if (LT::tensors[k].initial == initial_values::fan_scaled) return true;
            return false;
        }();
        const double var = [&] {
            if constexpr (draws) return static_cast<double>(choose(index));
            else return 0.0;
        }();
        if constexpr (requires { L::initialize(params.template layer<i>(), generator, var); }) {
            L::initialize(params.template layer<i>(), generator, var);
        } else {
            for (std::size_t k = s.first_tensor; k < s.first_tensor + s.tensor_count; ++k)
                fill_tensor(params.data() + LT::tensor_offsets[k], LT::tensors[k], generator, var, law);
        }
    });
}

// The same scheme for every fan-scaled weight; he takes the slope of the activation after each layer.
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
