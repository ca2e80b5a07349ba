#pragma once
// Merges: stages that read the current value and a named one (core/graph.hpp) and combine them.
//
//   add<"x">        y = Act(current + x)                 the shapes must be equal
//   multiply<"x">   y = Act(current * x)                 element-wise; the shapes must be equal
//   concat<"x">     y = Act([current, x])                along the channels; the positions must agree
//
// and accumulate_sum, the stage a later accumulate<"s"> plans: s = s + current.
//
// A merge stores no copy of what it reads: it reads both values where their stages stored them
// (kernels/merge.hpp), and its backward pass sends each its part of the gradient through the stage
// context (the producer's activation derivative fused there, a value read by several stages
// summed once). The activation written after a merge is applied in the merge's pass.
#include <cstddef>
#include <type_traits>

#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/graph.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/kernels/merge.hpp>

namespace hinge {

namespace detail {

template <std::size_t Stage, class Layer, class Current, class Named>
constexpr bool check_equal_shapes() {
    if constexpr (!std::is_same_v<Current, Named>) {
        using namespace diagnostic;
        HINGE_REJECT("hinge::add / multiply / accumulate: both values must have the same shape, because they are "
                     "combined element by element; change the layer that makes one of them (e.g. a conv1d<C, 1> or "
                     "dense<N> to the other's channels)",
                     stage_index<Stage>, Layer, current_shape<Current>, named_shape<Named>);
    }
    return true;
}

// Shapes with the same positions: the same rank and the same dimensions but the channels.
template <class A, class B>
constexpr bool same_positions() {
    if constexpr (A::rank != B::rank) return false;
    else {
        for (std::size_t d = 0; d + 1 < A::rank; ++d)
            if (A::dimension(d) != B::dimension(d)) return false;
        return true;
    }
}

template <class Shape, std::size_t Channels>
struct with_channels;
template <std::size_t... Dims, std::size_t Channels>
struct with_channels<shape<Dims...>, Channels> {
    static constexpr std::size_t rank = sizeof...(Dims);
    using type = decltype([] {
        if constexpr (rank == 1) return shape<Channels>{};
        else if constexpr (rank == 2) return shape<shape<Dims...>::dimension(0), Channels>{};
        else return shape<shape<Dims...>::dimension(0), shape<Dims...>::dimension(1), Channels>{};
    }());
};
// Shape with its channels replaced by Channels.
template <class Shape, std::size_t Channels>
using with_channels_t = typename with_channels<Shape, Channels>::type;

// What every element-wise merge shares: it reads any stored value, the network input included,
// streams per position, and keeps the order of its units.
struct elementwise_merge {
    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr channel_order_rule channel_order = channel_order_rule::keeps;
    template <class S>
    static constexpr bool streams() {
        return true;
    }
};

// Sends input K its gradient, g_of(r, c) a vector of channels c.. of row r (C valid channels,
// Cp: the operand's padded width, every column of which is written), to the stage that produced
// it, to its skip gradient, or (the first stage's own input) to the network input's gradient.
template <std::size_t K, std::size_t C, std::size_t Cp, class Context, class Gradient>
void send_gradient(const Context& ctx, Gradient g_of) noexcept {
    using sink_type = decltype(ctx.template input_gradient<K>());
    using T = typename Context::value_type;
    if constexpr (sink_type::network_input) {
        // Rows of C values, unpadded: the plain path, one vector per value (a first stage only).
        ctx.template write_input_gradient<K>([&](std::size_t r, std::size_t c) {
            alignas(storage_alignment) T lanes[kernels::vector_width<T>];
            const std::size_t first = c / kernels::vector_width<T> * kernels::vector_width<T>;
            g_of(r, first).store_aligned(lanes);
            return lanes[c - first];
        });
    } else {
        const auto sink = ctx.template input_gradient<K>();
        if (!sink.target.u)
            kernels::gradient_to_skip<sink_type::accumulate, C, Cp>(ctx.rows(), g_of, sink.rows, sink.stride);
        else
            kernels::gradient_to_producer<typename sink_type::activation, C, Cp>(ctx.rows(), g_of, sink.target,
                                                                                sink.rows, sink.stride);
    }
}

// y = Act(a + b), and both operands get dz.
struct sum_of_two : elementwise_merge {
    template <class Context>
    static void forward(const Context& ctx) noexcept {
        const auto a = ctx.template input<0>();
        const auto b = ctx.template input<1>();
        kernels::combine_forward<typename Context::activation, Context::stage::output_width, Context::output_stride>(
            ctx.rows(), a.rows, a.stride, b.rows, b.stride, ctx.output(), ctx.activation_inputs(), ctx.pre_activation(),
            [](auto x, auto y) { return x + y; });
    }
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using V = kernels::vector<typename Context::value_type>;
        const auto* dz = ctx.dz();
        const auto g = [&](std::size_t r, std::size_t c) { return V::load_aligned(dz + r * Context::dz_stride + c); };
        constexpr std::size_t C = Context::stage::output_width, Cp = Context::output_stride;
        send_gradient<0, C, Cp>(ctx, g);
        send_gradient<1, C, Cp>(ctx, g);
    }
};

// The shape rule of a merge of the current value and one named value of the same shape; Self is
// the merge, which the error names.
template <class Self, auto Name>
struct same_shape_as_named {
    using named_inputs = hinge::named_inputs<Name>;
    template <class Arriving, std::size_t Stage, class Named>
    static constexpr auto output_shape() {
        static_assert(check_equal_shapes<Stage, Self, Arriving, Named>());
        return Arriving{};
    }
};

}  // namespace detail

