#pragma once
// Recurrent stages (gru, lstm): the cell of layers/gru.hpp / layers/lstm.hpp run over the steps
// of `samples` sequences at once.
//
// Forward, for a sequence of Steps steps:
//   a = X W_ih + b_ih           one product over every (sample, step) row: X is samples x Steps
//                               rows of In values, a lands in the gate rows
//   for t = 0 .. Steps - 1:
//     r = H_{t-1} W_hh + b_hh   one product over the samples (rows of the previous-state buffer)
//     cell pass                 reads a_t, r, h_{t-1} (c_{t-1}) once, writes the gates over a_t,
//                               the extra vector, h_t (and c_t) into the output and into the
//                               previous-state row of step t + 1
// Backward (BPTT), from the last step down:
//   cell pass                   dh = dy_t + dh carried from step t + 1 -> da_t, dr_t, dh_direct, dc
//   dh carried = dr_t W_hh^T + dh_direct      one product over the samples (epilogue adds dh_direct)
// then dW_hh = H_prev^T dR and the bias gradients over all rows; the caller takes dW_ih = X^T dA
// and the input gradient dA W_ih^T with the dense kernels (whose epilogue applies the previous
// stage's activation derivative), so those are one product each over every step too.
//
// Layout (core/layout.hpp): gate g of unit j is column g * Hp + j of a gate row of width
// Gates * Hp (Hp = Hidden padded to panels); padded units have zero weights and biases, so their
// gates hold constants, their h and c stay 0 and their gradients are 0.
#include <cstddef>
#include <cstring>
#include <utility>

#include <hinge/activations/identity.hpp>
#include <hinge/kernels/dense.hpp>
#include <hinge/kernels/row_product.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Where a recurrent stage's values are (rows of samples x steps unless said otherwise).
template <class T>
struct recurrent_rows {
    T* gates;          // samples x Steps x gate_width: a = x W_ih + b_ih, then the gate values
    T* extra;          // samples x Steps x Hp: the cell's extra vector (gru r_n, lstm c_t)
    T* previous;       // samples x Steps x state_width: h_{t-1} (then c_{t-1}) of every step
    T* output;         // all steps: samples x Steps x Hp; last step: samples x Hp
    T* step_scratch;   // samples x gate_width: r of the current step
};

template <class Cell, std::size_t Hidden, class T>
struct recurrent_geometry {
    static constexpr std::size_t P = panel_width<T>;
    static constexpr std::size_t hp = round_up(Hidden, P);
    static constexpr std::size_t gates = Cell::gates;
    static constexpr std::size_t gate_width = gates * hp;
    static constexpr std::size_t state_width = (Cell::has_cell_state ? 2 : 1) * hp;
};

