#pragma once
#include <cmath>

#include <hinge/activations/relu.hpp>

namespace hinge {

// noisy_relu<Sigma>: in training passes f(z) = max(0, z + e) with e ~ N(0, Sigma^2) drawn per
// unit and sample (Nair and Hinton 2010); in inference passes f(z) = max(0, z), the choice of
// that paper, which keeps inference deterministic and as cheap as relu. (The expectation
// E[max(0, z + e)] would be a smooth function; it is not what the model was trained to feed
// forward on average at the units that matter, the active ones, where both agree up to O(Sigma).)
//
// The noise comes from a counter-based generator keyed by (seed, sample, unit): no state, no
// allocation, reproducible for a seed. The derivative is taken from the output, as for relu:
// y > 0 exactly when z + e > 0, so d max(0, z + e)/dz = 1 there and 0 elsewhere (0 at the kink).
// Its expectation over e is Phi(z / Sigma), the normal CDF.
template <float Sigma>
struct noisy_relu {
    static_assert(Sigma > 0.0f, "noisy_relu<Sigma>: Sigma must be positive, because it is a standard deviation");
    static constexpr bool elementwise = true;
    static constexpr bool piecewise_linear = true;
    static constexpr bool derivative_from_output = true;
    static constexpr bool stochastic = true;
    static constexpr float sigma = Sigma;

    template <class V>
    static constexpr V forward(V z) noexcept {
        return relu::forward(z);
    }
    // noise is a standard normal draw, scaled here.
    template <class V>
    static constexpr V forward_with_noise(V z, V noise) noexcept {
        return forward(z + V(Sigma) * noise);
    }
    template <class V>
    static constexpr V derivative(V y) noexcept {
        return relu::derivative(y);
    }

    // E over the noise of d max(0, z + e)/dz = P(z + e > 0) = Phi(z / Sigma).
    static double expected_derivative(double z) noexcept {
        return 0.5 * std::erfc(-z / (static_cast<double>(Sigma) * 1.4142135623730951));
    }
    // The slope of a prelu whose derivative at z0 < 0 equals the expected derivative of this
    // noisy unit there: on average, a noisy ReLU acts below the kink like a PReLU with this slope.
    static double matching_prelu_slope(double z0) noexcept { return expected_derivative(z0); }
};

}  // namespace hinge
