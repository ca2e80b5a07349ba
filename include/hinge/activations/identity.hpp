#pragma once

namespace hinge {

// identity(z) = z. A dense layer with no activation after it is planned as dense + identity;
// the kernels recognise identity and skip the multiply by its derivative.
struct identity {
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = true;

    template <class V>
    static constexpr V forward(V z) noexcept {
        return z;
    }
    template <class V>
    static constexpr V derivative(V) noexcept {
        return V(1);
    }
};

}  // namespace hinge