// The forward pass of a recurrent stage over `samples` sequences. x: samples x Steps rows of In
// values (row stride x_stride). initial: each sample's starting h (then c), Hp values each, at
// initial + n * initial_stride; null for zeros (the start of a sequence).
template <class Cell, std::size_t In, std::size_t Hidden, std::size_t Steps, bool AllSteps, class T>
inline void recurrent_forward(std::size_t samples, const T* x, std::size_t x_stride, const T* w_ih, const T* b_ih,
                              const T* w_hh, const T* b_hh, const T* initial, std::size_t initial_stride,
                              const recurrent_rows<T>& rows) noexcept {
    using V = vector<T>;
    using G = recurrent_geometry<Cell, Hidden, T>;
    constexpr std::size_t hp = G::hp, gw = G::gate_width, sw = G::state_width, ng = G::gates;
    constexpr std::size_t nv = hp / V::size;

    dense_forward<identity, In, gw>(samples * Steps, x, x_stride, w_ih, b_ih, rows.gates);
    for (std::size_t n = 0; n < samples; ++n) {
        T* first = rows.previous + n * Steps * sw;
        if (initial) std::memcpy(first, initial + n * initial_stride, sw * sizeof(T));
        else std::memset(first, 0, sw * sizeof(T));
    }

    for (std::size_t t = 0; t < Steps; ++t) {
        // r = h_{t-1} W_hh + b_hh for every sample: rows of the previous-state buffer at step t.
        dense_forward<identity, Hidden, gw>(samples, rows.previous + t * sw, Steps * sw, w_hh, b_hh,
                                             rows.step_scratch);
        for (std::size_t n = 0; n < samples; ++n) {
            const std::size_t row = n * Steps + t;
            T* gate_row = rows.gates + row * gw;
            const T* r_row = rows.step_scratch + n * gw;
            const T* state = rows.previous + row * sw;
            T* next_state = t + 1 < Steps ? rows.previous + (row + 1) * sw : nullptr;
            T* h_out = AllSteps ? rows.output + row * hp : (t + 1 == Steps ? rows.output + n * hp : nullptr);
            for (std::size_t v = 0; v < nv; ++v) {
                const std::size_t c = v * V::size;
                V a[ng], r[ng], gate[ng];
                for (std::size_t g = 0; g < ng; ++g) {
                    a[g] = V::load_aligned(gate_row + g * hp + c);
                    r[g] = V::load_aligned(r_row + g * hp + c);
                }
                const V h_prev = V::load_aligned(state + c);
                const V c_prev = Cell::has_cell_state ? V::load_aligned(state + hp + c) : V(T(0));
                for (std::size_t g = 0; g < ng; ++g)
                    if (Cell::summed_gates[g]) a[g] += r[g];
                V extra, h, cell;
                Cell::forward_step(a, r, h_prev, c_prev, gate, extra, h, cell);
                for (std::size_t g = 0; g < ng; ++g) gate[g].store_aligned(gate_row + g * hp + c);
                extra.store_aligned(rows.extra + row * hp + c);
                if (h_out) h.store_aligned(h_out + c);
                if (next_state) {
                    h.store_aligned(next_state + c);
                    if constexpr (Cell::has_cell_state) cell.store_aligned(next_state + hp + c);
                }
            }
        }
    }
}

// The state after a forward pass, for the next one: each sample's h_{Steps-1} (and c).
template <class Cell, std::size_t Hidden, std::size_t Steps, bool AllSteps, class T>
inline void recurrent_final_state(std::size_t samples, const recurrent_rows<T>& rows, T* state,
                                  std::size_t state_stride) noexcept {
    using G = recurrent_geometry<Cell, Hidden, T>;
    constexpr std::size_t hp = G::hp;
    for (std::size_t n = 0; n < samples; ++n) {
        const std::size_t last = n * Steps + Steps - 1;
        const T* h = AllSteps ? rows.output + last * hp : rows.output + n * hp;
        std::memcpy(state + n * state_stride, h, hp * sizeof(T));
        if constexpr (Cell::has_cell_state)
            std::memcpy(state + n * state_stride + hp, rows.extra + last * hp, hp * sizeof(T));  // extra = c_t
    }
}

// ---- one step of one sequence: the streaming path ---------------------------------------------
//
// A stream (and batch-1 inference of one step) runs the cell once per call, and the general path
// above then costs more in calls, copies and single-row products than in arithmetic (GRU 32 took
// 1.9x Eigen's time per sample). recurrent_step does the step in one pass from the state to the new
// state: a = x W_ih + b_ih first (it does not wait for h), then r = h W_hh + b_hh for every gate as
// independent accumulators over h (split over the depth when there are few, so that the FMA
// latency hides behind others), starting a summed gate's sum from a + b_hh, then the cell on
// registers. It reads only the vectors that hold units (H = 8 of a 16-float panel: one AVX2 vector
// of two), and keeps nothing for a backward pass.
//
// A step of a stream waits for the one before (h), so its time is the latency of that chain:
// the product over h, then (gru) a sigmoid, an FMA, a tanh and an FMA, or (lstm) the gates, an FMA
// and a tanh. Everything that does not depend on h (x's product, the biases) is off it.

