#pragma once
// gru<Hidden, returns>: the gated recurrent unit, with PyTorch's equations and gate order
// (torch.nn.GRU; Cho et al. 2014):
//
//   r = sigmoid(a_r + r_r)            a = x_t W_ih + b_ih,  r = h_{t-1} W_hh + b_hh,
//   z = sigmoid(a_z + r_z)            each of the 3 blocks (r, z, n) Hidden wide
//   n = tanh(a_n + r * r_n)           (the reset gate multiplies W_hn h + b_hn, bias included)
//   h_t = (1 - z) * n + z * h_{t-1}
//
// Parameters: W_ih [3H, C], W_hh [3H, H], b_ih [3H], b_hh [3H] (both biases, as PyTorch has them;
// r and z could do with one, n cannot: b_hn sits inside the reset product). See layers/recurrent.hpp.
#include <array>
#include <cstddef>

#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/layers/recurrent.hpp>

namespace hinge {

template <std::size_t Hidden, returns Returns = returns::all_steps>
struct gru : detail::recurrent_stage<gru<Hidden, Returns>, Hidden, Returns> {
    static constexpr const char* name = "gru";  // in architecture descriptions (io/architecture.hpp)
    static constexpr std::size_t gates = 3;
    static constexpr bool has_cell_state = false;
    static constexpr bool same_pre_activation_gradients = false;  // dr_n = da_n * r

    // r and z enter only as a + r; n reads r_n on its own (the reset gate scales it).
    static constexpr std::array<bool, 3> summed_gates{true, true, false};

    // s = (a_r + r_r, a_z + r_z, a_n); c_prev and c are unused (gru has no cell state).
    template <class V>
    static void forward_step(const V (&s)[3], const V (&r)[3], V h_prev, V /*c_prev*/, V (&gate)[3], V& extra, V& h,
                             V& /*c*/) noexcept {
        const V reset = detail::gate_sigmoid(s[0]);
        const V update = detail::gate_sigmoid(s[1]);
        const V candidate = detail::gate_tanh(math::multiply_add(reset, r[2], s[2]));
        gate[0] = reset;
        gate[1] = update;
        gate[2] = candidate;
        extra = r[2];
        // h = (1 - z) n + z h_{t-1}: one FMA after n (z h_{t-1} and 1 - z are ready before it).
        h = math::multiply_add(V(1) - update, candidate, update * h_prev);
    }

    // h_t = n + z (h_{t-1} - n):  dn = dh (1 - z), dz = dh (h_{t-1} - n), dh_{t-1} += dh z;
    // n = tanh(a_n + r r_n):     d(a_n) = dn (1 - n^2), d(r_n) = d(a_n) r, dr = d(a_n) r_n.
    template <class V>
    static void backward_step(const V (&gate)[3], V extra, V h_prev, V /*c_prev*/, V dh, V& /*dc*/, V (&da)[3],
                              V (&dr)[3], V& dh_direct) noexcept {
        const V reset = gate[0], update = gate[1], candidate = gate[2];
        const V d_candidate = dh * (V(1) - update) * hinge::tanh::derivative(candidate);
        const V d_reset = d_candidate * extra * sigmoid::derivative(reset);
        const V d_update = dh * (h_prev - candidate) * sigmoid::derivative(update);
        da[0] = d_reset;
        da[1] = d_update;
        da[2] = d_candidate;
        dr[0] = d_reset;
        dr[1] = d_update;
        dr[2] = d_candidate * reset;
        dh_direct = dh * update;
    }
};

}  // namespace hinge
