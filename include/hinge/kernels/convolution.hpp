#pragma once
// Convolutions as matrix products, one sample at a time, with the same gemm and epilogues as
// dense layers (so bias + activation forward, and the previous activation's derivative backward,
// are fused exactly as there).
//
//   forward          y[p] = Act(b + sum_k window(x, p)[k] W[k])       windows gathered per sample
//   weight gradient  dW += windows(x)^T dz                             summed over the samples
//   input gradient   dx[q] = sum over (kernel tap t, output p reading q at tap t) dz[p] W_t^T
//                    = gathered output-gradient windows times W^T, also one gemm per sample
//
// The gathered windows ("im2col") live in a scratch area planned with the workspace: one sample
// at a time, positions x fan-in values, never allocated at run time. The input gradient is
// computed in gather form (for each input position, the output positions that read it), so that
// every dx is finished in registers and the epilogue can apply the derivative there; the cost is
// multiplying zeros where a stride skips positions.
//
// Positions are row-major (h * W + w), channels last; `x_stride` is the distance between two
// positions of the input (its padded channel count, or its channel count for the network input).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <hinge/kernels/epilogues.hpp>
#include <hinge/kernels/gemm.hpp>
#include <hinge/kernels/row_product.hpp>
#include <hinge/core/window.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// The windows of one sample as rows: windows[p][(kh * Kw + kw) * C + c] = the input value under
// tap (kh, kw) of output position p, channel c, or 0 where the tap falls into the padding.
// Only rows [first_row, last_row) and columns [first_column, last_column) when asked: a member of
// a thread team gathers the part of the shared scratch that it multiplies, and nothing else.
struct window_part {
    std::size_t first_row = 0, last_row = static_cast<std::size_t>(-1);
    std::size_t first_column = 0, last_column = static_cast<std::size_t>(-1);
};

// Copies channels [c0, c1) of a tap (c1 > c0), or zeros them where the tap reads padding. A whole
// tap (c0 = 0, c1 = C) takes a copy of constant size, which the compiler inlines: a library call
// per tap with a run-time size made the single-threaded CNN step 8 % slower (3 x 3 taps of one
// channel).
template <std::size_t C, class T>
inline void copy_tap(T* tap, const T* source, std::size_t c0, std::size_t c1) noexcept {
    if (c0 == 0 && c1 == C) {
        if (source)
            std::memcpy(tap, source, C * sizeof(T));
        else
            std::memset(tap, 0, C * sizeof(T));
    } else if (source) {
        std::memcpy(tap + c0, source + c0, (c1 - c0) * sizeof(T));
    } else {
        std::memset(tap + c0, 0, (c1 - c0) * sizeof(T));
    }
}

template <window_geometry G, class T>
inline void gather_windows(const T* x, std::size_t x_stride, T* windows, window_part part = {}) noexcept {
    constexpr std::size_t fan_in = G.window_size() * G.channels;
    const std::size_t last_row = std::min(part.last_row, G.output_positions());
    const std::size_t last_column = std::min(part.last_column, fan_in);
    // Whole windows (every column: the forward pass, and any serial pass) copy whole taps of a
    // constant size; a member of a weight-gradient split takes its columns only.
    const bool whole_windows = part.first_column == 0 && last_column == fan_in;
    std::size_t oy = part.first_row / G.out_width, ox = part.first_row % G.out_width;
    for (std::size_t position = part.first_row; position < last_row; ++position) {
        T* row = windows + position * fan_in;
        for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
            // Unsigned arithmetic: a tap in the top/left padding wraps around and fails the < test.
            const std::size_t iy = oy * G.stride_height + kh * G.dilation_height - G.pad_top;
            for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
                const std::size_t first = (kh * G.kernel_width + kw) * G.channels;
                const std::size_t ix = ox * G.stride_width + kw * G.dilation_width - G.pad_left;
                const T* source = iy < G.height && ix < G.width ? x + (iy * G.width + ix) * x_stride : nullptr;
                if (whole_windows) {
                    copy_tap<G.channels>(row + first, source, 0, G.channels);
                } else {
                    const std::size_t c0 = std::max(first, part.first_column) - first;
                    const std::size_t c1 = std::min(first + G.channels, last_column);
                    if (c1 > first + c0) copy_tap<G.channels>(row + first, source, c0, c1 - first);
                }
            }
        }
        if (++ox == G.out_width) {
            ox = 0;
            ++oy;
        }
    }
}

