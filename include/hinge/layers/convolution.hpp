#pragma once
// Convolutions: the product of dense layers applied to every window of the input.
//
// Weights: a (Kh * Kw * Cin) x Filters matrix, in the same panel storage as dense weights, its
// rows ordered (kernel row, kernel column, input channel): weight(f, (kh * Kw + kw) * Cin + c).
// PyTorch's conv.weight[f, c, kh, kw] is weight(f, (kh * Kw + kw) * Cin + c) here; files
// (io/safetensors.hpp, io/save.hpp) hold PyTorch's [F, C, Kh, Kw] and io::tensor_table reorders.
//
// Grouped convolutions (Groups = G > 1, PyTorch's groups; depthwise: G = C): filter f sees only
// the C / G channels of its group f / (F / G). The weight is the same kind of matrix with the
// rows of one group's window, (Kh * Kw * C / G) x Filters: weight(f, (kh * Kw + kw) * C / G + c)
// is PyTorch's conv.weight[f, c, kh, kw] of shape [F, C / G, Kh, Kw]. That keeps the panel
// storage, the io table (a window of C / G channels: tensor_spec::window_channels), the views,
// the initialisers (fan-in K C / G, as PyTorch's) and the optimizers as they are for every weight,
// and stores no zero of the block-diagonal dense matrix. Its kernels are direct ones
// (kernels/grouped_convolution.hpp); Groups = 1 keeps the products of kernels/convolution.hpp.
#include <algorithm>
#include <array>
#include <cstddef>

#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/window.hpp>
#include <hinge/kernels/convolution.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/grouped_convolution.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

namespace detail {

// The stage of conv1d and conv2d (core/stage.hpp): the product of a dense layer with every window
// of the input. Weights: a (Kh * Kw * Cin / Groups) x Filters matrix stored like a dense weight.
template <std::size_t Filters, std::size_t Groups = 1>
struct convolution_stage {
    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr bool affine = true;
    static constexpr std::size_t filters = Filters;
    static constexpr std::size_t groups = Groups;

    template <class S>
    static constexpr window_geometry geometry_of() {
        return S::layer_type::template geometry<typename S::input_shape>();
    }

    // PyTorch's nn.Conv2d / nn.Conv1d: weight [F, C / G, Kh, Kw] (conv1d: [F, C / G, K]), bias
    // [F]. A weight row is (tap, channel) here and (channel, tap) in PyTorch (input_order::window,
    // over the C / G channels of one group).
    enum tensor : std::size_t { weight, bias };
    static constexpr std::size_t output_bias_tensor = bias;
    template <class S>
    static constexpr std::array<tensor_spec, 2> tensors() {
        constexpr window_geometry g = geometry_of<S>();
        using In = typename S::input_shape;
        constexpr std::size_t group_channels = In::channels / Groups;
        tensor_spec w = weight_matrix("weight", "weight", S::input_width, Filters, S::fan_out, input_order::window);
        w.window_positions = g.window_size();
        w.window_channels = group_channels;
        w.torch_rank = In::rank + 1;
        w.torch_shape = In::rank == 3 ? std::array<std::size_t, 4>{Filters, group_channels, g.kernel_height, g.kernel_width}
                                      : std::array<std::size_t, 4>{Filters, group_channels, g.kernel_width, 1};
        return {w, unit_vector("bias", tensor_role::bias, "bias", Filters)};
    }

    // The windows of one sample (positions x fan-in, forward and weight gradient), the windows of
    // the output gradient seen from each input position (input gradient; for a first stage also
    // the input gradient of one sample with padded channels), the packed input of the weight
    // gradient and the transposed weights.
    // A grouped convolution reads its taps in place, so it needs no windows; its backward needs the
    // transposed weights (K F / G rows of pad(C)) and, for a first stage, the input gradient of one
    // sample with padded channels (in gradient_windows).
    enum buffer : std::size_t { windows, gradient_windows, packed_input, transposed_weight };
    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 4> buffers() {
        constexpr std::size_t P = panel_width<T>, cin = S::input_shape::channels;
        if constexpr (Groups > 1) {
            constexpr std::size_t taps = geometry_of<S>().window_size();
            return {buffer_spec{0, true, false},
                    buffer_spec{S::reads_network_input ? S::input_positions * round_up(cin, P) : 0, true, true},
                    buffer_spec{0, true, true}, buffer_spec{taps * (Filters / Groups) * round_up(cin, P), true, true}};
        } else {
            constexpr std::size_t taps = S::input_width / cin;
            constexpr std::size_t gradient = S::input_positions * taps * Filters;
            // The input gradient of one sample with padded channels, after the windows: for a stage
            // that reads the network input, and for one that adds into a gradient another reader
            // of its input wrote (which is known only to the layout, after the buffers).
            return {buffer_spec{S::positions * S::input_width, true, false},
                    buffer_spec{round_up(gradient, P) + S::input_positions * round_up(cin, P), true, true},
                    buffer_spec{(S::input_width + max_micro_rows) * std::min(S::positions, depth_block), true, true},
                    buffer_spec{round_up(cin, P) * taps * Filters, true, true}};
        }
    }

