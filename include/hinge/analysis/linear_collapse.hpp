#pragma once
// Linear collapse: dense layers with no nonlinearity between them compose into one dense layer,
//   W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2),
// so a stack of them has exactly the expressive power of a single layer (with the smallest
// width of the stack as the rank bound of W2 W1): depth without activations buys nothing but
// cost.
//
//   is_affine_network<Net>                  every stage is dense with identity after it
//   is_affine_run<Net, First, Last>         the same for stages [First, Last)
//   collapse_linear_t<Net>                  the network with every run dense(identity),
//                                           dense(identity), ..., dense(act) folded into one
//                                           dense(act)
//   collapse_linear(params, collapsed)      its parameters: the products of the weights
//
// batch_norm stages are kept: in training their batch statistics are not an affine map of one
// sample (layers/fold_batch_norm.hpp folds them into the dense layer before them for inference).
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/mp11/algorithm.hpp>
#include <boost/mp11/list.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/layers/dense.hpp>

namespace hinge::analysis {

namespace detail {

template <class Stage>
inline constexpr bool is_affine_stage =
    affine_layer<typename Stage::layer_type> && std::is_same_v<typename Stage::activation, identity>;

}  // namespace detail

// Stages [First, Last) compute an affine map of their input, in training and inference alike.
template <class Net, std::size_t First, std::size_t Last>
inline constexpr bool is_affine_run = [] {
    static_assert(First <= Last && Last <= Net::stage_count,
                  "is_affine_run<Net, First, Last>: the run must satisfy First <= Last <= Net::stage_count");
    bool affine = true;
    for_each_index<Last - First>([&](auto k) {
        if constexpr (!detail::is_affine_stage<typename Net::template stage<First + decltype(k)::value>>) affine = false;
    });
    return affine;
}();

template <class Net>
inline constexpr bool is_affine_network = is_affine_run<Net, 0, Net::stage_count>;

namespace detail {

// group[i]: the stage of the collapsed network that stage i of Net folds into. Stage i joins
// stage i-1's group when stage i-1 is dense with identity and stage i is dense.
template <class Net>
constexpr std::array<std::size_t, Net::stage_count> collapse_groups() {
    static_assert(multilayer_perceptron<Net>, "hinge::analysis: this tool works on multilayer perceptrons (dense and batch_norm stages); convolutions, pooling, dropout and residual blocks are not supported by it yet");
    std::array<std::size_t, Net::stage_count> group{};
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        if constexpr (i > 0) {
            constexpr bool joins = is_affine_stage<typename Net::template stage<i - 1>> &&
                                   affine_layer<typename Net::template stage<i>::layer_type>;
            group[i] = group[i - 1] + (joins ? 0 : 1);
        }
    });
    return group;
}

// The layers that stage I contributes to the collapsed network: nothing if the next stage is in
// its group; otherwise its group's one layer (dense<Out_I>, or the batch_norm itself) and its
// activation (left out when identity, so the result is spelled as a user would write it).
template <class Net, std::size_t I>
struct collapsed_layers_of {
    static constexpr auto group = collapse_groups<Net>();
    using S = typename Net::template stage<I>;
    using L = typename S::layer_type;
    static constexpr bool ends_group = I + 1 == Net::stage_count || group[I + 1] != group[I];
    using layer = std::conditional_t<affine_layer<L>, dense<S::output_width>, L>;
    using with_activation = std::conditional_t<std::is_same_v<typename S::activation, identity>, boost::mp11::mp_list<layer>,
                                               boost::mp11::mp_list<layer, typename S::activation>>;
    using type = std::conditional_t<ends_group, with_activation, boost::mp11::mp_list<>>;
};

template <class Net, class Indices>
struct collapsed_network;
template <class Net, std::size_t... I>
struct collapsed_network<Net, std::index_sequence<I...>> {
    template <class... Layers>
    using make = network<input<Net::input_size>, Layers...>;
    using type = boost::mp11::mp_apply<make, boost::mp11::mp_append<typename collapsed_layers_of<Net, I>::type...>>;
};

}  // namespace detail

// The network with every run of dense layers that has no nonlinearity inside folded into one
// dense layer (followed by the run's last activation). Same input and output, fewer stages.
template <class Net>
using collapse_linear_t = typename detail::collapsed_network<Net, std::make_index_sequence<Net::stage_count>>::type;

// Writes into `collapsed` the parameters of collapse_linear_t<Net> that compute what `params`
// compute: for a run of stages i..j, W = W_j ... W_i and b = W_j (... (W_{i+1} b_i + b_{i+1}) ...) + b_j,
// accumulated in double. Batch-norm stages and learned slopes are copied.
template <class Net, class T>
void collapse_linear(const parameters<Net, T>& params, parameters<collapse_linear_t<Net>, T>& collapsed) {
    using Collapsed = collapse_linear_t<Net>;
    constexpr auto group = detail::collapse_groups<Net>();
    static_assert(group[Net::stage_count - 1] + 1 == Collapsed::stage_count);
    collapsed.fill_zero();
    // The running product of the current run: rows x columns, and its bias.
    std::vector<double> product, bias, next;
    std::size_t columns = 0;
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        constexpr std::size_t in = S::input_width, out = S::output_width;
        constexpr std::size_t f = group[i];
        constexpr bool starts_group = i == 0 || group[i - 1] != group[i];
        constexpr bool ends_group = i + 1 == Net::stage_count || group[i + 1] != group[i];
        const auto source = params.template layer<i>();
        auto target = collapsed.template layer<f>();
        if constexpr (affine_layer<typename S::layer_type>) {
            if constexpr (starts_group) {
                columns = in;
                product.assign(out * in, 0.0);
                bias.assign(out, 0.0);
                for (std::size_t o = 0; o < out; ++o) {
                    for (std::size_t k = 0; k < in; ++k) product[o * in + k] = static_cast<double>(source.weight(o, k));
                    bias[o] = static_cast<double>(source.bias(o));
                }
            } else {
                // product <- W_i product, bias <- W_i bias + b_i; product has `in` rows now.
                next.assign(out * columns, 0.0);
                std::vector<double> next_bias(out, 0.0);
                for (std::size_t o = 0; o < out; ++o) {
                    double b = static_cast<double>(source.bias(o));
                    for (std::size_t m = 0; m < in; ++m) {
                        const double w = static_cast<double>(source.weight(o, m));
                        b += w * bias[m];
                        for (std::size_t k = 0; k < columns; ++k) next[o * columns + k] += w * product[m * columns + k];
                    }
                    next_bias[o] = b;
                }
                product.swap(next);
                bias.swap(next_bias);
            }
            if constexpr (ends_group) {
                for (std::size_t o = 0; o < out; ++o) {
                    for (std::size_t k = 0; k < columns; ++k) target.weight(o, k) = static_cast<T>(product[o * columns + k]);
                    target.bias(o) = static_cast<T>(bias[o]);
                    if (source.has_slope()) target.slope(o) = source.slope(o);
                }
            }
        } else {
            for (std::size_t o = 0; o < out; ++o) {
                target.scale(o) = source.scale(o);
                target.shift(o) = source.shift(o);
                target.running_mean(o) = source.running_mean(o);
                target.running_variance(o) = source.running_variance(o);
                if (source.has_slope()) target.slope(o) = source.slope(o);
            }
        }
    });
}

}  // namespace hinge::analysis