// One step from `state` (h, then c for a cell state; null: zeros) for input x (In values):
// writes h_t to h_out and, when state_out is not null, h_t then c_t there as the next step's state
// (padded lanes past Hidden untouched). state_out may be `state`: each vector is read before it is
// written. A stream passes its carried state, so that the next step reads h_t from where this step
// stored it (a copy from h_out would put a second store-to-load forwarding, ~5 cycles, on the
// chain from one step to the next).
template <class Cell, std::size_t In, std::size_t Hidden, class T>
inline void recurrent_step(const T* x, const T* w_ih, const T* b_ih, const T* w_hh, const T* b_hh, const T* state,
                           T* h_out, T* state_out) noexcept {
    using V = vector<T>;
    using G = recurrent_geometry<Cell, Hidden, T>;
    constexpr std::size_t W = V::size, P = panel_width<T>, hp = G::hp, ng = G::gates;
    constexpr std::size_t nv = (Hidden + W - 1) / W;  // vectors holding units, per gate
    constexpr std::size_t total = ng * nv;
    using input_offsets = column_offsets<nv, hp, W, P, In>;
    using hidden_offsets = column_offsets<nv, hp, W, P, Hidden>;
    using bias_offsets = column_offsets<nv, hp, W, P, 1>;  // fan-in 1: the column itself

    V r[total], a[total];
    for_each_index<total>(
        [&](auto c) { a[c] = V::load_aligned(b_ih + bias_offsets::template at<decltype(c)::value>); });
    accumulate_columns<In, input_offsets>(x, w_ih, a);
    for_each_index<total>([&](auto c) {
        const V bias = V::load_aligned(b_hh + bias_offsets::template at<decltype(c)::value>);
        r[c] = Cell::summed_gates[decltype(c)::value / nv] ? a[c] + bias : bias;
    });
    if (state) accumulate_columns<Hidden, hidden_offsets>(state, w_hh, r);

    for_each_index<nv>([&](auto v) {
        V av[ng], rv[ng], gate[ng];
        for_each_index<ng>([&](auto g) {
            av[g] = Cell::summed_gates[g] ? r[g * nv + v] : a[g * nv + v];  // s: see layers/recurrent.hpp
            rv[g] = r[g * nv + v];
        });
        const V h_prev = state ? V::load_aligned(state + v * W) : V(T(0));
        const V c_prev = Cell::has_cell_state && state ? V::load_aligned(state + hp + v * W) : V(T(0));
        V extra, h, cell;
        Cell::forward_step(av, rv, h_prev, c_prev, gate, extra, h, cell);
        h.store_aligned(h_out + v * W);
        if (state_out) {
            h.store_aligned(state_out + v * W);
            if constexpr (Cell::has_cell_state) cell.store_aligned(state_out + hp + v * W);
        }
    });
}

// Sums of every column over `count` rows of `width` values, written to `sums` (overwritten).
template <class T>
inline void column_totals(std::size_t count, std::size_t width, const T* rows, T* sums) noexcept {
    using V = vector<T>;
    for (std::size_t c = 0; c < width; c += V::size) {
        V total(T(0));
        for (std::size_t r = 0; r < count; ++r) total += V::load_aligned(rows + r * width + c);
        total.store_aligned(sums + c);
    }
}

// Scratch of recurrent_backward (per sample: see layout::recurrent_gradient_size).
template <class T>
struct recurrent_gradient_rows {
    T* da;         // samples x Steps x gate_width: dL/da (the input projection's pre-activations)
    T* dr;         // the same for r (== da when Cell::same_pre_activation_gradients)
    T* dh;         // samples x Hp: dL/dh_t arriving from step t + 1
    T* dc;         // samples x Hp: dL/dc_t arriving from step t + 1 (lstm)
    T* dh_direct;  // samples x Hp: the part of dL/dh_{t-1} that does not pass through W_hh
};

template <class T>
inline recurrent_gradient_rows<T> split_recurrent_gradient_scratch(T* scratch, std::size_t samples,
                                                                   std::size_t steps, std::size_t gate_width,
                                                                   std::size_t hp, bool same) noexcept {
    recurrent_gradient_rows<T> g;
    g.da = scratch;
    g.dr = same ? g.da : g.da + samples * steps * gate_width;
    T* carried = (same ? g.da : g.dr) + samples * steps * gate_width;
    g.dh = carried;
    g.dc = carried + samples * hp;
    g.dh_direct = carried + 2 * samples * hp;
    return g;
}

