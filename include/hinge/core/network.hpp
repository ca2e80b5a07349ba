#pragma once
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <hinge/core/plan.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/detail/index_loop.hpp>

namespace hinge {

// Trainable values of a placed stage: its trainable tensors (without padding) and its
// activation's learned slope.
template <class Placed>
constexpr std::size_t stage_parameter_count() {
    std::size_t count = 0;
    for (const tensor_spec& t : detail::declared_tensors<typename Placed::layer_type, Placed>())
        if (t.trainable) count += t.count();
    if (has_learned_slope<typename Placed::activation>) count += Placed::output_width;
    return count;
}

// network<input<Dims...>, Layers...>: a model as a type. Nothing here runs at run time: the members
// are the planner's results, used by storage (core/layout.hpp) and the runtime (runtime/).
template <class Input, class... Layers>
struct network {
    static_assert(detail::is_input<Input>,
                  "network<input<N>, Layers...>: the first argument must be input<N>, because "
                  "every other shape is inferred from it");
    static_assert(sizeof...(Layers) > 0,
                  "network<input<N>, Layers...>: a network needs at least one layer after input<N>");

    using input_shape = typename detail::input_shape_of<Input>::type;
    using stages = planned_stages<input_shape, Layers...>;

    // Values per sample of the input and of the output (the product of the shape's dimensions).
    static constexpr std::size_t input_size = input_shape::size;
    static constexpr std::size_t stage_count = stages::size;
    static_assert(stage_count > 0, "network<input<N>, Layers...>: a network needs at least one layer that opens a stage (dense<N>, conv2d, ...)");
    static constexpr std::size_t output_size = [] {
        if constexpr (stage_count > 0) return stage_at<stages, stage_count - 1>::output_size;
        else return std::size_t{0};  // after the error above, without a cascade
    }();
    // The output as rows: one per sample (a flat output), or one per step of a sequence output
    // <L, C>, each of output_channels values. Losses see rows x positions rows of channels.
    static constexpr std::size_t output_positions = [] {
        if constexpr (stage_count > 0) return stage_at<stages, stage_count - 1>::positions;
        else return std::size_t{1};
    }();
    static constexpr std::size_t output_channels = output_size / output_positions;
    // Logical count of trainable parameters (weights, biases, learned slopes, batch-norm scales
    // and shifts), without the padding of the storage layout and without buffers.
    static constexpr std::size_t parameter_count = [] {
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (stage_parameter_count<placed_stage<stage_at<stages, I>, I>>() + ...);
        }(std::make_index_sequence<stage_count>{});
    }();

    template <std::size_t I>
    using stage = stage_at<stages, I>;
    // Stage I with its index and sources: what layers' declarations receive (core/stage.hpp).
    template <std::size_t I>
    using placed = placed_stage<stage_at<stages, I>, I>;

    // Whether every stage that reads the raw input may (the check below rejects the network if not).
    static constexpr bool first_layer_opens = [] {
        bool all = stage_count > 0;
        for_each_index<stage_count>([&](auto index) {
            using P = placed<decltype(index)::value>;
            all = all && (!P::reads_network_input || stage_property::reads_network_input<typename P::layer_type>);
        });
        return all;
    }();

private:
    // A stage that reads the raw input must say it can (reads_network_input: dense, convolutions,
    // recurrent layers, the merges). One error naming the stage, the layer and the input (the
    // runtime passes skip such a stage, so that using the network adds none; `|| true` so that
    // the static_assert adds none either).
    static constexpr bool check_first_layer() {
        using namespace diagnostic;
        for_each_index<stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            using P = placed<i>;
            using L = typename P::layer_type;
            if constexpr (P::reads_network_input && !stage_property::reads_network_input<L>) {
                HINGE_REJECT("network<input<...>, Layers...>: the first layer, and any layer that reads the network "
                             "input, must be dense, a convolution or a recurrent layer (a layer with "
                             "reads_network_input), because it reads the raw input (pooling, flatten, dropout and "
                             "normalisation of the input are not supported); do them to the data beforehand, e.g. a "
                             "flat input<N> instead of flatten",
                             stage_index<i>, L, arriving_shape<input_shape>);
            }
        });
        return true;
    }
    static_assert(check_first_layer() || true);

    // Every value but the output is read by a later stage: a stage whose output nobody reads would
    // get no gradient (and cost time for nothing). One error per such stage, naming it. (The flags
    // are one array, filled in one pass: a check per pair of stages would instantiate N^2 lambdas.)
    static constexpr std::array<bool, stage_count> read_by_a_later_stage = [] {
        std::array<bool, stage_count> read{};
        for_each_index<stage_count>([&](auto index) {
            for (std::size_t source : placed<decltype(index)::value>::sources::values)
                if (source > 0) read[source - 1] = true;
        });
        return read;
    }();
    static constexpr bool check_every_value_read() {
        using namespace diagnostic;
        for_each_index<stage_count>([&](auto index) {
            constexpr std::size_t i = decltype(index)::value;
            if constexpr (i + 1 < stage_count && !read_by_a_later_stage[i]) {
                HINGE_REJECT("network<input<...>, Layers...>: the output of this stage is never read, because a later "
                             "from<Name> moved away from it before any layer read it; read it (e.g. accumulate<Name> "
                             "or add<Name>), or remove the layers that compute it",
                             stage_index<i>, typename placed<i>::layer_type);
            }
        });
        return true;
    }
    static_assert(check_every_value_read() || true);
};

// with_sequence_length<Net, L>: the same network on sequences of L steps (Net's input is <L0, C>).
// Layers that work per step (recurrent, causal conv1d, dense on a sequence) have the same
// parameters at every length, so parameters<Net> and parameters<with_sequence_length<Net, L>>
// have the same layout (runtime/stream.hpp checks it): train on windows, run on a whole signal,
// or stream one step at a time (L = 1).
namespace detail {
template <class Net, std::size_t Steps>
struct with_sequence_length_of {
    using type = Net;  // not a network of sequences: it has no length to change
};
template <std::size_t L, std::size_t C, class... Layers, std::size_t Steps>
struct with_sequence_length_of<network<input<L, C>, Layers...>, Steps> {
    // A network rejected for its first layer stays itself: its error is not repeated for another length.
    using type = std::conditional_t<network<input<L, C>, Layers...>::first_layer_opens,
                                    network<input<Steps, C>, Layers...>, network<input<L, C>, Layers...>>;
};
}  // namespace detail
template <class Net, std::size_t Steps>
using with_sequence_length = typename detail::with_sequence_length_of<Net, Steps>::type;

// Whether every stage is affine or normalising on flat vectors, reading the stage before it (a
// multilayer perceptron): the networks that the analysis toolkit (analysis/) understands.
template <class Net>
inline constexpr bool multilayer_perceptron = Net::input_shape::rank == 1 && []<std::size_t... I>(std::index_sequence<I...>) {
    return (((stage_property::affine<typename Net::template stage<I>::layer_type> ||
              stage_property::normalizes<typename Net::template stage<I>::layer_type>) &&
             Net::template placed<I>::sources::size == 1 && Net::template placed<I>::sources::values[0] == I) && ...);
}(std::make_index_sequence<Net::stage_count>{});

}  // namespace hinge