    // A causal conv1d carries the last (K - 1) * dilation input positions of each sequence in a
    // ring (rows of the input's position stride).
    template <class S>
    // A causal convolution with a past to carry: with one tap (kernel 1) there is none, and the
    // layer is a 1 x 1 convolution, run and streamed as one.
    static constexpr bool causal() {
        return S::layer_type::padding_kind == padding::causal && geometry_of<S>().pad_left > 0;
    }
    template <class S, class T>
    static constexpr std::size_t state_size() {
        if constexpr (causal<S>()) return geometry_of<S>().pad_left * ring_row_width<S, T>();
        else return 0;
    }
    template <class S, class T>
    static constexpr std::size_t ring_row_width() {
        return S::reads_network_input ? S::input_shape::channels : round_up(S::input_shape::channels, panel_width<T>);
    }

    // One step at a time equals the whole sequence for a causal conv1d (it keeps its past) and for
    // any convolution of one tap and stride 1 (it has no past to keep).
    template <class S>
    static constexpr bool streams() {
        constexpr window_geometry g = geometry_of<S>();
        return S::input_shape::rank == 2 && g.stride_width == 1 &&
               (causal<S>() || (g.kernel_width == 1 && g.pad_left == 0));
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, "convolution");
        description::put_geometry(out, geometry_of<S>(), Groups);  // " groups G" only when G > 1
    }

    template <class S, class U, std::size_t N>
    static constexpr auto parameter_view(const std::array<U*, N>& t, U* slope) noexcept {
        return dense_view<U, S::input_width, Filters>(t[weight], t[bias], slope);
    }

    template <class Context>
    static auto causal_context(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        return kernels::causal_context<T>{ctx.state(), Context::state_stride, ring_row_width<S, T>(),
                                          ctx.passes() * S::input_positions};
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        if constexpr (Groups > 1) grouped_forward(ctx);
        else ungrouped_forward(ctx);
    }