// BPTT through a recurrent stage. dy: dL/d(output), rows like the output (row stride dy_stride).
// Writes dL/da of every step into gradient.da (the caller multiplies it into dW_ih, db_ih and the
// input gradient), and dW_hh, db_hh, db_ih (overwritten). wt_scratch: pad(Hidden) x gate_width.
// The gradient reaching the initial state is dropped: a pass's state comes from before the
// window (truncated BPTT), or is the zero start of a sequence.
template <class Cell, std::size_t Hidden, std::size_t Steps, bool AllSteps, class T>
inline void recurrent_backward(std::size_t samples, const T* dy, std::size_t dy_stride, const recurrent_rows<T>& rows,
                               const T* w_hh, T* wt_scratch, const recurrent_gradient_rows<T>& gradient, T* dw_hh,
                               T* db_ih, T* db_hh, T* packing_scratch) noexcept {
    using V = vector<T>;
    using G = recurrent_geometry<Cell, Hidden, T>;
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t hp = G::hp, gw = G::gate_width, sw = G::state_width, ng = G::gates;
    constexpr std::size_t nv = hp / V::size;
    constexpr std::size_t hidden_panels = hp / P;

    transpose_weights<Hidden, gw>(w_hh, wt_scratch);
    std::memset(gradient.dh, 0, samples * hp * sizeof(T));
    std::memset(gradient.dc, 0, samples * hp * sizeof(T));
    // dh carried = dr_t W_hh^T + dh_direct: the derivative epilogue adds dh_direct as its
    // "addend" (the identity derivative leaves the sum as it is; no column sums).
    const activation_gradient_target<T> carried{nullptr, hp, nullptr, nullptr, nullptr, gradient.dh_direct};
    derivative_epilogue<identity, T> carry{carried, gradient.dh, hp};

    for (std::size_t t = Steps; t-- > 0;) {
        for (std::size_t n = 0; n < samples; ++n) {
            const std::size_t row = n * Steps + t;
            const T* gate_row = rows.gates + row * gw;
            const T* state = rows.previous + row * sw;
            const T* dy_row = AllSteps ? dy + row * dy_stride : (t + 1 == Steps ? dy + n * dy_stride : nullptr);
            T* da_row = gradient.da + row * gw;
            T* dr_row = gradient.dr + row * gw;
            for (std::size_t v = 0; v < nv; ++v) {
                const std::size_t c = v * V::size;
                V gate[ng], da[ng], dr[ng];
                for (std::size_t g = 0; g < ng; ++g) gate[g] = V::load_aligned(gate_row + g * hp + c);
                V dh = V::load_aligned(gradient.dh + n * hp + c);
                if (dy_row) dh += V::load_aligned(dy_row + c);
                V dc = V::load_aligned(gradient.dc + n * hp + c);
                const V c_prev = Cell::has_cell_state ? V::load_aligned(state + hp + c) : V(T(0));
                V dh_direct;
                Cell::backward_step(gate, V::load_aligned(rows.extra + row * hp + c), V::load_aligned(state + c),
                                    c_prev, dh, dc, da, dr, dh_direct);
                for (std::size_t g = 0; g < ng; ++g) {
                    da[g].store_aligned(da_row + g * hp + c);
                    if constexpr (!Cell::same_pre_activation_gradients) dr[g].store_aligned(dr_row + g * hp + c);
                }
                dc.store_aligned(gradient.dc + n * hp + c);
                dh_direct.store_aligned(gradient.dh_direct + n * hp + c);
            }
        }
        if (t > 0)
            gemm(samples, gw, hidden_panels, static_cast<const T*>(gradient.dr + t * gw), Steps * gw, std::size_t{1},
                 static_cast<const T*>(wt_scratch), gw * P, P, carry);
    }

    dense_weight_gradient<Hidden, gw>(samples * Steps, rows.previous, sw, gradient.dr, gw, dw_hh, packing_scratch);
    column_totals(samples * Steps, gw, gradient.dr, db_hh);
    column_totals(samples * Steps, gw, gradient.da, db_ih);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
