#pragma once
// What gru and lstm share: the shape rule and the interface of a recurrent cell.
//
// A recurrent layer reads a sequence <L, C> one step at a time and keeps a hidden state h of
// Hidden values (lstm also a cell state c). Each step computes Gates blocks of Hidden
// pre-activations twice over: from the input, a = x_t W_ih + b_ih, and from the previous hidden
// state, r = h_{t-1} W_hh + b_hh (PyTorch's two weight matrices and two bias vectors, gate-major:
// W_ih is [Gates * Hidden, C], W_hh is [Gates * Hidden, Hidden]). The layer's cell equations
// combine them into the new state:
//
//   summed_gates[G]: the gates whose pre-activation is a + r and nothing else (lstm: all four;
//       gru: r and z, not n, which scales r_n by the reset gate). The kernels add those before
//       the cell (a stream's step starts r's product from a, which takes an add off its
//       critical path).
//   forward_step(s[G], r[G], h_prev, c_prev) -> gate[G] (the gate values kept for the backward
//       pass), extra (one more kept vector: gru's r_n = W_hn h + b_hn, lstm's c_t), h_t, c_t;
//       s[g] is a[g] + r[g] for a summed gate (r[g] is then not read) and a[g] for the others
//   backward_step(gate[G], extra, h_prev, c_prev, dh, dc) -> da[G] = dL/da, dr[G] = dL/dr,
//       dh_direct (the part of dL/dh_{t-1} that does not go through W_hh), dc (in: dL/dc_t from
//       the next step; out: dL/dc_{t-1})
//
// written once on a generic value V (float, double, xsimd batch), as activations are. Nothing
// here loops: kernels/recurrent.hpp runs the cell over steps, samples and SIMD vectors, with the
// input projection of all steps as one matrix product.
//
// returns::all_steps gives the sequence <L, Hidden> of every h_t (PyTorch's `output`), and
// returns::last_step the vector <Hidden> of h_{L-1} only (PyTorch's h_n), for a sequence
// classifier or a stacked model's summary.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#include <hinge/activations/value_ops.hpp>
#include <hinge/core/description.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/stage.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/init/random.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/recurrent.hpp>
#include <hinge/runtime/stage_context.hpp>

namespace hinge {

// The view of a recurrent stage (gru, lstm): PyTorch's four tensors, indexed as PyTorch indexes
// them. Row o of W_ih [Gates * Hidden, In] / W_hh [Gates * Hidden, Hidden] and element o of the
// biases belong to gate o / Hidden, unit o % Hidden (gru: r, z, n; lstm: i, f, g, o).
template <class T, std::size_t In, std::size_t Hidden, std::size_t Gates>
class recurrent_view {
public:
    static constexpr std::size_t input_width = In;
    static constexpr std::size_t output_width = Hidden;
    static constexpr std::size_t gates = Gates;
    static constexpr std::size_t gate_rows = Gates * Hidden;  // rows of PyTorch's weight_ih / weight_hh
    static constexpr std::size_t panel = panel_width<std::remove_const_t<T>>;
    static constexpr std::size_t padded_output = round_up(Hidden, panel);
    static constexpr std::size_t gate_width = Gates * padded_output;

    constexpr recurrent_view(T* weight_ih, T* weight_hh, T* bias_ih, T* bias_hh) noexcept
        : weight_ih_(weight_ih), weight_hh_(weight_hh), bias_ih_(bias_ih), bias_hh_(bias_hh) {}

    constexpr T& weight_ih(std::size_t row, std::size_t input) const noexcept {
        return at(weight_ih_, In, column(row), input);
    }
    constexpr T& weight_hh(std::size_t row, std::size_t hidden) const noexcept {
        return at(weight_hh_, Hidden, column(row), hidden);
    }
    constexpr T& bias_ih(std::size_t row) const noexcept { return bias_ih_[column(row)]; }
    constexpr T& bias_hh(std::size_t row) const noexcept { return bias_hh_[column(row)]; }
    constexpr bool has_slope() const noexcept { return false; }

