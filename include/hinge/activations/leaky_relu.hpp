#pragma once
#include <hinge/activations/value_ops.hpp>
#include <hinge/core/diagnostic.hpp>

namespace hinge {

// leaky_relu<Slope>: f(z) = max(Slope z, z), i.e. z for z > 0 and Slope z below (Maas et al. 2013).
// The default Slope = 0.01 is the common one; Slope = 0 is relu.
//
// Derivative: 1 for z > 0, Slope for z < 0, and Slope at the kink z = 0: the left derivative, as
// relu takes its left derivative 0 there (and as PyTorch does). It is computed from the stored
// output y, because for 0 <= Slope < 1 the sign of y is the sign of z.
//
// NaN: forward(NaN) and derivative(NaN) are NaN on the scalar and the SIMD path alike (every
// where() below sends the NaN lane to an expression of its argument). Infinities: f(+inf) = +inf,
// f(-inf) = -inf (0 for Slope = 0, not 0 * -inf = NaN).
//
// In double precision the slope is the float Slope widened (0.01f is 0.00999999977648...), so
// float and double evaluations of one network use the same slope.
//
// negative_slope is what the initialisers read for the He gain 2 / (1 + Slope^2)
// (see init/scheme.hpp).
template <float Slope = 0.01f>
struct leaky_relu {
    // The check runs in the initialiser of `elementwise`, not at class scope: a failed class-scope
    // static_assert makes clang treat leaky_relu<1.5f> as an invalid class, and the network then
    // adds "not a layer" errors to the one that matters.
    static constexpr bool elementwise = [] {
        if constexpr (!(Slope >= 0.0f && Slope < 1.0f)) {
            HINGE_REJECT("leaky_relu<Slope>: Slope must satisfy 0 <= Slope < 1, because then f(z) = max(Slope z, z) "
                         "keeps the sign of z, which the backward pass relies on to take the derivative from the "
                         "output; use a slope in [0, 1), or prelu for a learned slope",
                         diagnostic::slope<Slope>);
        }
        return true;
    }();
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = true;
    static constexpr float negative_slope = Slope;

    template <class V>
    static constexpr V forward(V z) noexcept {
        if constexpr (Slope == 0.0f)
            return where(z < V(0), V(0), z);  // 0 * -inf would be NaN
        else
            return where(z < V(0), V(Slope) * z, z);
    }
    // y is the output forward(z); y <= 0 (the kink included) gives Slope.
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return where(y > V(0), V(1), where(y <= V(0), V(Slope), y));
    }
};

}  // namespace hinge
