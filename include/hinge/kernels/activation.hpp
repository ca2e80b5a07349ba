#pragma once
// An activation applied to a vector inside a kernel: the one place that knows the three forms
// of activations (plain, learned slope, stochastic), so that every epilogue and pass that applies
// an activation or its derivative does it the same way.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <hinge/activations/concepts.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Standard normal noise keyed by (seed, row, column): stateless, so any tile of any pass can
// draw it in any order and get the same values for a seed.
struct noise_source {
    std::uint64_t seed = 0;

    static std::uint64_t mix(std::uint64_t z) noexcept {  // splitmix64's finaliser
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double normal(std::size_t row, std::size_t column) const noexcept {
        const std::uint64_t key = mix(seed + 0x9e3779b97f4a7c15ull * (row * 0x10000ull + column + 1));
        const double u1 = (static_cast<double>(key >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
        const double u2 = static_cast<double>(mix(key) >> 11) * 0x1.0p-53;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    // Uniform in [0, 1), keyed like normal(); dropout's mask.
    double uniform(std::size_t row, std::size_t column) const noexcept {
        const std::uint64_t key = mix(seed + 0x9e3779b97f4a7c15ull * (row * 0x10000ull + column + 1));
        return static_cast<double>(key >> 11) * 0x1.0p-53;
    }
    template <class T>
    vector<T> normal_vector(std::size_t row, std::size_t column) const noexcept {
        alignas(storage_alignment) T lanes[vector_width<T>];
        for (std::size_t l = 0; l < vector_width<T>; ++l) lanes[l] = static_cast<T>(normal(row, column + l));
        return vector<T>::load_aligned(lanes);
    }
};

// What a forward epilogue needs besides the pre-activation: the stage's learned slopes and the
// noise of a training pass.
template <class T>
struct activation_inputs {
    const T* slope = nullptr;  // learned-slope activations: one per unit
    bool training = false;     // stochastic activations draw noise only in training passes
    noise_source noise{};
};

// y = Act(z) for the vector of units [column, column + width) of sample `row`.
template <class Act, class T>
inline vector<T> activate(vector<T> z, const activation_inputs<T>& in, std::size_t row, std::size_t column) noexcept {
    using V = vector<T>;
    if constexpr (learned_slope_activation<Act>) {
        return Act::forward(z, V::load_aligned(in.slope + column));
    } else if constexpr (stochastic_activation<Act>) {
        return in.training ? Act::forward_with_noise(z, in.noise.template normal_vector<T>(row, column))
                           : Act::forward(z);
    } else {
        return Act::forward(z);
    }
}

// The producer side of the backward pass: given g = dL/dy for a vector of units and the stored
// value u (y, or z when the activation keeps it), returns dL/dz = g * Act'(u) and adds
// g * dy/dslope to slope_sum for learned slopes.
template <class Act, class T>
inline vector<T> activation_gradient(vector<T> g, const T* u, const T* slope, vector<T>& slope_sum) noexcept {
    using V = vector<T>;
    if constexpr (std::is_same_v<Act, identity>) {
        return g;
    } else if constexpr (learned_slope_activation<Act>) {
        const V z = V::load_aligned(u);
        slope_sum += g * Act::slope_derivative(z);
        return g * Act::derivative(z, V::load_aligned(slope));
    } else {
        return g * Act::derivative(V::load_aligned(u));
    }
}

// The same on one value, for the scalar loops of losses.
template <class Act, class T>
inline T activation_gradient(T g, T u, T slope, T& slope_sum) noexcept {
    if constexpr (learned_slope_activation<Act>) {
        slope_sum += g * Act::slope_derivative(u);
        return g * Act::derivative(u, slope);
    } else {
        return g * Act::derivative(u);
    }
}

// Where the backward pass finds what activation_gradient needs for a stage, and where it adds
// the stage's column sums: the bias gradient (every stage has a per-unit additive term) and the
// slope gradient.
template <class T>
struct activation_gradient_target {
    const T* u;  // y or z rows
    std::size_t u_stride;
    const T* slope;
    T* bias_gradient;   // null: do not accumulate (the network input and stages without a bias)
    T* slope_gradient;  // null unless the activation has a learned slope
    // The gradient that reaches the stage's output through residual shortcuts, rows like u; it
    // is added to the incoming gradient before the derivative. Null: none.
    const T* addend = nullptr;

    // The same target for the rows of one sample that starts `rows` rows further down.
    activation_gradient_target advanced(std::size_t rows) const noexcept {
        activation_gradient_target t = *this;
        if (t.u) t.u += rows * u_stride;
        if (t.addend) t.addend += rows * u_stride;
        return t;
    }
};

// g = dL/dy of the previous stage for the vector of units [column, column + width) of `row`:
// adds the shortcut gradient, applies the activation's derivative and returns dL/dz.
template <class Act, class T>
inline vector<T> previous_gradient(vector<T> g, const activation_gradient_target<T>& target, std::size_t row,
                                   std::size_t column, vector<T>& slope_sum) noexcept {
    using V = vector<T>;
    const std::size_t at = row * target.u_stride + column;
    if (target.addend) g += V::load_aligned(target.addend + at);
    return activation_gradient<Act>(g, target.u ? target.u + at : nullptr, target.slope ? target.slope + column : nullptr,
                                    slope_sum);
}

// Adds one vector of column sums to the previous stage's bias (and slope) gradients.
template <class Act, class T>
inline void add_column_sums(const activation_gradient_target<T>& target, std::size_t column, vector<T> bias_sum,
                            vector<T> slope_sum) noexcept {
    using V = vector<T>;
    if (target.bias_gradient)
        (V::load_aligned(target.bias_gradient + column) + bias_sum).store_aligned(target.bias_gradient + column);
    if constexpr (has_learned_slope<Act>)
        (V::load_aligned(target.slope_gradient + column) + slope_sum).store_aligned(target.slope_gradient + column);
}

// What every producer of the previous stage's dL/dz does for one vector of units (columns):
// turn each row's g = dL/dy into dz with previous_gradient, and keep the column sums of dz (the
// bias gradient) and of g * dy/dslope (the slope gradient) in registers until add_to.
template <class Act, class T>
struct column_sums {
    // Broadcast zeros: braces would pick xsimd's lane-by-lane constructor.
    vector<T> bias = vector<T>(T(0));
    vector<T> slope = vector<T>(T(0));

    vector<T> gradient(vector<T> g, const activation_gradient_target<T>& target, std::size_t row,
                       std::size_t column) noexcept {
        const vector<T> dz = previous_gradient<Act>(g, target, row, column, slope);
        bias += dz;
        return dz;
    }
    void add_to(const activation_gradient_target<T>& target, std::size_t column) const noexcept {
        add_column_sums<Act>(target, column, bias, slope);
    }
};

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