    // Where PyTorch's row lives among the stage's gate_width columns.
    static constexpr std::size_t column(std::size_t row) noexcept {
        return row / Hidden * padded_output + row % Hidden;
    }

private:
    static constexpr T& at(T* w, std::size_t fan_in, std::size_t column, std::size_t input) noexcept {
        return w[column / panel * (fan_in * panel) + input * panel + column % panel];
    }
    T* weight_ih_;
    T* weight_hh_;
    T* bias_ih_;
    T* bias_hh_;
};


enum class returns { all_steps, last_step };

namespace detail {

// The gate functions of the cells, math::gate_tanh and math::gate_sigmoid: on float SIMD vectors
// rational approximations without exp or branch (at most 5.6 ulp from tanh; kernels/simd.hpp says
// why), elsewhere tanh and (1 + tanh(x / 2)) / 2. The sigmoid is within 2e-7 of sigmoid in float:
// accurate in absolute terms, which is what a gate needs (it scales a value), where the sigmoid
// activation keeps full relative accuracy for the probabilities it is used for. The backward pass
// takes the derivatives from the stored gate values, y (1 - y) and 1 - y^2, as the activations do.
template <class V>
V gate_tanh(V x) noexcept {
    return math::gate_tanh(x);
}
template <class V>
V gate_sigmoid(V x) noexcept {
    return math::gate_sigmoid(x);
}

// The stage of a recurrent Layer with Hidden units (core/stage.hpp): the shape rule (a sequence
// <L, C> in, <L, Hidden> or <Hidden> out), PyTorch's four tensors, the values kept per step, the
// carried state, and the loops of kernels/recurrent.hpp around the layer's cell.
template <class Layer, std::size_t Hidden, returns Returns>
struct recurrent_stage {
    static_assert(Hidden > 0, "gru<Hidden> / lstm<Hidden>: Hidden must be at least 1");

    static constexpr bool opens_stage = true;
    static constexpr bool reads_network_input = true;
    static constexpr std::size_t hidden = Hidden;
    static constexpr returns output = Returns;
    // Its output is its hidden state, which the next step reads: an activation after it would
    // need a second copy of every h. The planner rejects one with this layer's message.
    static constexpr bool accepts_activation = false;

    template <class Arriving, std::size_t Stage = unknown_stage>
    static constexpr auto output_shape() {
        using namespace diagnostic;
        if constexpr (Arriving::rank != 2) {
            HINGE_REJECT("gru / lstm: the arriving value (arriving_shape) is not a sequence <L, C>, because a "
                         "recurrent layer reads one step at a time; start the network with input<L, C>, or use "
                         "returns::all_steps on the recurrent layer before this one",
                         stage_index<Stage>, Layer, arriving_shape<Arriving>, arriving_rank<Arriving::rank>);
            return shape<Hidden>{};
        } else if constexpr (Returns == returns::all_steps) {
            return shape<Arriving::width, Hidden>{};
        } else {
            return shape<Hidden>{};
        }
    }
    // The inputs of one gate pre-activation from x: the channels of one step.
    template <class Arriving>
    static constexpr std::size_t fan_in() {
        return Arriving::channels;
    }

    // PyTorch's nn.GRU / nn.LSTM with num_layers = 1: weight_ih_l0 [G H, C], weight_hh_l0 [G H, H],
    // bias_ih_l0 [G H], bias_hh_l0 [G H], gate-major; each gate's block of H columns is padded to
    // whole panels here, so W_ih and W_hh are dense weights of G pad(H) outputs.
    enum tensor : std::size_t { weight_ih, weight_hh, bias_ih, bias_hh };
    template <class S>
    static constexpr std::array<tensor_spec, 4> tensors() {
        const auto matrix = [](std::string_view name, std::string_view torch, std::size_t fan_in) {
            tensor_spec t{name, tensor_role::weight, torch, fan_in, Hidden, Layer::gates};
            t.torch_rank = 2;
            t.torch_shape = {Layer::gates * Hidden, fan_in, 1, 1};
            return t;
        };
        const auto vector = [](std::string_view name, std::string_view torch) {
            tensor_spec t{name, tensor_role::bias, torch, 0, Hidden, Layer::gates};
            t.torch_shape = {Layer::gates * Hidden, 1, 1, 1};
            return t;
        };
        return {matrix("weight_ih", "weight_ih_l0", S::input_width), matrix("weight_hh", "weight_hh_l0", Hidden),
                vector("bias_ih", "bias_ih_l0"), vector("bias_hh", "bias_hh_l0")};
    }

