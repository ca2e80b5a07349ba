#pragma once
// hinge::nam::fast_tanh: the rational approximation of tanh that Neural Amp Modeler's engine uses
// when its fast tanh is enabled (the NAM plugin enables it), so that a model run here gives the
// outputs the plugin gives. hinge::tanh stays the default; this one is opt-in, for NAM models:
//
//   f(x) = x (a + a|x| + (b + c|x|) x^2) / (d + (d + x^2) |x + e x |x||)
//
// with the constants below (NAM Core's published coefficients). It is odd and within 4.4e-4 of
// tanh on [-10, 10] (measured in float); it is not bounded by 1: it passes 1 at |x| = 8.57 and
// tends to +-c / e = +-1.0081. It has no exp, no branch and one division, so it is cheap on SIMD
// vectors too. The terms are evaluated in NAM's order, so float results round as NAM's do.
//
// Derivative: that of tanh, 1 - y^2, from the output. It is not the exact derivative of the
// rational function (they differ by a few 1e-4), which is good enough to fine-tune a model that
// will run with it; training from scratch should use hinge::tanh.
//
// NaN: NaN in, NaN out. +-inf gives NaN (inf / inf), as in NAM; audio never reaches it.
#include <hinge/activations/value_ops.hpp>
#include <hinge/init/scheme.hpp>

namespace hinge::nam {

struct fast_tanh {
    static constexpr const char* name = "nam_fast_tanh";  // in architecture descriptions (files)
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = false;
    static constexpr bool derivative_from_output = true;
    static constexpr init::scheme preferred_initialisation = init::scheme::glorot;

    template <class V>
    static V forward(V x) noexcept {
        const V ax = math::abs(x);
        const V x2 = x * x;
        const V numerator = x * (V(a) + V(a) * ax + (V(b) + V(c) * ax) * x2);
        const V denominator = V(d) + (V(d) + x2) * math::abs(x + V(e) * x * ax);
        return numerator / denominator;
    }
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return (V(1) - y) * (V(1) + y);
    }

private:
    static constexpr float a = 2.45550750702956f;
    static constexpr float b = 0.893229853513558f;
    static constexpr float c = 0.821226666969744f;
    static constexpr float d = 2.44506634652299f;
    static constexpr float e = 0.814642734961073f;
};

// NAM's fast sigmoid, for the fast LSTM: sigmoid(x) = (fast_tanh(x / 2) + 1) / 2.
template <class V>
V fast_sigmoid(V x) noexcept {
    return V(0.5f) * (fast_tanh::forward(x * V(0.5f)) + V(1));
}

}  // namespace hinge::nam
