#pragma once
// The middle end: compile-time passes from the layer list to a list of planned stages.
//
//   network<input<784>, dense<256>, relu, sequential<dense<10>>>
//     --flatten-->  [dense<256>, relu, dense<10>]
//     --group + shapes-->  [stage<dense<256>, relu, 784, 256>, stage<dense<10>, identity, 256, 10>]
//
// Each pass is a pure function on types: flattening with Boost.Hana, grouping and shape
// inference by pattern matching on packs (measured to be the compile-time hot spot, see below).
// Grouping also resolves the names of a graph (core/graph.hpp: tap, from, accumulate, and the
// values a merge names) to the indices of the stages that produce them.
// The result is handed to the rest of the library as a plain stage_list<...>, so that run-time
// code instantiates no Hana.
#include <array>
#include <cstddef>
#include <type_traits>

#include <boost/hana/flatten.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>
#include <boost/mp11/algorithm.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/graph.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>

namespace hinge {

// The values a stage reads, as "index + 1" of the stages that produce them (0: the network
// input). A chain stage reads the stage before it; a layer that reads others says which with a
// member template `sources<Index>` (a residual addition reads the block's output and its input).
template <std::size_t... SourcePlusOne>
struct source_list {
    static constexpr std::size_t size = sizeof...(SourcePlusOne);
    static constexpr std::array<std::size_t, sizeof...(SourcePlusOne)> values{SourcePlusOne...};
};

namespace detail {
template <class Layer, std::size_t Index>
constexpr auto sources_of() {
    if constexpr (requires { typename Layer::template sources<Index>; }) return typename Layer::template sources<Index>{};
    else return source_list<Index>{};  // the stage before (index + 1 = Index), or the network input
}
}  // namespace detail

// A planned stage: one stage layer, the activation fused into it, and the shapes it receives
// and produces. For every stage, output_width is the number of channels of the output and
// positions the number of positions (1 for a flat output); input_width is the fan-in of one
// output unit for a layer with a product (fan_in<InShape>(): the kernel taps times the channels
// of a convolution), the input channels otherwise.
//
// Reads: the values the stage reads when the planner chose them (a source_list: after from<"x">,
// or for a layer with named inputs, core/graph.hpp); void for a stage that reads the stage before
// it (or what its layer's own sources<Index> say).
template <class Layer, class Activation, class InShape, class OutShape, class Reads = void>
struct stage {
    using layer_type = Layer;
    using reads = Reads;
    using activation = Activation;
    using input_shape = InShape;
    using output_shape = OutShape;
    static constexpr std::size_t input_size = InShape::size;
    static constexpr std::size_t output_size = OutShape::size;
    static constexpr std::size_t positions = OutShape::positions;
    static constexpr std::size_t input_positions = InShape::positions;
    static constexpr std::size_t output_width = OutShape::channels;
    static constexpr std::size_t input_width = [] {
        if constexpr (requires { Layer::template fan_in<InShape>(); }) return Layer::template fan_in<InShape>();
        else return InShape::channels;
    }();
    // Outputs each input value reaches (Glorot's fan-out): units, times the kernel taps of a
    // convolution, as PyTorch counts it. Multiplied before the division, so that a grouped
    // convolution (fan-in K C / G, less than C when K < G) gets its exact (F / G) K; PyTorch's
    // init counts F K there, ignoring the groups. Every other layer's fan-in is a multiple of C,
    // so its value is the same either way.
    static constexpr std::size_t fan_out = output_width * input_width / InShape::channels;
};

// A stage in its network: the planned stage with its index and the values it reads. This is what
// a layer's declarations (tensors<S>(), buffers<S, ...>(), ...) receive.
template <class Stage, std::size_t Index>
struct placed_stage : Stage {
    static constexpr std::size_t index = Index;
    using sources = std::conditional_t<std::is_void_v<typename Stage::reads>,
                                       decltype(detail::sources_of<typename Stage::layer_type, Index>()),
                                       typename Stage::reads>;
    // Whether the stage's (first) input is the network input, which is stored unpadded.
    static constexpr bool reads_network_input = sources::values[0] == 0;
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

// An error here means an argument of network<> is neither a layer nor a sequential<> block. The
// check is a function, not a class-scope static_assert: a failed one there makes clang treat
// flattened<L> as invalid, and every use of the plan then adds errors (219 lines for an `int`).
// The non-layer is dropped from the plan, so nothing after this one message fails.
template <class L>
constexpr bool check_layer_argument() {
    if constexpr (!layer<L>) {
        HINGE_REJECT("hinge::network: every argument after input<...> must be a layer (dense<N>, conv2d, "
                     "max_pool2d, flatten, batch_norm, dropout, ...), an element-wise activation (relu, "
                     "leaky_relu<a>, ...) or a sequential<...> / residual<...> block, because the planner "
                     "only knows how to build stages from those; remove or replace the type in not_a_layer",
                     diagnostic::not_a_layer<L>);
    }
    return layer<L>;
}

}  // namespace detail

// Markers around the layers of a composition block (layers/residual.hpp). A block type says what
// it expands to with a member `using expansion = sequential<block_begin, Layers..., block_end<Closer>>;`.
// At block_end, Closer::close<Source, Entering, Shape, Stage> says what closes the block: `stages`
// (a stage_list of stages it planned itself, appended as they are) and `next` (a sequential<> of
// layers planned next, before the rest); Source is the index + 1 of the stage whose output entered
// the block (0: the network input), Entering that value's shape, Shape the block's output shape and
// Stage the number of stages planned so far.
struct block_begin {
    static constexpr bool planner_marker = true;
};
template <class Closer>
struct block_end {
    static constexpr bool planner_marker = true;
};

namespace detail {

template <class L>
struct flattened {
    static constexpr auto value = [] {
        if constexpr (requires { typename L::expansion; }) return flattened<typename L::expansion>::value;
        else if constexpr (requires { requires L::planner_marker; }) return hana::make_tuple(hana::type_c<L>);
        else if constexpr (check_layer_argument<L>()) return hana::make_tuple(hana::type_c<L>);
        else return hana::make_tuple();
    }();
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

// An activation that no stage layer took. Stages are the stages planned so far: none means it
// comes first; otherwise the last one already has its activation.
template <class Activation, class... Stages>
constexpr bool check_activation_position() {
    using namespace diagnostic;
    if constexpr (sizeof...(Stages) == 0) {
        HINGE_REJECT("hinge::network: an element-wise activation must follow an affine layer such as dense<N> "
                     "(or a batch_norm), because it is fused into that layer's kernels; put a layer before it",
                     stage_index<0>, activation<Activation>);
    } else {
        using previous = boost::mp11::mp_back<stage_list<Stages...>>;
        HINGE_REJECT("hinge::network: only one element-wise activation may follow an affine layer, because each "
                     "stage fuses exactly one activation into its kernels; remove one, or put a layer between them",
                     stage_index<sizeof...(Stages) - 1>, typename previous::layer_type,
                     activation<typename previous::activation>, second_activation<Activation>);
    }
    return true;
}

// One open block: the index + 1 of the stage whose output enters it (0: the network input) and
// the shape that enters it.
template <std::size_t SourcePlusOne, class Shape>
struct open_block {};

template <class... Frames>
struct block_stack {};

// The values the planner can name: where each is stored (the index + 1 of the stage that produces
// it, 0: the network input) and its shape. Current is the value the next layer reads.
template <auto Name, std::size_t SourcePlusOne, class Shape>
struct named_value {
    static constexpr auto name = Name;
    static constexpr std::size_t source = SourcePlusOne;
    using shape = Shape;
};

template <std::size_t Current, class... Named>
struct graph_state {
    static constexpr std::size_t current = Current;
    template <std::size_t Next>
    using moved_to = graph_state<Next, Named...>;
    // A newer value of the same name shadows the older one (lookup finds the first).
    template <auto Name, std::size_t Source, class Shape>
    using naming = graph_state<Current, named_value<Name, Source, Shape>, Named...>;
};

// The value named Name: found = false when there is none (after the error, a stand-in).
template <auto Name, class... Named>
struct find_value {
    static constexpr bool found = false;
    static constexpr std::size_t source = 0;
    using shape = hinge::shape<1>;
};
template <auto Name, class First, class... Rest>
struct find_value<Name, First, Rest...>
    : std::conditional_t<First::name.view() == Name.view(), First, find_value<Name, Rest...>> {
    static constexpr bool found = First::name.view() == Name.view() || find_value<Name, Rest...>::found;
};

template <auto Name, class Graph>
struct lookup;
template <auto Name, std::size_t Current, class... Named>
struct lookup<Name, graph_state<Current, Named...>> : find_value<Name, Named...> {
    static constexpr bool checked = [] {
        if constexpr (!find_value<Name, Named...>::found) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::network: no value has this name here, because a name must be given by tap<Name> (or "
                         "accumulate<Name>) before it is read; names are input and those tapped earlier in the "
                         "list: check the spelling, or move the tap before this use",
                         value_named<Name>);
        }
        return true;
    }();
};

template <class Shape, class Graph, class Stack, class Planned, class... Layers>
struct group_and_infer;

// Not a layer: flattened<> has already said so; skip it so that the error stands alone.
template <class Shape, class Graph, class Stack, class... Stages, class Other, class... Rest>
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Other, Rest...> {
    using type = typename group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Rest...>::type;
};

// The network's output is the last stage's: a list that ends on from<"x"> would leave it elsewhere.
template <std::size_t Current, std::size_t Stages>
constexpr bool check_output_is_last_stage() {
    if constexpr (Current != Stages) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::network: the list must end with a layer, because the network's output is the output of "
                     "its last stage; after from<Name> or accumulate<Name> at the end, add the layer that makes the "
                     "output (e.g. from<Name> then conv1d<C, 1>)",
                     stage_index<Stages - 1>);
    }
    return true;
}

