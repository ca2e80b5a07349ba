#pragma once
#include <concepts>

namespace hinge {

// An element-wise activation: a struct of static functions on a generic value, fused by the
// planner into the preceding affine layer's kernels. The derivative is taken from the stored
// output (derivative_from_output), which holds for the whole ReLU family, identity, sigmoid
// and tanh; an activation whose derivative needs the pre-activation will need the planner to
// keep z as well (not implemented yet: the concept rejects it).
template <class A>
concept elementwise_activation = requires(float f, double d) {
    requires A::elementwise;
    requires A::derivative_from_output;
    { A::forward(f) } -> std::same_as<float>;
    { A::forward(d) } -> std::same_as<double>;
    { A::derivative(f) } -> std::same_as<float>;
    { A::derivative(d) } -> std::same_as<double>;
};

}  // namespace hinge