    template <class Context>
    static void ungrouped_forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        using A = typename Context::activation;
        constexpr window_geometry G = geometry_of<S>();
        const auto in = ctx.input();
        const kernels::activation_inputs<T> activation = ctx.activation_inputs();
        if constexpr (Context::single_step && causal<S>()) {
            // One step of one sequence (a stream): taps read in place, no window gathered.
            kernels::causal_convolution_step<A, G, Filters>(in.rows, causal_context(ctx), ctx.parameter(weight),
                                                            ctx.parameter(bias), ctx.output(), activation);
        } else if constexpr (Context::single_step && G.window_size() == 1) {
            // One tap, one step: a per-step dense layer.
            kernels::dense_row<weight_format::float32, A, S::input_width, Filters>(
                in.rows, ctx.parameter(weight), ctx.parameter(bias), nullptr, ctx.output(), activation);
        } else {
            const kernels::causal_context<T> context = causal_context(ctx);
            ctx.on_team([&](work_share share) {
                kernels::convolution_forward<A, G, Filters>(ctx.samples(), in.rows, in.stride, ctx.parameter(weight),
                                                            ctx.parameter(bias), ctx.output(), activation,
                                                            ctx.pre_activation(), ctx.buffer(windows),
                                                            context.ring ? &context : nullptr, share);
            });
        }
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        if constexpr (Groups > 1) grouped_backward(ctx);
        else ungrouped_backward(ctx);
    }

    template <class Context>
    static void ungrouped_backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        constexpr window_geometry G = geometry_of<S>();
        const auto in = ctx.input();
        const kernels::causal_context<T> context = causal_context(ctx);
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        // The batched input-gradient product writes its rows; the network input's gradient and a
        // gradient that other readers of the input have written into already are made one
        // sample at a time in padded scratch rows, then copied out or added.
        constexpr bool input_product = !sink::network_input && !sink::accumulate;
        if constexpr (input_product)
            kernels::transpose_convolution_weights<G, Filters>(ctx.parameter(weight), ctx.buffer(transposed_weight));
        // The input-gradient product splits rows, so its column sums are per member.
        const member_column_sums<T> sums(ctx.team(), into.target, Context::template input_stride<0>);
        ctx.on_team([&](work_share share) {
            kernels::convolution_weight_gradient<G, Filters>(ctx.samples(), in.rows, in.stride, ctx.dz(),
                                                             Context::dz_stride, ctx.gradient(weight),
                                                             ctx.buffer(windows), ctx.buffer(packed_input),
                                                             context.ring ? &context : nullptr, share);
            if constexpr (input_product) {
                if (!sums.take(share)) return;
                kernels::convolution_input_gradient_product<typename sink::activation, G, Filters>(
                    ctx.samples(), ctx.dz(), Context::dz_stride, ctx.buffer(transposed_weight), sums.target(share),
                    into.rows, into.stride, ctx.buffer(gradient_windows), share);
            }
        });
        sums.reduce();
        if constexpr (!input_product) {
            if (into) {
                // Padded rows first (the product writes whole panels), in the scratch after the windows.
                constexpr std::size_t Cp = round_up(G.channels, panel_width<T>);
                T* padded = ctx.buffer(gradient_windows) +
                            round_up(G.input_positions() * G.window_size() * Filters, panel_width<T>);
                for (std::size_t n = 0; n < ctx.samples(); ++n) {
                    kernels::convolution_input_gradient<identity, G, Filters>(
                        1, ctx.dz() + n * S::positions * Context::dz_stride, Context::dz_stride, ctx.parameter(weight),
                        ctx.buffer(transposed_weight), into.target, padded, Cp, ctx.buffer(gradient_windows));
                    if constexpr (sink::network_input) {
                        ctx.unpad_network_input_gradient(n, 1, padded, Cp);
                    } else {
                        constexpr std::size_t positions = S::input_shape::positions;
                        for (std::size_t p = 0; p < positions; ++p) {
                            T* row = into.rows + (n * positions + p) * into.stride;
                            for (std::size_t c = 0; c < G.channels; ++c) row[c] += padded[p * Cp + c];
                        }
                    }
                }
            }
        }
    }

    // ---- Groups > 1: the direct kernels of kernels/grouped_convolution.hpp ----

    template <class Context>
    static void grouped_forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        using A = typename Context::activation;
        constexpr window_geometry G = geometry_of<S>();
        const auto in = ctx.input();
        const kernels::activation_inputs<T> activation = ctx.activation_inputs();
        const kernels::causal_context<T> context = causal_context(ctx);
        if constexpr (Context::single_step && causal<S>()) {
            // One step of one sequence (a stream): the taps read the input and the ring in place.
            kernels::grouped_causal_step<A, G, Filters, Groups>(in.rows, context, ctx.parameter(weight),
                                                                ctx.parameter(bias), ctx.output(), activation);
        } else {
            ctx.on_team([&](work_share share) {
                kernels::grouped_convolution_forward<A, G, Filters, Groups>(
                    ctx.samples(), in.rows, in.stride, ctx.parameter(weight), ctx.parameter(bias), ctx.output(),
                    activation, ctx.pre_activation(), context.ring ? &context : nullptr, share);
            });
        }
    }

    template <class Context>
    static void grouped_backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        constexpr window_geometry G = geometry_of<S>();
        const auto in = ctx.input();
        const kernels::causal_context<T> context = causal_context(ctx);
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::accumulate, "convolution: a grouped convolution must be the first or the last reader "
                                         "of its input value, because its input-gradient kernel writes its rows and "
                                         "cannot add to a gradient another reader wrote");
        constexpr std::size_t Cp = round_up(G.channels, panel_width<T>);
        if constexpr (!sink::network_input)
            kernels::transpose_grouped_weights<G, Filters, Groups>(ctx.parameter(weight), ctx.buffer(transposed_weight));
        // The input gradient splits the input positions, so its column sums are per member.
        const member_column_sums<T> sums(ctx.team(), into.target, Context::template input_stride<0>);
        ctx.on_team([&](work_share share) {
            kernels::grouped_convolution_weight_gradient<G, Filters, Groups>(
                ctx.samples(), in.rows, in.stride, ctx.dz(), Context::dz_stride, ctx.gradient(weight),
                context.ring ? &context : nullptr, share);
            if constexpr (!sink::network_input) {
                if (!sums.take(share)) return;
                kernels::grouped_convolution_input_gradient<typename sink::activation, G, Filters, Groups>(
                    ctx.samples(), ctx.dz(), Context::dz_stride, ctx.buffer(transposed_weight), sums.target(share),
                    into.rows, into.stride, share);
            }
        });
        sums.reduce();
        if constexpr (sink::network_input) {
            if (into) {
                // The network input's rows are unpadded: padded rows of one sample first, then copied.
                kernels::transpose_grouped_weights<G, Filters, Groups>(ctx.parameter(weight),
                                                                       ctx.buffer(transposed_weight));
                T* padded = ctx.buffer(gradient_windows);
                for (std::size_t n = 0; n < ctx.samples(); ++n) {
                    kernels::grouped_convolution_input_gradient<identity, G, Filters, Groups>(
                        1, ctx.dz() + n * S::positions * Context::dz_stride, Context::dz_stride,
                        ctx.buffer(transposed_weight), into.target, padded, Cp);
                    ctx.unpad_network_input_gradient(n, 1, padded, Cp);
                }
            }
        }
    }

    // After a pass, the ring holds each sequence's last (K - 1) * dilation inputs.
    template <class Context>
    static void advance_state(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        if constexpr (causal<S>()) {
            const auto in = ctx.input();
            const kernels::causal_context<T> context = causal_context(ctx);
            for (std::size_t n = 0; n < ctx.samples(); ++n)
                kernels::push_causal_context<geometry_of<S>().pad_left, ring_row_width<S, T>()>(
                    S::input_positions, in.rows + n * S::input_positions * in.stride, in.stride,
                    ctx.stored_state() + n * Context::state_stride, context);
        }
    }
};

}  // namespace detail