// The past of a causal conv1d: the last R = (K - 1) * dilation input positions before the pass,
// in a ring (core/storage.hpp, sequence_state): the input of absolute position tau is row
// tau mod R. `position` is the absolute position of the pass's first input.
template <class T>
struct causal_context {
    const T* ring = nullptr;      // sample 0's ring; sample n's at ring + n * sample_stride
    std::size_t sample_stride = 0;
    std::size_t row_width = 0;    // values per ring row (the input's position stride)
    std::uint64_t position = 0;   // (its R = (K - 1) * dilation rows are the geometry's pad_left)

    const T* sample(std::size_t n) const noexcept { return ring + n * sample_stride; }
};

// gather_windows for a causal conv1d that continues a sequence: taps before the pass's first
// input read the ring instead of the zero padding.
template <window_geometry G, class T>
inline void gather_causal_windows(const T* x, std::size_t x_stride, const T* ring, const causal_context<T>& context,
                                  T* windows, window_part part = {}) noexcept {
    static_assert(G.height == 1 && G.stride_width == 1 && G.pad_left > 0,
                  "a causal window slides along a sequence, one step at a time, with a past to read");
    constexpr std::size_t fan_in = G.kernel_width * G.channels;
    constexpr std::size_t R = G.pad_left;  // the ring's rows, a constant (no division)
    const std::size_t first_slot = static_cast<std::size_t>(context.position % R);
    const std::size_t last_row = std::min(part.last_row, G.out_width);
    const std::size_t last_column = std::min(part.last_column, fan_in);
    for (std::size_t ox = part.first_row; ox < last_row; ++ox) {
        T* row = windows + ox * fan_in;
        for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
            const std::size_t first = kw * G.channels;
            const std::size_t c0 = std::max(first, part.first_column) - first;
            const std::size_t c1 = std::min(first + G.channels, last_column);
            if (c1 <= first + c0) continue;
            const std::size_t reach = ox + kw * G.dilation_width;  // input position + pad_left
            const T* source = reach >= G.pad_left
                                  ? x + (reach - G.pad_left) * x_stride
                                  : ring + (first_slot + R - (G.pad_left - reach)) % R * context.row_width;
            copy_tap<G.channels>(row + first, source, c0, c1 - first);
        }
    }
}

// After a pass of `positions` inputs (rows of x_stride values), the ring holds the last R of them.
// Rows, RowWidth: the ring's rows ((K - 1) * dilation) and values per row (context.row_width), constants
// so that neither a division nor a call to memcpy is left in a stream's step.
template <std::size_t Rows, std::size_t RowWidth, class T>
inline void push_causal_context(std::size_t positions, const T* x, std::size_t x_stride, T* ring,
                                const causal_context<T>& context) noexcept {
    const std::size_t first = positions > Rows ? positions - Rows : 0;
    for (std::size_t p = first; p < positions; ++p)
        std::memcpy(ring + static_cast<std::size_t>((context.position + p) % Rows) * RowWidth, x + p * x_stride,
                    RowWidth * sizeof(T));
}