// Done.
template <class Shape, class Graph, class Stack, class... Stages>
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>> {
    static_assert(std::is_same_v<Stack, block_stack<>>, "hinge::network: a block was not closed");
    static_assert(check_output_is_last_stage<Graph::current, sizeof...(Stages)>());
    using type = stage_list<Stages...>;
};

// The layer's output shape for Shape arriving at stage Stage. hinge's layers take the stage index
// as a second template argument, so that their errors name the stage; a layer written without it
// is asked with the shape only.
template <class Layer, class Shape, std::size_t Stage>
constexpr auto output_shape_at() {
    if constexpr (requires { Layer::template output_shape<Shape, Stage>(); })
        return Layer::template output_shape<Shape, Stage>();
    else
        return Layer::template output_shape<Shape>();
}
template <class Layer, class Shape, std::size_t Stage = unknown_stage>
using output_shape_of = decltype(output_shape_at<Layer, Shape, Stage>());

// A stage layer whose output must stay as it is (a recurrent layer's output is the state its next
// step reads) says so with accepts_activation = false; an activation after it is an error, and
// the stage is planned without it, so that nothing else fails.
template <class Layer, class Activation, std::size_t Stage>
constexpr bool check_layer_accepts_activation() {
    if constexpr (requires { Layer::accepts_activation; }) {
        if constexpr (!Layer::accepts_activation) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::network: the output of this layer is its hidden state, which its next step reads, so no "
                         "element-wise activation can be fused after it (and it is already bounded by tanh); put a "
                         "layer between them, e.g. dense<N> then the activation",
                         stage_index<Stage>, Layer, activation<Activation>);
            return false;
        }
    }
    return true;
}