namespace detail {
// Whether Groups divides both the arriving channels and Filters (PyTorch's rule for groups).
template <std::size_t Channels, std::size_t Filters, std::size_t Groups>
inline constexpr bool divides_channels_and_filters = Channels % Groups == 0 && Filters % Groups == 0;
}  // namespace detail

// conv2d<Filters, Kernel, Stride, Padding, Dilation, Groups> on an image <H, W, C>: Kernel x Kernel
// windows, Filters output channels. Groups = G splits the channels and the filters into G groups
// (PyTorch's groups: C and Filters multiples of G); depthwise is G = C, Filters = M C.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = padding::same,
          std::size_t Dilation = 1, std::size_t Groups = 1>
struct conv2d : detail::convolution_stage<Filters, Groups> {
    static_assert(Filters > 0, "conv2d<Filters, Kernel, ...>: Filters must be at least 1");
    static_assert(Kernel > 0, "conv2d<Filters, Kernel, ...>: Kernel must be at least 1");
    static_assert(Stride > 0 && Dilation > 0, "conv2d<Filters, Kernel, Stride, Padding, Dilation>: Stride and Dilation must be at least 1");
    static_assert(Groups > 0, "conv2d<Filters, Kernel, Stride, Padding, Dilation, Groups>: Groups must be at least 1");

    static constexpr padding padding_kind = Padding;

    template <class Arriving>
    static constexpr window_geometry geometry() {
        return detail::make_window_geometry<Arriving>(Kernel, Kernel, Stride, Stride, Dilation, Dilation, Padding);
    }
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        if constexpr (Arriving::rank != 3) {
            using namespace diagnostic;
            HINGE_REJECT("conv2d: the arriving value (arriving_shape) is not an image <H, W, C>, because conv2d "
                         "slides a 2-D window; use conv1d for a sequence <L, C>, or start the network with "
                         "input<H, W, C>",
                         stage_index<Stage>, conv2d, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return shape<1, 1, Filters>{};  // no further error from the geometry of a non-image
        } else if constexpr (Padding == padding::causal) {
            using namespace diagnostic;
            HINGE_REJECT("conv2d<..., padding::causal>: causal padding is defined for sequences only, because an "
                         "image has no direction of time; use padding::same or padding::valid, or conv1d on input<L, C>",
                         stage_index<Stage>, conv2d, arriving_shape<Arriving>);
            return shape<Arriving::height, Arriving::width, Filters>{};
        } else {
            constexpr window_geometry g = geometry<Arriving>();
            if constexpr (!detail::divides_channels_and_filters<Arriving::channels, Filters, Groups>) {
                using namespace diagnostic;
                HINGE_REJECT("conv2d<..., Groups>: the arriving channels and Filters must both be multiples of "
                             "Groups, because each of the Groups groups convolves its share of the input channels "
                             "into its share of the filters, as PyTorch groups them; use a Groups that divides both "
                             "(depthwise: Groups = input_channels, Filters a multiple of it)",
                             stage_index<Stage>, conv2d, diagnostic::input_channels<Arriving::channels>,
                             diagnostic::filters<Filters>, diagnostic::groups<Groups>);
            }
            if constexpr (g.out_height == 0 || g.out_width == 0) {
                using namespace diagnostic;
                HINGE_REJECT("conv2d<..., padding::valid>: the kernel (kernel_span positions, with the dilation) is "
                             "larger than the arriving image (arriving_shape), because a valid window must fit "
                             "inside the image; use padding::same, a smaller kernel or dilation, or pool less before",
                             stage_index<Stage>, conv2d, arriving_shape<Arriving>,
                             kernel_span<detail::window_span(Kernel, Dilation)>);
                return shape<1, 1, Filters>{};  // carry on with a valid shape: one error only
            } else {
                return shape<g.out_height, g.out_width, Filters>{};
            }
        }
    }
    // The inputs of one output: the kernel's taps over the channels of one group.
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Kernel * Kernel * Arriving::channels / Groups;
    }
};