// One output position of a causal conv1d (a stream's step, one sample): the taps are read where
// they are, the current input and the ring (no gathered window), the product stays in registers
// (kernels/row_product.hpp) and the activation is applied before the store. A null ring means the
// start of a sequence: the taps before it are zeros. y: pad(Cout) values; lanes past Cout in the
// last vector get Act(0 + 0) (zero weights and bias), as in the general path.
template <class Act, window_geometry G, std::size_t Cout, class T>
inline void causal_convolution_step(const T* x, const causal_context<T>& context, const T* w, const T* b, T* y,
                                    const activation_inputs<T>& activation) noexcept {
    static_assert(G.height == 1 && G.stride_width == 1 && G.out_width == 1 && G.pad_left > 0,
                  "causal_convolution_step: one output position of a causal conv1d");
    using V = vector<T>;
    constexpr std::size_t W = V::size, P = panel_width<T>, C = G.channels, K = G.kernel_width;
    constexpr std::size_t nv = (Cout + W - 1) / W;
    using offsets = column_offsets<nv, round_up(Cout, P), W, P, K * C>;
    V acc[nv];
    for_each_index<nv>([&](auto v) { acc[v] = V::load_aligned(b + v * W); });
    constexpr std::size_t R = G.pad_left;  // ring rows: (K - 1) * dilation, a constant (no division)
    const std::size_t first_slot = static_cast<std::size_t>(context.position % R);
    for_each_index<K>([&](auto tap) {
        constexpr std::size_t reach = tap * G.dilation_width;  // input position + pad_left
        const T* source = nullptr;
        if constexpr (reach >= G.pad_left)
            source = x;
        else if (context.ring)
            source = context.ring + (first_slot + R - (G.pad_left - reach)) % R * context.row_width;
        if (source) accumulate_columns<C, offsets>(source, w + tap * C * P, acc);
    });
    for_each_index<nv>([&](auto v) { activate<Act>(acc[v], activation, 0, v * W).store_aligned(y + v * W); });
}

// True when the windows are the input itself (1 x 1 kernel, stride 1, no padding, and the input
// rows already contiguous), so that gathering can be skipped.
template <window_geometry G>
inline constexpr bool windows_are_the_input = G.window_size() == 1 && G.stride_height == 1 && G.stride_width == 1 &&
                                              G.pad_top == 0 && G.pad_left == 0 && G.out_height == G.height &&
                                              G.out_width == G.width;

// The windows of one sample as rows of fan-in values: gathered into `scratch`, or, when they are
// the input itself, the input rows read in place.
template <class T>
struct window_rows {
    const T* rows;
    std::size_t row_step;
};
// With a context (a causal conv1d continuing a sequence; null otherwise), sample n's taps before
// the first input come from its ring.
template <window_geometry G, class T>
inline window_rows<T> windows_of_sample(const T* sample, std::size_t x_stride, T* scratch,
                                        const causal_context<T>* context = nullptr, std::size_t n = 0,
                                        window_part part = {}) noexcept {
    if constexpr (windows_are_the_input<G>) {
        return {sample, x_stride};
    } else {
        if constexpr (G.height == 1 && G.stride_width == 1 && G.pad_left > 0) {  // may be a causal conv1d
            if (context) {
                gather_causal_windows<G>(sample, x_stride, context->sample(n), *context, scratch, part);
                return {scratch, G.window_size() * G.channels};
            }
        }
        gather_windows<G>(sample, x_stride, scratch, part);
        return {scratch, G.window_size() * G.channels};
    }
}

// y = Act(windows(x) W + b) for `samples` samples. x: samples x positions x x_stride;
// y (and z when kept): samples x out positions x pad(Cout). noise: the stage's noise, offset per
// sample so that each sample draws its own.
// A team splits every sample's output positions (the rows of its product); each member gathers
// the windows of its own positions into its own rows of the shared scratch. One output position
// (a product of one row) is not split: member 0 computes it.
template <class Act, window_geometry G, std::size_t Cout, class T>
inline void convolution_forward(std::size_t samples, const T* x, std::size_t x_stride, const T* w, const T* b, T* y,
                                const activation_inputs<T>& activation, T* z, T* windows,
                                const causal_context<T>* context = nullptr, work_share share = {}) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t panels = round_up(Cout, P) / P;
    constexpr std::size_t fan_in = G.window_size() * G.channels;
    constexpr std::size_t positions = G.output_positions();
    constexpr std::size_t y_stride = panels * P;
    if constexpr (positions == 1) {
        if (share.part != 0) return;
        share = {};
    }
    const tile_range range = tiles_of<unpacked_micro_rows<T>, T>(share, product_split::rows, positions, panels);
    if (range.first_row == range.last_row) return;
    for (std::size_t n = 0; n < samples; ++n) {
        const window_rows<T> a = windows_of_sample<G>(x + n * G.input_positions() * x_stride, x_stride, windows,
                                                      context, n, {range.first_row, range.last_row});
        activation_inputs<T> per_sample = activation;
        per_sample.noise.seed += 0x632be59bd9b4e019ull * n;
        bias_activation_epilogue<Act, T> epilogue{b, y + n * positions * y_stride, y_stride, per_sample,
                                                  z ? z + n * positions * y_stride : nullptr};
        gemm(positions, fan_in, panels, a.rows, a.row_step, std::size_t{1}, w, fan_in * P, P, epilogue,
             static_cast<T*>(nullptr), false, share, product_split::rows);
    }
}