template <class Layer>
struct named_inputs_of {
    using type = named_inputs<>;
};
template <class Layer>
    requires requires { typename Layer::named_inputs; }
struct named_inputs_of<Layer> {
    using type = typename Layer::named_inputs;
};

// A layer that reads a named value besides the current one cannot read the same value twice: the
// gradient of both reads would go to one place.
template <std::size_t Stage, class Layer, bool Distinct>
constexpr bool check_distinct_inputs() {
    if constexpr (!Distinct) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::network: this layer reads the same value twice (its current input is the value it "
                     "names), because the name points at the value the layer already reads; tap the value under "
                     "another name before the layers that change it",
                     stage_index<Stage>, Layer);
    }
    return true;
}

// Stage Stage of Layer, reading the current value of Graph (shape Shape) and the values it names.
template <class Layer, class Shape, class Graph, std::size_t Stage, class Names = typename named_inputs_of<Layer>::type>
struct planned_layer;
template <class Layer, class Shape, class Graph, std::size_t Stage>
struct planned_layer<Layer, Shape, Graph, Stage, named_inputs<>> {
    using out = output_shape_of<Layer, Shape, Stage>;
    using reads = std::conditional_t<Graph::current == Stage, void, source_list<Graph::current>>;
};
template <class Layer, class Shape, class Graph, std::size_t Stage, auto... Names>
struct planned_layer<Layer, Shape, Graph, Stage, named_inputs<Names...>> {
    static_assert((lookup<Names, Graph>::checked && ...));
    static_assert(check_distinct_inputs<Stage, Layer, ((lookup<Names, Graph>::source != Graph::current) && ...)>());
    using out = decltype(Layer::template output_shape<Shape, Stage, typename lookup<Names, Graph>::shape...>());
    using reads = source_list<Graph::current, lookup<Names, Graph>::source...>;
};