// conv1d<Filters, Kernel, Stride, Padding, Dilation, Groups> on a sequence <L, C>. A dilated causal
// stack (WaveNet, TCN) is conv1d<F, 2, 1, padding::causal, D> with D = 1, 2, 4, ...: every layer
// keeps the length, output t depends on inputs up to t only, and hinge::stream runs the stack one
// sample at a time (padding::valid shortens the sequence by (K - 1) D per layer instead). Groups
// as for conv2d; a causal grouped or depthwise conv1d streams too.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, padding Padding = padding::same,
          std::size_t Dilation = 1, std::size_t Groups = 1>
struct conv1d : detail::convolution_stage<Filters, Groups> {
    static_assert(Filters > 0, "conv1d<Filters, Kernel, ...>: Filters must be at least 1");
    static_assert(Kernel > 0, "conv1d<Filters, Kernel, ...>: Kernel must be at least 1");
    static_assert(Stride > 0 && Dilation > 0, "conv1d<Filters, Kernel, Stride, Padding, Dilation>: Stride and Dilation must be at least 1");
    static_assert(Groups > 0, "conv1d<Filters, Kernel, Stride, Padding, Dilation, Groups>: Groups must be at least 1");

    static constexpr padding padding_kind = Padding;

    template <class Arriving>
    static constexpr window_geometry geometry() {
        return detail::make_window_geometry<Arriving>(1, Kernel, 1, Stride, 1, Dilation, Padding);
    }
    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank != 2) {
            HINGE_REJECT("conv1d: the arriving value (arriving_shape) is not a sequence <L, C>, because conv1d "
                         "slides a 1-D window; use conv2d for an image <H, W, C>, or start the network with "
                         "input<L, C>",
                         stage_index<Stage>, conv1d, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return shape<1, Filters>{};  // no further error from the geometry of a non-sequence
        } else if constexpr (Padding == padding::causal && Stride != 1) {
            HINGE_REJECT("conv1d<..., padding::causal>: a causal convolution must have stride 1, because its output "
                         "has one value per input step (what a stream produces sample by sample); use Stride = 1, "
                         "or padding::valid for a strided convolution",
                         stage_index<Stage>, conv1d, diagnostic::stride<Stride>);
            return shape<Arriving::width, Filters>{};
        } else {
            constexpr window_geometry g = geometry<Arriving>();
            if constexpr (!detail::divides_channels_and_filters<Arriving::channels, Filters, Groups>) {
                HINGE_REJECT("conv1d<..., Groups>: the arriving channels and Filters must both be multiples of "
                             "Groups, because each of the Groups groups convolves its share of the input channels "
                             "into its share of the filters, as PyTorch groups them; use a Groups that divides both "
                             "(depthwise: Groups = input_channels, Filters a multiple of it)",
                             stage_index<Stage>, conv1d, diagnostic::input_channels<Arriving::channels>,
                             diagnostic::filters<Filters>, diagnostic::groups<Groups>);
            }
            if constexpr (g.out_width == 0) {
                HINGE_REJECT("conv1d<..., padding::valid>: the kernel (kernel_span positions, with the dilation) is "
                             "longer than the arriving sequence (arriving_shape), because a valid window must fit "
                             "inside it; use padding::same, a smaller kernel or dilation",
                             stage_index<Stage>, conv1d, arriving_shape<Arriving>,
                             kernel_span<detail::window_span(Kernel, Dilation)>);
                return shape<1, Filters>{};
            } else {
                return shape<g.out_width, Filters>{};
            }
        }
    }
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Kernel * Arriving::channels / Groups;
    }
};

}  // namespace hinge