template <value_name Name>
struct add : detail::sum_of_two, detail::same_shape_as_named<add<Name>, Name> {
    static constexpr const char* name = "add";
};

template <auto Name>
struct accumulate_sum : detail::sum_of_two {
    static constexpr const char* name = "accumulate";
    // Input 0: the sum so far (this stage's input shape); input 1: the value added to it.
    template <class Sum, std::size_t Stage, class Added>
    static constexpr auto output_shape() {
        static_assert(detail::check_equal_shapes<Stage, accumulate<Name>, Added, Sum>());
        return Sum{};
    }
};

template <value_name Name>
struct multiply : detail::elementwise_merge, detail::same_shape_as_named<multiply<Name>, Name> {
    static constexpr const char* name = "multiply";

    // y = Act(a * b): dL/da = dz * b, dL/db = dz * a.
    template <class Context>
    static void forward(const Context& ctx) noexcept {
        const auto a = ctx.template input<0>();
        const auto b = ctx.template input<1>();
        kernels::combine_forward<typename Context::activation, Context::stage::output_width, Context::output_stride>(
            ctx.rows(), a.rows, a.stride, b.rows, b.stride, ctx.output(), ctx.activation_inputs(), ctx.pre_activation(),
            [](auto x, auto y) { return x * y; });
    }
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using V = kernels::vector<typename Context::value_type>;
        constexpr std::size_t C = Context::stage::output_width, Cp = Context::output_stride;
        const auto a = ctx.template input<0>();
        const auto b = ctx.template input<1>();
        const auto* dz = ctx.dz();
        detail::send_gradient<0, C, Cp>(ctx, [&](std::size_t r, std::size_t c) {
            return V::load_aligned(dz + r * Context::dz_stride + c) * kernels::load_channels(b.rows + r * b.stride, c, C);
        });
        detail::send_gradient<1, C, Cp>(ctx, [&](std::size_t r, std::size_t c) {
            return V::load_aligned(dz + r * Context::dz_stride + c) * kernels::load_channels(a.rows + r * a.stride, c, C);
        });
    }
};

template <value_name Name>
struct concat : detail::elementwise_merge {
    static constexpr const char* name = "concat";
    static constexpr channel_order_rule channel_order = channel_order_rule::resets;  // new units, in order
    using named_inputs = hinge::named_inputs<Name>;

    template <class Arriving, std::size_t Stage, class Named>
    static constexpr auto output_shape() {
        if constexpr (!detail::same_positions<Arriving, Named>()) {
            using namespace diagnostic;
            HINGE_REJECT("hinge::concat<Name>: both values must have the same positions, because they are joined "
                         "along the channels at every position; make both sequences of the same length (or both flat)",
                         stage_index<Stage>, concat, current_shape<Arriving>, named_shape<Named>);
            return Arriving{};
        } else {
            return detail::with_channels_t<Arriving, Arriving::channels + Named::channels>{};
        }
    }

    // y = Act([a, b]); the gradient of each is its part of dz.
    template <class Context>
    static void forward(const Context& ctx) noexcept {
        constexpr std::size_t first = Context::template input_shape<0>::channels;
        const auto a = ctx.template input<0>();
        const auto b = ctx.template input<1>();
        ctx.write_output([&](std::size_t r, std::size_t c) {
            return c < first ? a.rows[r * a.stride + c] : b.rows[r * b.stride + c - first];
        });
    }
    template <class Context>
    static void backward(const Context& ctx) noexcept {
        constexpr std::size_t first = Context::template input_shape<0>::channels;
        const auto* dz = ctx.dz();
        ctx.template write_input_gradient<0>([&](std::size_t r, std::size_t c) { return dz[r * Context::dz_stride + c]; });
        ctx.template write_input_gradient<1>(
            [&](std::size_t r, std::size_t c) { return dz[r * Context::dz_stride + first + c]; });
    }
};

}  // namespace hinge