// A stage layer followed by an activation: one stage.
template <class Shape, class Graph, class Stack, class... Stages, class Layer, class Activation, class... Rest>
    requires(stage_layer<Layer> && elementwise_activation<Activation>)
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Layer, Activation, Rest...> {
    using fused = std::conditional_t<check_layer_accepts_activation<Layer, Activation, sizeof...(Stages)>(),
                                     Activation, identity>;
    using planned = planned_layer<Layer, Shape, Graph, sizeof...(Stages)>;
    using type = typename group_and_infer<
        typename planned::out, typename Graph::template moved_to<sizeof...(Stages) + 1>, Stack,
        stage_list<Stages..., stage<Layer, fused, Shape, typename planned::out, typename planned::reads>>,
        Rest...>::type;
};

// A stage layer with no activation after it: identity.
template <class Shape, class Graph, class Stack, class... Stages, class Layer, class... Rest>
    requires(stage_layer<Layer>)
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Layer, Rest...> {
    using planned = planned_layer<Layer, Shape, Graph, sizeof...(Stages)>;
    using type = typename group_and_infer<
        typename planned::out, typename Graph::template moved_to<sizeof...(Stages) + 1>, Stack,
        stage_list<Stages..., stage<Layer, identity, Shape, typename planned::out, typename planned::reads>>,
        Rest...>::type;
};

// An activation that no stage layer took: first in the list, or a second one in a row.
template <class Shape, class Graph, class Stack, class... Stages, class Activation, class... Rest>
    requires(elementwise_activation<Activation>)
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Activation, Rest...> {
    static_assert(check_activation_position<Activation, Stages...>());
    using type = typename group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, Rest...>::type;  // carry on after the error
};

// tap<"x">: the current value gets a name.
template <class Shape, class Graph, class Stack, class... Stages, auto Name, class... Rest>
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, tap<Name>, Rest...> {
    using type = typename group_and_infer<Shape, typename Graph::template naming<Name, Graph::current, Shape>, Stack,
                                          stage_list<Stages...>, Rest...>::type;
};

// The output shape of the last stage planned (Shape when there is none).
template <class Shape, class... Stages>
struct last_output {
    using shape = Shape;
};
template <class Shape, class First, class... Stages>
struct last_output<Shape, First, Stages...> {
    using shape = typename boost::mp11::mp_back<stage_list<First, Stages...>>::output_shape;
};

// from<"x">: the next layer reads the value named "x". (After the error for an unknown name, it
// reads the last stage's output, which every later check then finds read.)
template <class Shape, class Graph, class Stack, class... Stages, auto Name, class... Rest>
struct group_and_infer<Shape, Graph, Stack, stage_list<Stages...>, from<Name>, Rest...> {
    using found = lookup<Name, Graph>;
    static_assert(found::checked);
    static constexpr std::size_t source = found::found ? found::source : sizeof...(Stages);
    using shape = typename std::conditional_t<found::found, found, last_output<Shape, Stages...>>::shape;
    using type = typename group_and_infer<shape, typename Graph::template moved_to<source>, Stack,
                                          stage_list<Stages...>, Rest...>::type;
};

// accumulate<"s">: the first one names the current value "s"; every later one plans a stage that
// adds the current value to "s" (accumulate_sum, layers/merge.hpp), whose output is "s" from then
// on. The current value stays what it was.
template <class Shape, class Graph, class Stack, class Planned, auto Name, class Found, class... Rest>
struct group_and_infer_accumulating;
template <class Shape, class Graph, class Stack, class... Stages, auto Name, class Found, class... Rest>
    requires(!Found::found)