// dW = sum over samples of windows(x)^T dz. dz: samples x out positions rows, row stride dz_stride.
// packing_scratch: (fan_in + max_micro_rows) x min(positions, depth_block) values.
// A team splits dW's rows (the fan-in); each member gathers only its columns of every window.
template <window_geometry G, std::size_t Cout, class T>
inline void convolution_weight_gradient(std::size_t samples, const T* x, std::size_t x_stride, const T* dz,
                                        std::size_t dz_stride, T* dw, T* windows, T* packing_scratch,
                                        const causal_context<T>* context = nullptr, work_share share = {}) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t panels = round_up(Cout, P) / P;
    constexpr std::size_t fan_in = G.window_size() * G.channels;
    constexpr std::size_t positions = G.output_positions();
    if constexpr (fan_in == 1) {
        if (share.part != 0) return;
        share = {};
    }
    const tile_range range = tiles_of<micro_rows<T>, T>(share, product_split::rows, fan_in, panels);
    if (range.first_row == range.last_row) return;
    panel_store_epilogue<T> epilogue{dw, fan_in * P};
    for (std::size_t n = 0; n < samples; ++n) {
        const window_rows<T> a =
            windows_of_sample<G>(x + n * G.input_positions() * x_stride, x_stride, windows, context, n,
                                 {0, static_cast<std::size_t>(-1), range.first_row, range.last_row});
        // A = windows^T: a window row is a depth step here.
        gemm(fan_in, positions, panels, a.rows, std::size_t{1}, a.row_step, dz + n * positions * dz_stride, P,
             dz_stride, epilogue, packing_scratch, n > 0, share, product_split::rows);
    }
}

// W^T for the input-gradient product, in panels over the input channels:
//   wt[q][(t * Cout + f) * P + c] = W(output f, tap t, input channel q * P + c), zero past C.
template <window_geometry G, std::size_t Cout, class T>
inline void transpose_convolution_weights(const T* w, T* wt) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t C = G.channels;
    constexpr std::size_t fan_in = G.window_size() * C;
    constexpr std::size_t in_panels = round_up(C, P) / P;
    constexpr std::size_t depth = G.window_size() * Cout;
    for (std::size_t q = 0; q < in_panels; ++q) {
        for (std::size_t t = 0; t < G.window_size(); ++t) {
            for (std::size_t f = 0; f < Cout; ++f) {
                const T* source = w + f / P * (fan_in * P) + f % P;  // W(f, k) = source[k * P]
                T* target = wt + q * (depth * P) + (t * Cout + f) * P;
                for (std::size_t c = 0; c < P; ++c) {
                    const std::size_t channel = q * P + c;
                    target[c] = channel < C ? source[(t * C + channel) * P] : T(0);
                }
            }
        }
    }
}