    // PyTorch's law whatever the scheme: W_ih and W_hh ~ U(-k, k), k = 1 / sqrt(Hidden), known to
    // train gru and lstm (the gates are sigmoids, so He's gain does not apply), drawn row by row
    // (W_ih's row, then W_hh's). Biases start at 0, except lstm's forget gate at 1, so that the
    // cell keeps its memory from the first steps on (Jozefowicz et al. 2015).
    template <class View>
    static void initialize(const View& view, init::random_generator& generator, double /*variance*/) noexcept {
        using T = std::remove_cvref_t<decltype(view.bias_ih(0))>;
        const double bound = 1.0 / std::sqrt(static_cast<double>(Hidden));
        for (std::size_t o = 0; o < view.gate_rows; ++o) {
            for (std::size_t in = 0; in < view.input_width; ++in)
                view.weight_ih(o, in) = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
            for (std::size_t h = 0; h < Hidden; ++h)
                view.weight_hh(o, h) = static_cast<T>(bound * (2.0 * generator.uniform() - 1.0));
        }
        if constexpr (Layer::has_cell_state)
            for (std::size_t o = 0; o < Hidden; ++o) view.bias_ih(Hidden + o) = T(1);
    }

    template <class S, class U, std::size_t N>
    static constexpr auto parameter_view(const std::array<U*, N>& t, U*) noexcept {
        return recurrent_view<U, S::input_width, Hidden, Layer::gates>(t[weight_ih], t[weight_hh], t[bias_ih],
                                                                      t[bias_hh]);
    }

    // Kept per step (every workspace: the same forward serves inference): the gate values (first
    // the input projection), one extra vector (gru's W_hn h + b_hn, lstm's c_t) and the state each
    // step starts from. Scratch: r of a step; the gradients of every step and the vectors carried
    // between steps; the packed input and transposed weights of the products; for a first stage,
    // the input gradient with padded channels.
    enum buffer : std::size_t { gate_values, extra_values, previous_states, step_scratch, gradient_scratch,
                                packed_input, transposed_weight, padded_input_gradient };
    template <class T>
    static constexpr std::size_t hp = round_up(Hidden, panel_width<T>);
    template <class T>
    static constexpr std::size_t gate_width = Layer::gates * hp<T>;
    template <class T>
    static constexpr std::size_t state_width = (Layer::has_cell_state ? 2 : 1) * hp<T>;

    template <class S, class T, std::size_t Batch, bool Training>
    static constexpr std::array<buffer_spec, 8> buffers() {
        constexpr std::size_t P = panel_width<T>, steps = S::input_positions, in = S::input_width;
        constexpr std::size_t fan_in = std::max(in, Hidden), gw = gate_width<T>;
        constexpr std::size_t gradient_rows = steps * gw * (Layer::same_pre_activation_gradients ? 1 : 2) + 3 * hp<T>;
        return {buffer_spec{Batch * steps * gw, false, false},
                buffer_spec{Batch * steps * hp<T>, false, false},
                buffer_spec{Batch * steps * state_width<T>, false, false},
                buffer_spec{Batch * gw, true, false},
                buffer_spec{Batch * gradient_rows, true, true},
                buffer_spec{(fan_in + max_micro_rows) * std::min(Batch * steps, depth_block), true, true},
                buffer_spec{round_up(fan_in, P) * gw, true, true},
                buffer_spec{S::reads_network_input ? Batch * steps * round_up(in, P) : 0, true, true}};
    }

    // Carried: h (then c).
    template <class S, class T>
    static constexpr std::size_t state_size() {
        return state_width<T>;
    }

    template <class S>
    static constexpr bool streams() {
        return Returns == returns::all_steps;
    }

    template <class S, class Out>
    static constexpr void describe(Out& out) {
        description::put(out, Layer::name);
        description::put(out, Returns == returns::all_steps ? "(all steps) " : "(last step) ");
    }

