#pragma once
#include <hinge/activations/value_ops.hpp>
#include <hinge/init/scheme.hpp>

namespace hinge {

// tanh: f(z) = tanh(z), with values in (-1, 1); zero-centred, unlike sigmoid.
//
// Derivative: f'(z) = 1 - y^2, computed from the stored output y as (1 - y)(1 + y), which avoids
// the cancellation of 1 - y^2 near |y| = 1. At most 1 (at z = 0), and it vanishes in both tails,
// so deep tanh stacks also lose their gradient, more slowly than sigmoid ones.
//
// The name: hinge::tanh is a type and std::tanh / ::tanh are functions, so they never meet when
// qualified (hn::tanh in a network's type list, std::tanh(x) in code). Inside namespace hinge,
// code calls hinge::math::tanh, never an unqualified tanh(x). The one thing to avoid is
// `using namespace hinge;` next to an unqualified call tanh(x): the class and the C function
// are then both visible and the call is ambiguous. Use `namespace hn = hinge;`.
//
// NaN: NaN in, NaN out on every path. f(+-inf) = +-1 with derivative 0.
struct tanh {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;
    static constexpr init::scheme preferred_initialisation = init::scheme::glorot;

    template <class V>
    static V forward(V z) noexcept {
        return math::tanh(z);
    }
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return (V(1) - y) * (V(1) + y);
    }
};

}  // namespace hinge
