#pragma once
// The names of activations in architecture descriptions (io/architecture.hpp), apart so that a
// layer that names activations in its own description (gated<A, B>) can use them without io.
#include <string_view>

#include <hinge/activations/elu.hpp>
#include <hinge/activations/gelu.hpp>
#include <hinge/activations/hard_swish.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/noisy_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/relu6.hpp>
#include <hinge/activations/selu.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/silu.hpp>
#include <hinge/activations/softplus.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/core/description.hpp>

namespace hinge::io {

// ---- activation names ------------------------------------------------------------------------

// The name of an activation in architecture descriptions. Parameterised activations append their
// constant as float bits (see activation_parameter below).
template <class A>
struct activation_name {
    // An error here means the network uses an activation that io/ does not know: give it a
    // member `static constexpr const char* name = "my_activation";` or specialise
    // hinge::io::activation_name<A> with `static constexpr std::string_view value`.
    static_assert(requires { A::name; },
                  "hinge::io::activation_name<A>: A needs a stable name for parameter files, because the "
                  "architecture fingerprint must not depend on the compiler; add "
                  "`static constexpr const char* name = \"...\";` to A");
    static constexpr std::string_view value = A::name;
};
template <> struct activation_name<identity> { static constexpr std::string_view value = "identity"; };
template <> struct activation_name<relu> { static constexpr std::string_view value = "relu"; };
template <> struct activation_name<prelu> { static constexpr std::string_view value = "prelu"; };
template <> struct activation_name<relu6> { static constexpr std::string_view value = "relu6"; };
template <> struct activation_name<selu> { static constexpr std::string_view value = "selu"; };
template <> struct activation_name<sigmoid> { static constexpr std::string_view value = "sigmoid"; };
template <> struct activation_name<hinge::tanh> { static constexpr std::string_view value = "tanh"; };
template <> struct activation_name<gelu> { static constexpr std::string_view value = "gelu"; };
template <> struct activation_name<gelu_tanh> { static constexpr std::string_view value = "gelu_tanh"; };
template <> struct activation_name<silu> { static constexpr std::string_view value = "silu"; };
template <> struct activation_name<softplus> { static constexpr std::string_view value = "softplus"; };
template <> struct activation_name<hard_swish> { static constexpr std::string_view value = "hard_swish"; };
template <float S> struct activation_name<leaky_relu<S>> { static constexpr std::string_view value = "leaky_relu"; };
template <float A> struct activation_name<elu<A>> { static constexpr std::string_view value = "elu"; };
template <float S> struct activation_name<noisy_relu<S>> { static constexpr std::string_view value = "noisy_relu"; };

// The constant of a parameterised activation, as a (name, value) pair; none for the others.
template <class A>
struct activation_parameter {
    static constexpr bool present = false;
};
template <float S>
struct activation_parameter<leaky_relu<S>> {
    static constexpr bool present = true;
    static constexpr std::string_view key = "slope";
    static constexpr float value = S;
};
template <float A>
struct activation_parameter<elu<A>> {
    static constexpr bool present = true;
    static constexpr std::string_view key = "alpha";
    static constexpr float value = A;
};
template <float S>
struct activation_parameter<noisy_relu<S>> {
    static constexpr bool present = true;
    static constexpr std::string_view key = "sigma";
    static constexpr float value = S;
};

// An activation as descriptions write it: its name, and its constant if it has one.
template <class Out, class A>
constexpr void put_activation(Out& out) {
    description::put(out, activation_name<A>::value);
    if constexpr (activation_parameter<A>::present) {
        out.put('(');
        description::put(out, activation_parameter<A>::key);
        out.put(' ');
        description::put_float_bits(out, activation_parameter<A>::value);
        out.put(')');
    }
}

}  // namespace hinge::io
