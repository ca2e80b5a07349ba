#pragma once
#include <concepts>

namespace hinge {

// An element-wise activation: a struct of static functions on a generic value V (float,
// double or an xsimd batch), fused by the planner into the kernels of the stage it follows.
//
// Plain form:   forward(z), derivative(u)  where u is the stored output y when
//               derivative_from_output is true (the ReLU family, sigmoid, tanh...), and the
//               pre-activation z otherwise (GELU, SiLU...; the planner then keeps z).
// Learned slope (prelu): forward(z, a), derivative(z, a) = dy/dz and slope_derivative(z) = dy/da,
//               with one learned a per unit stored beside the stage's bias.
// Stochastic (noisy_relu): additionally forward_with_noise(z, noise) for training passes.
template <class A>
concept plain_activation = requires(float f, double d) {
    requires A::elementwise;
    { A::derivative_from_output } -> std::convertible_to<bool>;
    { A::forward(f) } -> std::same_as<float>;
    { A::forward(d) } -> std::same_as<double>;
    { A::derivative(f) } -> std::same_as<float>;
    { A::derivative(d) } -> std::same_as<double>;
};

template <class A>
concept learned_slope_activation = requires(float f, double d) {
    requires A::elementwise;
    requires A::learned_slope;
    { A::initial_slope } -> std::convertible_to<float>;
    { A::forward(f, f) } -> std::same_as<float>;
    { A::forward(d, d) } -> std::same_as<double>;
    { A::derivative(d, d) } -> std::same_as<double>;
    { A::slope_derivative(d) } -> std::same_as<double>;
};

template <class A>
concept elementwise_activation = plain_activation<A> || learned_slope_activation<A>;

template <class A>
inline constexpr bool has_learned_slope = learned_slope_activation<A>;

template <class A>
concept stochastic_activation = plain_activation<A> && requires(double d) {
    requires A::stochastic;
    { A::forward_with_noise(d, d) } -> std::same_as<double>;
};

// Whether the backward pass needs the pre-activation z (otherwise the output y suffices).
template <class A>
inline constexpr bool keeps_pre_activation = [] {
    if constexpr (learned_slope_activation<A>) return true;
    else return !A::derivative_from_output;
}();

}  // namespace hinge