    template <class Context>
    static kernels::recurrent_rows<typename Context::value_type> rows_of(const Context& ctx) noexcept {
        return {ctx.buffer(gate_values), ctx.buffer(extra_values), ctx.buffer(previous_states), ctx.output(),
                ctx.buffer(step_scratch)};
    }

    template <class Context>
    static void forward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        const auto in = ctx.input();
        if constexpr (Context::single_step) {
            // One step of one sequence (a stream): the fused step, nothing kept for backward. When
            // the pass carries state, the step writes the new h (and c) there itself, and
            // advance_state has nothing left to do.
            kernels::recurrent_step<Layer, S::input_width, Hidden>(in.rows, ctx.parameter(weight_ih),
                                                                   ctx.parameter(bias_ih), ctx.parameter(weight_hh),
                                                                   ctx.parameter(bias_hh), ctx.state(), ctx.output(),
                                                                   ctx.state());
        } else {
            kernels::recurrent_forward<Layer, S::input_width, Hidden, S::input_positions, Returns == returns::all_steps>(
                ctx.samples(), in.rows, in.stride, ctx.parameter(weight_ih), ctx.parameter(bias_ih),
                ctx.parameter(weight_hh), ctx.parameter(bias_hh), ctx.state(), Context::state_stride, rows_of(ctx));
        }
    }

    template <class Context>
    static void backward(const Context& ctx) noexcept {
        using S = typename Context::stage;
        using T = typename Context::value_type;
        constexpr std::size_t steps = S::input_positions, gw = gate_width<T>, in_width = S::input_width;
        const auto in = ctx.input();
        const kernels::recurrent_gradient_rows<T> gradient = kernels::split_recurrent_gradient_scratch(
            ctx.buffer(gradient_scratch), ctx.samples(), steps, gw, hp<T>, Layer::same_pre_activation_gradients);
        kernels::recurrent_backward<Layer, Hidden, steps, Returns == returns::all_steps>(
            ctx.samples(), ctx.dz(), Context::dz_stride, rows_of(ctx), ctx.parameter(weight_hh),
            ctx.buffer(transposed_weight), gradient, ctx.gradient(weight_hh), ctx.gradient(bias_ih),
            ctx.gradient(bias_hh), ctx.buffer(packed_input));
        // The input projection, over every step at once: dW_ih = X^T dA, dX = dA W_ih^T.
        const std::size_t step_rows = ctx.samples() * steps;
        kernels::dense_weight_gradient<in_width, gw>(step_rows, in.rows, in.stride, gradient.da, gw,
                                                    ctx.gradient(weight_ih), ctx.buffer(packed_input));
        const auto into = ctx.template input_gradient<0>();
        using sink = decltype(into);
        static_assert(!sink::accumulate, "gru / lstm: a recurrent layer cannot be a projection shortcut");
        if constexpr (sink::network_input) {
            if (into) {
                // Whole panels per step first, unpadded after.
                constexpr std::size_t padded_stride = round_up(in_width, panel_width<T>);
                kernels::dense_input_gradient<identity, in_width, gw>(
                    step_rows, gradient.da, gw, ctx.parameter(weight_ih), ctx.buffer(transposed_weight), into.target,
                    ctx.buffer(padded_input_gradient), padded_stride);
                ctx.unpad_network_input_gradient(0, ctx.samples(), ctx.buffer(padded_input_gradient), padded_stride);
            }
        } else {
            kernels::dense_input_gradient<typename sink::activation, in_width, gw>(
                step_rows, gradient.da, gw, ctx.parameter(weight_ih), ctx.buffer(transposed_weight), into.target,
                into.rows, into.stride);
        }
    }

    // After a pass, the state holds each sequence's last h (and c).
    template <class Context>
    static void advance_state(const Context& ctx) noexcept {
        using S = typename Context::stage;
        if constexpr (!Context::single_step)  // the one-step path of forward wrote it
            kernels::recurrent_final_state<Layer, Hidden, S::input_positions, Returns == returns::all_steps>(
                ctx.samples(), rows_of(ctx), ctx.stored_state(), Context::state_stride);
    }
};

}  // namespace detail
}  // namespace hinge
