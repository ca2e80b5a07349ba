#pragma once
// Mean-shift correction for ReLU networks, as an initialisation option.
//
// A ReLU passes only the positive half of its input, so for a zero-mean Gaussian pre-activation
// z ~ N(0, s^2) its output has mean s / sqrt(2 pi) > 0 (with leaky slope a: (1 - a) s / sqrt(2 pi)).
// The next layer then sees a biased input and its pre-activations are shifted by W m. The
// correction subtracts that expected mean from the ReLU output. We do not add a layer for it:
// since W (y - m) + b = W y + (b - W m), the shift folds exactly into the next layer's bias, so
// the corrected network costs nothing at run time and needs no new parameter type. m is
// predicted from the weights, not measured on data: for unit j of a stage with inputs of second
// moments q_k, s_j^2 = sum_k W(j, k)^2 q_k; its output has mean m_j = (1 - a) s_j / sqrt(2 pi) and,
// after recentring, second moment s_j^2 ((1 + a^2) / 2 - (1 - a)^2 / (2 pi)), which feeds the
// next stage's prediction.
//
// Call it after the weights are initialised (he_normal or another scheme). It applies after
// every relu, leaky_relu<a> and noisy_relu stage (taken at its inference mean) that feeds a dense
// layer; a stage with another activation, or a batch_norm stage, ends the prediction there (no
// correction further on), since its output statistics are not those of a half-Gaussian.
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include <hinge/activations/relu.hpp>
#include <hinge/core/storage.hpp>

namespace hinge::init {

namespace detail {
template <class A>
constexpr double relu_family_slope() {
    if constexpr (requires { A::negative_slope; }) return static_cast<double>(A::negative_slope);
    else return 0.0;
}
template <class A>
inline constexpr bool relu_family = std::is_same_v<A, relu> || requires { A::negative_slope; } ||
                                    requires { requires A::stochastic && A::piecewise_linear; };
}  // namespace detail

// Applies the correction; returns the number of dense layers whose bias was corrected.
template <class Net, class T>
std::size_t correct_mean_shift(parameters<Net, T>& params, double input_second_moment = 1.0) {
    std::vector<double> second_moment(Net::input_size, input_second_moment);
    std::vector<double> mean(Net::input_size, 0.0);  // the recentred input seen by the next stage
    std::size_t corrected = 0;
    bool predictable = true;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using A = typename S::activation;
        if constexpr (!stage_property::affine<typename S::layer_type> || S::input_shape::rank != 1) {
            predictable = false;  // batch_norm, or a convolution whose input mean is per channel
        } else {
            if (!predictable) return;
            auto view = params.template layer<i>();
            // Fold the previous stage's output mean into this layer's bias.
            bool any_shift = false;
            for (double m : mean) any_shift = any_shift || m != 0.0;
            if (any_shift) {
                for (std::size_t o = 0; o < S::output_width; ++o) {
                    double shift = 0;
                    for (std::size_t k = 0; k < S::input_width; ++k) shift += static_cast<double>(view.weight(o, k)) * mean[k];
                    view.bias(o) = static_cast<T>(static_cast<double>(view.bias(o)) - shift);
                }
                ++corrected;
            }
            // Predict this stage's pre-activation spread, then its output moments.
            std::vector<double> next_second(S::output_width), next_mean(S::output_width, 0.0);
            for (std::size_t o = 0; o < S::output_width; ++o) {
                double variance = 0;
                for (std::size_t k = 0; k < S::input_width; ++k) {
                    const double w = static_cast<double>(view.weight(o, k));
                    variance += w * w * second_moment[k];
                }
                const double s = std::sqrt(variance);
                if constexpr (detail::relu_family<A>) {
                    constexpr double a = detail::relu_family_slope<A>();
                    constexpr double inv_sqrt_2pi = 0.3989422804014327;
                    next_mean[o] = (1 - a) * s * inv_sqrt_2pi;
                    next_second[o] = variance * ((1 + a * a) / 2 - (1 - a) * (1 - a) * inv_sqrt_2pi * inv_sqrt_2pi);
                } else if constexpr (std::is_same_v<A, identity>) {
                    next_second[o] = variance;
                }
            }
            if constexpr (!detail::relu_family<A> && !std::is_same_v<A, identity>) predictable = false;
            second_moment = std::move(next_second);
            mean = std::move(next_mean);
        }
    });
    return corrected;
}

}  // namespace hinge::init
