#pragma once
// lstm<Hidden, returns>: long short-term memory, with PyTorch's equations and gate order
// (torch.nn.LSTM; Hochreiter and Schmidhuber 1997, with the forget gate of Gers et al. 2000):
//
//   i = sigmoid(a_i + r_i)    f = sigmoid(a_f + r_f)      a = x_t W_ih + b_ih,
//   g = tanh(a_g + r_g)       o = sigmoid(a_o + r_o)      r = h_{t-1} W_hh + b_hh (4 blocks)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * tanh(c_t)
//
// Parameters: W_ih [4H, C], W_hh [4H, H], b_ih [4H], b_hh [4H]. The state is (h, c). See
// layers/recurrent.hpp.
#include <array>
#include <cstddef>

#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/layers/recurrent.hpp>

namespace hinge {

template <std::size_t Hidden, returns Returns = returns::all_steps>
struct lstm : detail::recurrent_stage<lstm<Hidden, Returns>, Hidden, Returns> {
    static constexpr const char* name = "lstm";  // in architecture descriptions (io/architecture.hpp)
    static constexpr std::size_t gates = 4;
    static constexpr bool has_cell_state = true;
    // da = dr in backward_step: the kernels keep one buffer for both.
    static constexpr bool same_pre_activation_gradients = true;

    // Every gate enters only as a + r.
    static constexpr std::array<bool, 4> summed_gates{true, true, true, true};

    // s = a + r of the four gates (r is not read).
    template <class V>
    static void forward_step(const V (&s)[4], const V (&/*r*/)[4], V /*h_prev*/, V c_prev, V (&gate)[4], V& extra,
                             V& h, V& c) noexcept {
        const V input = detail::gate_sigmoid(s[0]);
        const V forget = detail::gate_sigmoid(s[1]);
        const V candidate = detail::gate_tanh(s[2]);
        const V output = detail::gate_sigmoid(s[3]);
        gate[0] = input;
        gate[1] = forget;
        gate[2] = candidate;
        gate[3] = output;
        c = math::multiply_add(input, candidate, forget * c_prev);
        extra = c;
        h = output * detail::gate_tanh(c);
    }

    // dc_t = dc (from step t + 1) + dh o (1 - tanh^2 c_t); then di = dc g, df = dc c_{t-1},
    // dg = dc i, do = dh tanh c_t, and dc_{t-1} = dc f. Every gate pre-activation enters through
    // both a and r, so da = dr; h_{t-1} reaches h_t only through W_hh (dh_direct = 0).
    template <class V>
    static void backward_step(const V (&gate)[4], V extra, V /*h_prev*/, V c_prev, V dh, V& dc, V (&da)[4],
                              V (&dr)[4], V& dh_direct) noexcept {
        const V input = gate[0], forget = gate[1], candidate = gate[2], output = gate[3];
        const V cell_tanh = detail::gate_tanh(extra);
        const V dc_total = dc + dh * output * hinge::tanh::derivative(cell_tanh);
        da[0] = dc_total * candidate * sigmoid::derivative(input);
        da[1] = dc_total * c_prev * sigmoid::derivative(forget);
        da[2] = dc_total * input * hinge::tanh::derivative(candidate);
        da[3] = dh * cell_tanh * sigmoid::derivative(output);
        for (std::size_t g = 0; g < 4; ++g) dr[g] = da[g];
        dh_direct = V(0);
        dc = dc_total * forget;
    }
};

}  // namespace hinge