struct group_and_infer_accumulating<Shape, Graph, Stack, stage_list<Stages...>, Name, Found, Rest...> {
    using type = typename group_and_infer<Shape, typename Graph::template naming<Name, Graph::current, Shape>, Stack,
                                          stage_list<Stages...>, Rest...>::type;
};
template <class Shape, class Graph, class Stack, class... Stages, auto Name, class Found, class... Rest>
    requires(Found::found)
struct group_and_infer_accumulating<Shape, Graph, Stack, stage_list<Stages...>, Name, Found, Rest...> {
    using sum = accumulate_sum<Name>;
    using out = decltype(sum::template output_shape<typename Found::shape, sizeof...(Stages), Shape>());
    using type = typename group_and_infer<
        Shape, typename Graph::template naming<Name, sizeof...(Stages) + 1, out>, Stack,
        stage_list<Stages..., stage<sum, identity, typename Found::shape, out,
                                    source_list<Found::source, Graph::current>>>,
        Rest...>::type;
};
template <class Shape, std::size_t Current, class... Named, class Stack, class... Stages, auto Name, class... Rest>
struct group_and_infer<Shape, graph_state<Current, Named...>, Stack, stage_list<Stages...>, accumulate<Name>, Rest...> {
    using type = typename group_and_infer_accumulating<Shape, graph_state<Current, Named...>, Stack,
                                                       stage_list<Stages...>, Name, find_value<Name, Named...>,
                                                       Rest...>::type;
};

// A block ends on a layer: its closer reads the block's output as the stage before it.
template <std::size_t Current, std::size_t Stages>
constexpr bool check_block_ends_with_layer() {
    if constexpr (Current != Stages) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::residual<Block...>: the block must end with a layer, because the addition that closes it "
                     "reads the block's last stage; move from<Name> / accumulate<Name> before a layer of the block",
                     stage_index<Stages - 1>);
    }
    return true;
}

// A block opens: remember where its input is stored and its shape.
template <class Shape, class Graph, class... Frames, class... Stages, class... Rest>
struct group_and_infer<Shape, Graph, block_stack<Frames...>, stage_list<Stages...>, block_begin, Rest...> {
    using type = typename group_and_infer<Shape, Graph, block_stack<open_block<Graph::current, Shape>, Frames...>,
                                          stage_list<Stages...>, Rest...>::type;
};

// A block closes: its closer appends the stages it plans itself (a projection shortcut) and puts
// the layers that close it (the addition) in front of the rest, where they are planned as any
// layer (and take the activation written after the block).
template <class Shape, class Graph, class Stack, class Planned, class Added, class Next, class... Rest>
struct group_and_infer_closing;
template <class Shape, class Graph, class Stack, class... Stages, class... Added, class... Next, class... Rest>
struct group_and_infer_closing<Shape, Graph, Stack, stage_list<Stages...>, stage_list<Added...>, sequential<Next...>,
                               Rest...> {
    using type = typename group_and_infer<Shape, typename Graph::template moved_to<sizeof...(Stages) + sizeof...(Added)>,
                                          Stack, stage_list<Stages..., Added...>, Next..., Rest...>::type;
};

template <class Shape, class Graph, std::size_t Source, class Entering, class... Frames, class... Stages, class Closer,
          class... Rest>
struct group_and_infer<Shape, Graph, block_stack<open_block<Source, Entering>, Frames...>, stage_list<Stages...>,
                       block_end<Closer>, Rest...> {
    static_assert(sizeof...(Stages) > Source, "hinge: a block must contain at least one layer");
    static_assert(check_block_ends_with_layer<Graph::current, sizeof...(Stages)>());
    using closing = typename Closer::template close<Source, Entering, Shape, sizeof...(Stages)>;
    using type = typename group_and_infer_closing<Shape, Graph, block_stack<Frames...>, stage_list<Stages...>,
                                                  typename closing::stages, typename closing::next, Rest...>::type;
};

template <class InputShape, class... Layers>
constexpr auto plan() {
    constexpr auto layers = flattened<sequential<Layers...>>::value;
    return hana::unpack(layers, [](auto... layer) {
        return hana::type_c<typename group_and_infer<InputShape, graph_state<0, named_value<value_name("input"), 0, InputShape>>,
                                                     block_stack<>, stage_list<>, typename decltype(layer)::type...>::type>;
    });
}

}  // namespace detail

template <class InputShape, class... Layers>
using planned_stages = typename decltype(detail::plan<InputShape, Layers...>())::type;

}  // namespace hinge
