#pragma once
// The middle end: compile-time passes from the layer list to a list of planned stages.
//
//   network<input<784>, dense<256>, relu, sequential<dense<10>>>
//     --flatten-->  [dense<256>, relu, dense<10>]
//     --group + shapes-->  [stage<dense<256>, relu, 784, 256>, stage<dense<10>, identity, 256, 10>]
//
// Each pass is a pure function on types: flattening with Boost.Hana, grouping and shape
// inference by pattern matching on packs (measured to be the compile-time hot spot, see below).
// The result is handed to the rest of the library as a plain stage_list<...>, so that run-time
// code instantiates no Hana.
#include <cstddef>
#include <type_traits>

#include <boost/hana/flatten.hpp>
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

// ---- passes 2 and 3: group each stage layer with its activation, and infer shapes ---------------
//
// One left-to-right recursion over the flat layer list: a stage layer (dense, batch_norm) takes
// the activation right after it, if any, and the width arriving from the previous stage. These
// passes were first written as two hana::fold_left with hana::append; that grew superlinearly
// (a 50-layer network took 6.2 s and 617 MB of g++ to plan, measured here), so they are plain
// pattern matching on parameter packs: one instantiation per stage (0.96 s and 118 MB).

template <class Activation, bool FollowsAnAffineLayer, bool AffineLayerAlreadyHasOne>
constexpr bool check_activation_position() {
    static_assert(FollowsAnAffineLayer,
                  "hinge::network: an element-wise activation must follow an affine layer such as "
                  "dense<N> (or a batch_norm), because it is fused into that layer's kernels");
    static_assert(!AffineLayerAlreadyHasOne,
                  "hinge::network: only one element-wise activation may follow an affine layer, "
                  "because each stage fuses exactly one activation into its kernels");
    return true;
}

template <std::size_t Width, class Planned, class... Layers>
struct group_and_infer;

// Not a layer: flattened<> has already said so; skip it so that the error stands alone.
template <std::size_t Width, class... Stages, class Other, class... Rest>
struct group_and_infer<Width, stage_list<Stages...>, Other, Rest...> {
    using type = typename group_and_infer<Width, stage_list<Stages...>, Rest...>::type;
};

// Done.
template <std::size_t Width, class... Stages>
struct group_and_infer<Width, stage_list<Stages...>> {
    using type = stage_list<Stages...>;
};

// A stage layer followed by an activation: one stage.
template <std::size_t Width, class... Stages, class Layer, class Activation, class... Rest>
    requires(stage_layer<Layer> && elementwise_activation<Activation>)
struct group_and_infer<Width, stage_list<Stages...>, Layer, Activation, Rest...> {
    static constexpr std::size_t out = Layer::template output_width<Width>();
    using type = typename group_and_infer<out, stage_list<Stages..., stage<Layer, Activation, Width, out>>,
                                          Rest...>::type;
};

// A stage layer with no activation after it: identity.
template <std::size_t Width, class... Stages, class Layer, class... Rest>
    requires(stage_layer<Layer>)
struct group_and_infer<Width, stage_list<Stages...>, Layer, Rest...> {
    static constexpr std::size_t out = Layer::template output_width<Width>();
    using type = typename group_and_infer<out, stage_list<Stages..., stage<Layer, identity, Width, out>>,
                                          Rest...>::type;
};

// An activation that no stage layer took: first in the list, or a second one in a row.
template <std::size_t Width, class... Stages, class Activation, class... Rest>
    requires(elementwise_activation<Activation>)
struct group_and_infer<Width, stage_list<Stages...>, Activation, Rest...> {
    static_assert(check_activation_position<Activation, sizeof...(Stages) != 0, sizeof...(Stages) != 0>());
    using type = typename group_and_infer<Width, stage_list<Stages...>, Rest...>::type;  // carry on after the error
};

template <std::size_t InputWidth, class... Layers>
constexpr auto plan() {
    constexpr auto layers = flattened<sequential<Layers...>>::value;
    return hana::unpack(layers, [](auto... layer) {
        return hana::type_c<typename group_and_infer<InputWidth, stage_list<>, typename decltype(layer)::type...>::type>;
    });
}

}  // namespace detail

template <std::size_t InputWidth, class... Layers>
using planned_stages = typename decltype(detail::plan<InputWidth, Layers...>())::type;

}  // namespace hinge
