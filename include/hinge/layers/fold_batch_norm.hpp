#pragma once
// Folding batch normalisation into the preceding dense layer, for inference.
//
// With running statistics, batch_norm is affine per unit: y = s (z - mean) + beta with
// s = gamma / sqrt(var + eps). After z = W x + b it composes into one dense layer,
//   W'(o, i) = s_o W(o, i),   b'_o = s_o (b_o - mean_o) + beta_o,
// and the activation that followed batch_norm follows the folded layer, fused as usual. The
// folded network has one stage fewer per batch_norm and computes the same function as the
// original in inference mode (up to rounding; tests/relu_family.cpp checks 1e-5).
#include <cmath>
#include <cstddef>
#include <type_traits>

#include <boost/mp11/list.hpp>

#include <hinge/core/storage.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/dense.hpp>

namespace hinge {

namespace detail {

template <class Stages, std::size_t I, class Folded>
struct fold_stages;

template <class Stages, std::size_t I, class... Layers>
    requires(I == Stages::size)
struct fold_stages<Stages, I, boost::mp11::mp_list<Layers...>> {
    using type = boost::mp11::mp_list<Layers...>;
};

template <class Stages, std::size_t I, class... Layers>
    requires(I < Stages::size)
struct fold_stages<Stages, I, boost::mp11::mp_list<Layers...>> {
    using current = stage_at<Stages, I>;
    static constexpr bool next_is_batch_norm = [] {
        if constexpr (I + 1 < Stages::size) return stage_property::normalizes<typename stage_at<Stages, I + 1>::layer_type>;
        else return false;
    }();
    static_assert(affine_layer<typename current::layer_type>,
                  "fold_batch_norm<Net>: every batch_norm must directly follow a dense layer, because only "
                  "then is the composition one affine map");
    static_assert(!next_is_batch_norm || std::is_same_v<typename current::activation, identity>,
                  "fold_batch_norm<Net>: a dense layer followed by batch_norm must have no activation "
                  "between them, because a nonlinearity cannot be folded");

    using activation = typename stage_at<Stages, next_is_batch_norm ? I + 1 : I>::activation;
    using type = typename fold_stages<Stages, next_is_batch_norm ? I + 2 : I + 1,
                                      boost::mp11::mp_list<Layers..., dense<current::output_width>, activation>>::type;
};

template <std::size_t InputWidth, class LayerList>
struct network_from;
template <std::size_t InputWidth, class... Layers>
struct network_from<InputWidth, boost::mp11::mp_list<Layers...>> {
    using type = network<input<InputWidth>, Layers...>;
};

}  // namespace detail

// The network with every dense + batch_norm pair folded into one dense layer.
template <class Net>
using fold_batch_norm_t = typename detail::network_from<
    Net::input_size,
    typename detail::fold_stages<typename Net::stages, 0, boost::mp11::mp_list<>>::type>::type;

// Writes into `folded` the parameters of fold_batch_norm_t<Net> that compute, in inference mode,
// what `params` compute. Batch-norm stages use their running statistics.
template <class Net, class T>
void fold_batch_norm(const parameters<Net, T>& params, parameters<fold_batch_norm_t<Net>, T>& folded) noexcept {
    using Folded = fold_batch_norm_t<Net>;
    folded.fill_zero();
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using L = typename Net::template stage<i>::layer_type;
        if constexpr (affine_layer<L>) {
            constexpr bool then_batch_norm = [] {
                if constexpr (i + 1 < Net::stage_count)
                    return stage_property::normalizes<typename Net::template stage<i + 1>::layer_type>;
                else return false;
            }();
            // The folded network's stage index: the number of dense stages before i.
            constexpr std::size_t f = [] {
                std::size_t n = 0;
                for_each_index<i>([&](auto k) {
                    n += affine_layer<typename Net::template stage<decltype(k)::value>::layer_type> ? 1 : 0;
                });
                return n;
            }();
            auto source = params.template layer<i>();
            auto out = folded.template layer<f>();
            using S = typename Net::template stage<i>;
            for (std::size_t o = 0; o < S::output_width; ++o) {
                T scale = T(1), offset = T(0);
                if constexpr (then_batch_norm) {
                    auto bn = params.template layer<i + 1>();
                    using N = typename Net::template stage<i + 1>::layer_type;
                    scale = bn.scale(o) / std::sqrt(bn.running_variance(o) + static_cast<T>(N::epsilon));
                    offset = bn.shift(o) - scale * bn.running_mean(o);
                    if (bn.has_slope()) out.slope(o) = bn.slope(o);
                } else if (source.has_slope()) {
                    out.slope(o) = source.slope(o);
                }
                for (std::size_t k = 0; k < S::input_width; ++k) out.weight(o, k) = scale * source.weight(o, k);
                out.bias(o) = scale * source.bias(o) + offset;
            }
        }
    });
    static_assert(Folded::stage_count <= Net::stage_count);
}

}  // namespace hinge
