#pragma once
#include <hinge/activations/value_ops.hpp>

namespace hinge {

// prelu: f(z) = z for z > 0, a z otherwise, with one learned slope a per unit (He et al. 2015),
// initialised to 0.25. The slope is a parameter of the stage (parameters<>::layer<I>().slope(o)),
// gets its own gradient dy/da = min(z, 0), and is updated by the optimizer like any weight.
// Derivative at the kink z = 0: a (the left derivative, matching relu's choice of 0 = its own
// left derivative). The backward pass keeps z, since with a learned a of either sign the output
// alone does not tell which side of the kink z was on.
struct prelu {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = false;
    static constexpr bool learned_slope = true;
    static constexpr float initial_slope = 0.25f;

    template <class V>
    static constexpr V forward(V z, V slope) noexcept {
        return where(z < V(0), slope * z, z);
    }
    template <class V>
    static constexpr V derivative(V z, V slope) noexcept {
        return where(z > V(0), V(1), slope);
    }
    template <class V>
    static constexpr V slope_derivative(V z) noexcept {
        return where(z < V(0), z, V(0));
    }
};

}  // namespace hinge