// For one sample: rows[q][t * Cout + f] = dz[output position that reads input position q through
// tap t][f], or 0 when no output position does (padding, stride).
// Only input positions [first_row, last_row) when given.
template <window_geometry G, std::size_t Cout, class T>
inline void gather_gradient_windows(const T* dz, std::size_t dz_stride, T* rows, std::size_t first_row = 0,
                                    std::size_t last_row = G.input_positions()) noexcept {
    constexpr std::size_t depth = G.window_size() * Cout;
    for (std::size_t position = first_row; position < last_row; ++position) {
        const std::size_t iy = position / G.width, ix = position % G.width;
        {
            T* row = rows + (iy * G.width + ix) * depth;
            for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
                // oy * stride = iy + pad - kh * dilation, when that is a whole, in-range position.
                const std::size_t ny = iy + G.pad_top - kh * G.dilation_height;  // wraps when negative
                const std::size_t oy = ny / G.stride_height;
                const bool row_ok = ny % G.stride_height == 0 && oy < G.out_height && iy + G.pad_top >= kh * G.dilation_height;
                for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
                    const std::size_t nx = ix + G.pad_left - kw * G.dilation_width;
                    const std::size_t ox = nx / G.stride_width;
                    const bool ok = row_ok && nx % G.stride_width == 0 && ox < G.out_width &&
                                    ix + G.pad_left >= kw * G.dilation_width;
                    T* tap = row + (kh * G.kernel_width + kw) * Cout;
                    if (ok)
                        std::memcpy(tap, dz + (oy * G.out_width + ox) * dz_stride, Cout * sizeof(T));
                    else
                        std::memset(tap, 0, Cout * sizeof(T));
                }
            }
        }
    }
}

// dz_prev = PrevAct'(u_prev) * (gradient windows W^T), per sample, with the previous stage's
// column sums; dz_prev rows are input positions with stride dz_prev_stride (>= pad(C)).
// scratch: input positions x Kh Kw Cout values; wt: pad(C) x Kh Kw Cout values, the weights
// transposed by transpose_convolution_weights. A team splits every sample's input positions;
// each member gathers its own rows of the gradient windows. With more than one member, the
// column sums of `previous` must be the member's own (runtime/passes.hpp gives each member a
// copy and adds them in member order afterwards).
template <class PrevAct, window_geometry G, std::size_t Cout, class T>
inline void convolution_input_gradient_product(std::size_t samples, const T* dz, std::size_t dz_stride, const T* wt,
                                               const activation_gradient_target<T>& previous, T* dz_prev,
                                               std::size_t dz_prev_stride, T* scratch, work_share share = {}) noexcept {
    constexpr std::size_t P = panel_width<T>;
    constexpr std::size_t in_panels = round_up(G.channels, P) / P;
    constexpr std::size_t depth = G.window_size() * Cout;
    constexpr std::size_t positions = G.input_positions();
    if constexpr (positions == 1) {
        if (share.part != 0) return;
        share = {};
    }
    const tile_range range = tiles_of<unpacked_micro_rows<T>, T>(share, product_split::rows, positions, in_panels);
    if (range.first_row == range.last_row) return;
    for (std::size_t n = 0; n < samples; ++n) {
        gather_gradient_windows<G, Cout>(dz + n * G.output_positions() * dz_stride, dz_stride, scratch,
                                         range.first_row, range.last_row);
        derivative_epilogue<PrevAct, T> epilogue{previous.advanced(n * positions), dz_prev + n * positions * dz_prev_stride,
                                                 dz_prev_stride};
        gemm(positions, depth, in_panels, static_cast<const T*>(scratch), depth, std::size_t{1}, wt, depth * P, P,
             epilogue, static_cast<T*>(nullptr), false, share, product_split::rows);
    }
}

template <class PrevAct, window_geometry G, std::size_t Cout, class T>
inline void convolution_input_gradient(std::size_t samples, const T* dz, std::size_t dz_stride, const T* w,
                                       T* wt_scratch, const activation_gradient_target<T>& previous, T* dz_prev,
                                       std::size_t dz_prev_stride, T* scratch) noexcept {
    transpose_convolution_weights<G, Cout>(w, wt_scratch);
    convolution_input_gradient_product<PrevAct, G, Cout>(samples, dz, dz_stride, wt_scratch, previous, dz_prev,
                                                         dz_prev_stride, scratch);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
