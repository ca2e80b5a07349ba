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
//   forward_step(a[G], r[G], h_prev, c_prev) -> gate[G] (the gate values kept for the backward
//       pass), extra (one more kept vector: gru's r_n = W_hn h + b_hn, lstm's c_t), h_t, c_t
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
#include <cstddef>

#include <hinge/activations/value_ops.hpp>
#include <hinge/core/concepts.hpp>
#include <hinge/core/diagnostic.hpp>
#include <hinge/core/shape.hpp>

namespace hinge {

enum class returns { all_steps, last_step };

namespace detail {

// The gate functions of the cells. tanh through math::gate_tanh: on float SIMD vectors a rational
// approximation without exp or branch (at most 5.6 ulp; kernels/simd.hpp says why), elsewhere
// tanh; sigmoid(x) = (1 + tanh(x / 2)) / 2 from it, at most 2e-7 from sigmoid in float: accurate
// in absolute terms, which is what a gate needs (it scales a value), where the sigmoid activation
// keeps full relative accuracy for the probabilities it is used for. The backward pass takes the
// derivatives from the stored gate values, y (1 - y) and 1 - y^2, as the activations do.
template <class V>
V gate_tanh(V x) noexcept {
    return math::gate_tanh(x);
}
template <class V>
V gate_sigmoid(V x) noexcept {
    return V(0.5) + V(0.5) * math::gate_tanh(V(0.5) * x);
}

// The shape rule of a recurrent Layer with Hidden units: a sequence <L, C> in, <L, Hidden> or
// <Hidden> out.
template <class Layer, std::size_t Hidden, returns Returns>
struct recurrent_shape_rule {
    static_assert(Hidden > 0, "gru<Hidden> / lstm<Hidden>: Hidden must be at least 1");

    static constexpr bool opens_stage = true;
    static constexpr stage_kind kind = stage_kind::recurrent;
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
};

}  // namespace detail
}  // namespace hinge
