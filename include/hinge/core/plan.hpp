#pragma once
// The middle end: compile-time passes from the layer list to a list of planned stages.
//
//   network<input<784>, dense<256>, relu, sequential<dense<10>>>
//     --flatten-->  [dense<256>, relu, dense<10>]
//     --group-->    [(dense<256>, relu), (dense<10>, identity)]     one stage per dense/batch_norm
//     --shapes-->   [stage<dense<256>, relu, 784, 256>, stage<dense<10>, identity, 256, 10>]
//
// Each pass is a pure function on types written with Boost.Hana; the result is handed to the
// rest of the library as a plain stage_list<...> so that run-time code instantiates no Hana.
#include <cstddef>
#include <type_traits>

#include <boost/hana/append.hpp>
#include <boost/hana/back.hpp>
#include <boost/hana/drop_back.hpp>
#include <boost/hana/flatten.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>
#include <boost/mp11/algorithm.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/core/concepts.hpp>
#include <hinge/core/sequential.hpp>

namespace hinge {

// A planned stage: one stage layer (dense or batch_norm), the activation fused into it, and both widths.
template <class Layer, class Activation, std::size_t In, std::size_t Out>
struct stage {
    using layer_type = Layer;
    using activation = Activation;
    static constexpr std::size_t input_width = In;
    static constexpr std::size_t output_width = Out;
};

template <class... Stages>
struct stage_list {
    static constexpr std::size_t size = sizeof...(Stages);
};

template <class Stages, std::size_t I>
using stage_at = boost::mp11::mp_at_c<Stages, I>;  // Mp11: O(1) indexing, cheaper than Hana here

namespace detail {
namespace hana = boost::hana;

// ---- pass 1: flatten nested sequential<> blocks -------------------------------------------

template <class L>
struct flattened {
    // An error here means an argument of network<> is neither a layer nor a sequential<> block;
    // the offending type is the L of this template.
    static_assert(layer<L>,
                  "hinge::network: every argument after input<N> must be a layer (dense<N>, "
                  "batch_norm), an element-wise activation (relu, leaky_relu<a>, ...) or a "
                  "sequential<...> block, because the planner only knows how to build stages from those");
    static constexpr auto value = hana::make_tuple(hana::type_c<L>);
};

template <class... L>
struct flattened<sequential<L...>> {
    static constexpr auto value = hana::flatten(hana::make_tuple(flattened<L>::value...));
};

// ---- pass 2: group each stage layer (dense, batch_norm) with the activation that follows it -------------------

// Marks a stage whose activation has not been seen yet; becomes identity if none follows.
struct no_activation_yet {};

template <class Layer, class Activation>
struct grouped_stage {};

template <class Activation, bool FollowsAnAffineLayer, bool AffineLayerAlreadyHasOne>
constexpr void check_activation_position() {
    static_assert(FollowsAnAffineLayer,
                  "hinge::network: an element-wise activation must follow an affine layer such as "
                  "dense<N> (or a batch_norm), because it is fused into that layer's kernels");
    static_assert(!AffineLayerAlreadyHasOne,
                  "hinge::network: only one element-wise activation may follow an affine layer, "
                  "because each stage fuses exactly one activation into its kernels");
}

template <class Stage>
inline constexpr bool has_activation = false;
template <class Layer, class Activation>
inline constexpr bool has_activation<grouped_stage<Layer, Activation>> =
    !std::is_same_v<Activation, no_activation_yet>;

struct group_fn {
    template <class Stages, class LayerType>
    constexpr auto operator()(Stages stages, LayerType) const {
        using L = typename LayerType::type;
        if constexpr (stage_layer<L>) {
            return hana::append(stages, hana::type_c<grouped_stage<L, no_activation_yet>>);
        } else {
            constexpr bool follows_affine = decltype(hana::length(stages))::value > 0;
            if constexpr (!follows_affine) {
                check_activation_position<L, false, false>();
                return stages;
            } else {
                using previous = typename decltype(+hana::back(stages))::type;
                check_activation_position<L, true, has_activation<previous>>();
                return hana::append(hana::drop_back(stages),
                                    hana::type_c<grouped_stage<typename layer_of<previous>::type, L>>);
            }
        }
    }

    template <class S>
    struct layer_of;
    template <class Layer, class Activation>
    struct layer_of<grouped_stage<Layer, Activation>> {
        using type = Layer;
    };
};

// ---- pass 3: shape inference ---------------------------------------------------------------

template <class Activation>
using resolved_activation =
    std::conditional_t<std::is_same_v<Activation, no_activation_yet>, identity, Activation>;

struct infer_shapes_fn {
    template <class State, class StageType>
    constexpr auto operator()(State state, StageType) const {
        constexpr std::size_t in = decltype(+hana::first(state))::value;
        return infer<in>(hana::second(state), typename StageType::type{});
    }

    template <std::size_t In, class Stages, class Layer, class Activation>
    static constexpr auto infer(Stages stages, grouped_stage<Layer, Activation>) {
        constexpr std::size_t out = Layer::template output_width<In>();
        using planned = stage<Layer, resolved_activation<Activation>, In, out>;
        return hana::make_pair(hana::size_c<out>, hana::append(stages, hana::type_c<planned>));
    }
};

template <std::size_t InputWidth, class... Layers>
constexpr auto plan() {
    constexpr auto layers = flattened<sequential<Layers...>>::value;
    constexpr auto grouped = hana::fold_left(layers, hana::make_tuple(), group_fn{});
    constexpr auto shaped = hana::fold_left(
        grouped, hana::make_pair(hana::size_c<InputWidth>, hana::make_tuple()), infer_shapes_fn{});
    return hana::unpack(hana::second(shaped), [](auto... stages) {
        return hana::type_c<stage_list<typename decltype(stages)::type...>>;
    });
}

}  // namespace detail

template <std::size_t InputWidth, class... Layers>
using planned_stages = typename decltype(detail::plan<InputWidth, Layers...>())::type;

}  // namespace hinge
