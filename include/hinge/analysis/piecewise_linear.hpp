#pragma once
// Piecewise-linear activations as the analysis sees them: the kinks, the affine branch between
// two kinks, and the branch a unit is on (its part of the activation pattern).
//
// A network whose activations are all piecewise linear (relu, leaky_relu<a>, prelu, relu6,
// noisy_relu in inference, identity) computes a continuous piecewise-affine function of its
// input: on the set of inputs where every unit stays on one branch (an activation pattern),
// every pre-activation is affine in the input, so the network is. Those sets are convex
// polytopes, the linear regions (tools in analysis/linear_regions.hpp).
//
// A user-defined piecewise-linear activation joins by specialising piecewise_linear_form.
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include <hinge/activations/identity.hpp>
#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/noisy_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/relu6.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/runtime/passes.hpp>

namespace hinge::analysis {

// piecewise_linear_form<A>:
//   kinks             the sorted z at which A changes slope (std::array<double, K>)
//   branch(z)         which of the K + 1 affine pieces holds z (at a kink, the one whose slope
//                     the library's derivative uses there)
//   branch_from_output(y)  the same from the stored output y, when the output determines it
//   slope(b, a), offset(b)  branch b is f(z) = slope z + offset; a is the learned slope (prelu)
template <class A>
struct piecewise_linear_form;  // An error here: A is not known to be piecewise linear.

template <>
struct piecewise_linear_form<identity> {
    static constexpr std::array<double, 0> kinks{};
    static constexpr std::size_t branch(double) noexcept { return 0; }
    static constexpr std::size_t branch_from_output(double) noexcept { return 0; }
    static constexpr double slope(std::size_t, double) noexcept { return 1.0; }
    static constexpr double offset(std::size_t) noexcept { return 0.0; }
};

template <>
struct piecewise_linear_form<relu> {
    static constexpr std::array<double, 1> kinks{0.0};
    static constexpr std::size_t branch(double z) noexcept { return z > 0.0 ? 1 : 0; }
    static constexpr std::size_t branch_from_output(double y) noexcept { return y > 0.0 ? 1 : 0; }
    static constexpr double slope(std::size_t b, double) noexcept { return b == 1 ? 1.0 : 0.0; }
    static constexpr double offset(std::size_t) noexcept { return 0.0; }
};

// In inference passes noisy_relu is relu (see activations/noisy_relu.hpp).
template <float Sigma>
struct piecewise_linear_form<noisy_relu<Sigma>> : piecewise_linear_form<relu> {};

template <float Slope>
struct piecewise_linear_form<leaky_relu<Slope>> {
    static constexpr std::array<double, 1> kinks{0.0};
    static constexpr std::size_t branch(double z) noexcept { return z > 0.0 ? 1 : 0; }
    // 0 <= Slope < 1, so y > 0 exactly when z > 0.
    static constexpr std::size_t branch_from_output(double y) noexcept { return y > 0.0 ? 1 : 0; }
    static constexpr double slope(std::size_t b, double) noexcept { return b == 1 ? 1.0 : static_cast<double>(Slope); }
    static constexpr double offset(std::size_t) noexcept { return 0.0; }
};

// prelu's learned slope may have either sign, so its output does not tell the branch: the
// pattern recomputes z (no branch_from_output).
template <>
struct piecewise_linear_form<prelu> {
    static constexpr std::array<double, 1> kinks{0.0};
    static constexpr std::size_t branch(double z) noexcept { return z > 0.0 ? 1 : 0; }
    static constexpr double slope(std::size_t b, double a) noexcept { return b == 1 ? 1.0 : a; }
    static constexpr double offset(std::size_t) noexcept { return 0.0; }
};

template <>
struct piecewise_linear_form<relu6> {
    static constexpr std::array<double, 2> kinks{0.0, 6.0};
    // Both kinks take the flat side, as relu6's derivative does.
    static constexpr std::size_t branch(double z) noexcept { return z <= 0.0 ? 0 : (z < 6.0 ? 1 : 2); }
    static constexpr std::size_t branch_from_output(double y) noexcept { return y <= 0.0 ? 0 : (y < 6.0 ? 1 : 2); }
    static constexpr double slope(std::size_t b, double) noexcept { return b == 1 ? 1.0 : 0.0; }
    static constexpr double offset(std::size_t b) noexcept { return b == 2 ? 6.0 : 0.0; }
};

template <class A>
concept piecewise_linear_activation = requires(double z) {
    piecewise_linear_form<A>::kinks.size();
    { piecewise_linear_form<A>::branch(z) } -> std::convertible_to<std::size_t>;
    { piecewise_linear_form<A>::slope(std::size_t{}, z) } -> std::convertible_to<double>;
};

template <class Net>
inline constexpr bool all_stages_piecewise_linear = [] {
    bool all = true;
    for_each_index<Net::stage_count>([&](auto index) {
        if constexpr (!piecewise_linear_activation<typename Net::template stage<decltype(index)::value>::activation>)
            all = false;
    });
    return all;
}();

// A network that computes a piecewise-affine function, in inference semantics (batch_norm with
// its running statistics is affine per unit).
template <class Net>
concept piecewise_linear_network = all_stages_piecewise_linear<Net>;

// ---- activation patterns -------------------------------------------------------------------

namespace detail {

constexpr std::size_t bits_for(std::size_t branches) noexcept {
    std::size_t bits = 0;
    while ((std::size_t{1} << bits) < branches) ++bits;
    return bits;
}

template <class Net>
constexpr std::size_t pattern_bits() {
    std::size_t bits = 0;
    for_each_index<Net::stage_count>([&](auto index) {
        using S = typename Net::template stage<decltype(index)::value>;
        bits += S::output_width * bits_for(piecewise_linear_form<typename S::activation>::kinks.size() + 1);
    });
    return bits;
}

}  // namespace detail

// The branch of every unit of every stage, packed (relu: 1 bit per unit, relu6: 2, identity: 0).
// Two inputs have the same pattern exactly when they lie in the same linear region.
template <class Net>
using activation_pattern = std::array<std::uint64_t, (detail::pattern_bits<Net>() + 63) / 64 == 0
                                                         ? 1
                                                         : (detail::pattern_bits<Net>() + 63) / 64>;

// The pattern of sample `row` of the last forward() pass over x in ws. The branch is read from
// the stored output; for prelu it is recomputed from the stage's stored input (z = W x + b, or
// batch_norm's affine map), since a negative learned slope hides the sign of z.
template <class Net, std::size_t Batch, class T, bool ForTraining>
activation_pattern<Net> pattern_of(const parameters<Net, T>& params, const workspace<Net, Batch, T, ForTraining>& ws,
                                   const T* x, std::size_t row) noexcept {
    static_assert(piecewise_linear_network<Net>,
                  "analysis::pattern_of<Net>: every activation must be piecewise linear (relu, leaky_relu, "
                  "prelu, relu6, noisy_relu, identity), because only those cut the input space into linear "
                  "regions");
    static_assert(multilayer_perceptron<Net>, "hinge::analysis: this tool works on multilayer perceptrons (dense and batch_norm stages); convolutions, pooling, dropout and residual blocks are not supported by it yet");
    activation_pattern<Net> pattern{};
    std::size_t bit = 0;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using A = typename S::activation;
        using form = piecewise_linear_form<A>;
        constexpr std::size_t bits = detail::bits_for(form::kinks.size() + 1);
        if constexpr (bits > 0) {
            constexpr std::size_t stride = workspace<Net, Batch, T, ForTraining>::template activation_stride<i>;
            const T* y = ws.template activation<i>() + row * stride;
            for (std::size_t u = 0; u < S::output_width; ++u) {
                std::size_t b = 0;
                if constexpr (requires { form::branch_from_output(0.0); }) {
                    b = form::branch_from_output(static_cast<double>(y[u]));
                } else {
                    const T* in = nullptr;
                    if constexpr (i == 0) in = x + row * Net::input_size;
                    else in = ws.template activation<i - 1>() + row * workspace<Net, Batch, T, ForTraining>::template activation_stride<i - 1>;
                    const auto view = params.template layer<i>();
                    double z = 0;
                    if constexpr (affine_layer<typename S::layer_type>) {
                        z = static_cast<double>(view.bias(u));
                        for (std::size_t k = 0; k < S::input_width; ++k)
                            z += static_cast<double>(view.weight(u, k)) * static_cast<double>(in[k]);
                    } else {
                        const double eps = static_cast<double>(S::layer_type::epsilon);
                        z = static_cast<double>(view.scale(u)) *
                                (static_cast<double>(in[u]) - static_cast<double>(view.running_mean(u))) /
                                std::sqrt(static_cast<double>(view.running_variance(u)) + eps) +
                            static_cast<double>(view.shift(u));
                    }
                    b = form::branch(z);
                }
                for (std::size_t k = 0; k < bits; ++k, ++bit)
                    if ((b >> k) & 1u) pattern[bit / 64] |= std::uint64_t{1} << (bit % 64);
            }
        }
    });
    return pattern;
}

}  // namespace hinge::analysis
