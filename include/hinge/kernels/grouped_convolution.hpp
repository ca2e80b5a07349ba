#pragma once
// Grouped and depthwise convolutions (PyTorch's groups = G): the C input channels and the F
// filters are split into G groups, and filter f, of group g = f / (F / G), sees only the C / G
// channels of its group:
//
//   y[p][f] = Act(b[f] + sum over taps t, c < C/G of  x[input position under tap t of p][g C/G + c] W(f, t C/G + c))
//
// W is a (K C/G) x F matrix (K = Kh Kw taps) in the panel storage of every weight (core/layout.hpp):
// row t C/G + c (tap-major, the channel within the group minor), column f. Depthwise is G = C
// (C/G = 1), with F = M C for a channel multiplier M.
//
// Direct kernels, not a matrix product per group: a group's product is positions x (K C/G) x F/G,
// for a depthwise convolution K x 1 x M, far too thin for kernels/gemm.hpp, whose tiles are whole
// 64-byte panels of outputs; and one product of the block-diagonal dense weight would multiply
// G - 1 zeros for every useful term. Here vectors run over the output channels (forward, weight
// gradient) or the input channels (input gradient) across the groups, each lane reading the value
// of its own group (group_lanes):
//   - a vector inside one group (F/G, or C/G for the input gradient, a multiple of the vector
//     width): its input is one broadcast;
//   - depthwise without multiplier (C/G = F/G = 1): lane f reads channel f, one contiguous load;
//   - otherwise lane by lane (a depthwise multiplier, groups smaller than a vector).
// So the work is what the grouped convolution defines: K C/G multiply-adds per output value.
//
// Taps are read where they are (no im2col window is gathered): an output position's input rows,
// a causal conv1d's ring for the taps before a pass (kernels/convolution.hpp, causal_context), or
// nothing for a tap in the zero padding. Positions are row-major, channels last, as in
// kernels/convolution.hpp; x_stride is the distance between two input positions.
#include <algorithm>
#include <cstddef>

#include <hinge/core/window.hpp>
#include <hinge/core/work_share.hpp>
#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/convolution.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// What lane l of the vector of units [u0, u0 + width) reads from `row`: unit u = u0 + l belongs
// to group u / PerGroup, whose values in `row` start at (u / PerGroup) * Stride; the lane reads
// the j-th of them. Lanes past Units read 0. Forward and weight gradient: units are filters
// (PerGroup = F/G, Stride = C/G, j the channel in the group); input gradient: units are input
// channels (PerGroup = C/G, Stride = F/G, j the filter in the group).
// @pre u0 < Units, u0 a multiple of the vector width.
template <std::size_t Units, std::size_t PerGroup, std::size_t Stride, class T>
inline vector<T> group_lanes(const T* row, std::size_t u0, std::size_t j) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size;
    if constexpr (PerGroup % W == 0) {
        // Every lane in one group (then Units is a multiple of W: no lane past Units).
        return V(row[u0 / PerGroup * Stride + j]);
    } else {
        if constexpr (PerGroup == 1 && Stride == 1) {
            // Lane u reads row[u] (j is 0): contiguous, unless the vector runs past Units (an
            // unpadded network input would then be read past its end).
            if (u0 + W <= Units) return V::load_unaligned(row + u0);
        }
        // Lane by lane. (xsimd's gather, one vgatherdps on AVX2, was slower here: 1.3x in the
        // forward pass and 9x in the weight gradient of a depthwise x2 3x3 conv2d, 32x32x32, batch
        // 16, on this project's Xeon, whose microcode makes gathers slow.)
        alignas(storage_alignment) T lanes[W];
        for (std::size_t l = 0; l < W; ++l) {
            const std::size_t u = u0 + l;
            lanes[l] = u < Units ? row[u / PerGroup * Stride + j] : T(0);
        }
        return V::load_aligned(lanes);
    }
}

// The input rows the taps of output position (oy, ox) read, tap-major (kh * Kw + kw): a row of x,
// a row of the causal ring (a causal conv1d continuing a sequence: `ring` non-null), or null for
// a tap in the zero padding.
template <window_geometry G, class T>
inline void tap_rows(const T* x, std::size_t x_stride, const T* ring, const causal_context<T>* context, std::size_t oy,
                     std::size_t ox, const T* (&taps)[G.window_size()]) noexcept {
    for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
        // Unsigned arithmetic: a tap in the top/left padding wraps around and fails the < test.
        const std::size_t iy = oy * G.stride_height + kh * G.dilation_height - G.pad_top;
        for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
            const std::size_t reach = ox * G.stride_width + kw * G.dilation_width;  // input position + pad_left
            const std::size_t ix = reach - G.pad_left;
            const T* row = nullptr;
            if (iy < G.height && ix < G.width) {
                row = x + (iy * G.width + ix) * x_stride;
            } else if constexpr (G.height == 1 && G.stride_width == 1 && G.pad_left > 0) {  // may be causal
                if (ring && reach < G.pad_left) {
                    constexpr std::size_t R = G.pad_left;  // the ring's rows, a constant (no division)
                    const std::size_t first_slot = static_cast<std::size_t>(context->position % R);
                    row = ring + (first_slot + R - (G.pad_left - reach)) % R * context->row_width;
                }
            }
            taps[kh * G.kernel_width + kw] = row;
        }
    }
}

// One output position: y = Act(b + sum over the taps of their input rows times their weights),
// the taps given as input rows (null: zeros). y (and z when kept): pad(F) values; the lanes past F
// get Act(0 + 0) (zero bias), as in the other convolution paths. `row`: the position, for the
// noise of a stochastic activation.
template <class Act, window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void grouped_output_position(const T* const (&taps)[G.window_size()], const T* w, const T* b, T* y, T* z,
                                    const activation_inputs<T>& activation, std::size_t row) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size, P = panel_width<T>, C = G.channels;
    constexpr std::size_t Cg = C / Groups, Fg = F / Groups, K = G.window_size();
    constexpr std::size_t fan_in = K * Cg;
    constexpr std::size_t vectors = round_up(F, P) / W;
    constexpr std::size_t live = (F + W - 1) / W;  // vectors holding at least one filter
    constexpr std::size_t block = 4;                // accumulators kept in registers at once
    for (std::size_t v0 = 0; v0 < vectors; v0 += block) {
        V acc[block];
        for_each_index<block>([&](auto i) { acc[i] = v0 + i < vectors ? V::load_aligned(b + (v0 + i) * W) : V(T(0)); });
        for (std::size_t t = 0; t < K; ++t) {
            const T* x = taps[t];
            if (!x) continue;
            for (std::size_t c = 0; c < Cg; ++c) {
                for_each_index<block>([&](auto i) {
                    const std::size_t f0 = (v0 + i) * W;
                    if (v0 + i < live)
                        acc[i] = multiply_add(group_lanes<F, Fg, Cg>(x, f0, c),
                                              V::load_aligned(w + f0 / P * (fan_in * P) + (t * Cg + c) * P + f0 % P),
                                              acc[i]);
                });
            }
        }
        for_each_index<block>([&](auto i) {
            const std::size_t f0 = (v0 + i) * W;
            if (v0 + i < vectors) {
                if constexpr (keeps_pre_activation<Act>) {
                    if (z) acc[i].store_aligned(z + f0);
                }
                activate<Act>(acc[i], activation, row, f0).store_aligned(y + f0);
            }
        });
    }
}

// y = Act(grouped convolution of x + b) for `samples` samples. x: samples x positions x x_stride;
// y (and z when kept): samples x out positions x pad(F). With a context (a causal conv1d
// continuing its sequences; null otherwise), sample n's taps before the pass read its ring. A team
// splits every sample's output positions.
template <class Act, window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void grouped_convolution_forward(std::size_t samples, const T* x, std::size_t x_stride, const T* w, const T* b,
                                        T* y, const activation_inputs<T>& activation, T* z,
                                        const causal_context<T>* context = nullptr, work_share share = {}) noexcept {
    constexpr std::size_t positions = G.output_positions();
    constexpr std::size_t y_stride = round_up(F, panel_width<T>);
    const std::size_t first = share.begin(positions), last = share.end(positions);
    for (std::size_t n = 0; n < samples; ++n) {
        activation_inputs<T> per_sample = activation;  // each sample draws its own noise, as the gemm path
        per_sample.noise.seed += 0x632be59bd9b4e019ull * n;
        const T* sample = x + n * G.input_positions() * x_stride;
        const T* ring = context ? context->sample(n) : nullptr;
        for (std::size_t p = first; p < last; ++p) {
            const T* taps[G.window_size()];
            tap_rows<G>(sample, x_stride, ring, context, p / G.out_width, p % G.out_width, taps);
            const std::size_t at = (n * positions + p) * y_stride;
            grouped_output_position<Act, G, F, Groups>(taps, w, b, y + at, z ? z + at : nullptr, per_sample, p);
        }
    }
}

// One output position of a causal conv1d (a stream's step, one sample): the taps read the
// current input and the ring in place. A null ring is the start of a sequence (zeros before it).
template <class Act, window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void grouped_causal_step(const T* x, const causal_context<T>& context, const T* w, const T* b, T* y,
                                const activation_inputs<T>& activation) noexcept {
    static_assert(G.height == 1 && G.stride_width == 1 && G.out_width == 1 && G.pad_left > 0,
                  "grouped_causal_step: one output position of a causal conv1d");
    const T* taps[G.window_size()];
    tap_rows<G>(x, 0, context.ring, &context, 0, 0, taps);
    grouped_output_position<Act, G, F, Groups>(taps, w, b, y, static_cast<T*>(nullptr), activation, 0);
}

// dW(f, t C/G + c) = sum over samples and output positions p of dz[p][f] x[tap t of p][g C/G + c],
// overwriting dw (panel storage; the lanes of the padding columns get 0). dz: samples x out
// positions rows of stride dz_stride. The positions are taken in tiles of up to 32 of one output
// row, and every (tap, vector block, channel block) unit runs over a tile before the next tile, so
// the tile's dz and input rows stay in L1 for all taps; a unit's accumulators (a block of vectors
// times a block of its group's channels) stay in registers over the tile. A team splits the units:
// each value of dW is summed by one member in the serial order (samples, rows, positions).
template <window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void grouped_convolution_weight_gradient(std::size_t samples, const T* x, std::size_t x_stride, const T* dz,
                                                std::size_t dz_stride, T* dw,
                                                const causal_context<T>* context = nullptr,
                                                work_share share = {}) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size, P = panel_width<T>, C = G.channels;
    constexpr std::size_t Cg = C / Groups, Fg = F / Groups, K = G.window_size();
    constexpr std::size_t fan_in = K * Cg;
    constexpr std::size_t positions = G.output_positions();
    constexpr std::size_t vectors = round_up(F, P) / W;
    constexpr std::size_t live = (F + W - 1) / W;
    // 8 accumulators: vectors x channels of a group (depthwise: up to 8 vectors of one channel).
    constexpr std::size_t vb = std::min<std::size_t>(live, Cg == 1 ? 8 : 4);
    constexpr std::size_t cb = std::min<std::size_t>(Cg, std::max<std::size_t>(1, 8 / vb));
    constexpr std::size_t vector_blocks = (live + vb - 1) / vb, channel_blocks = (Cg + cb - 1) / cb;
    constexpr std::size_t units = K * vector_blocks * channel_blocks;
    constexpr std::size_t tile = 32;
    const std::size_t first = share.begin(units), last = share.end(units);
    const auto at = [](std::size_t f0, std::size_t row) { return f0 / P * (fan_in * P) + row * P + f0 % P; };
    // The padding columns (vectors past the last filter) are 0, written by the member of unit 0.
    if (first == 0 && last > 0)
        for (std::size_t v = live; v < vectors; ++v)
            for (std::size_t row = 0; row < fan_in; ++row) V(T(0)).store_aligned(dw + at(v * W, row));
    for (std::size_t unit = first; unit < last; ++unit) {
        const std::size_t t = unit / (vector_blocks * channel_blocks);
        const std::size_t v0 = unit / channel_blocks % vector_blocks * vb, c0 = unit % channel_blocks * cb;
        for (std::size_t cc = c0; cc < std::min(c0 + cb, Cg); ++cc)
            for (std::size_t v = v0; v < std::min(v0 + vb, live); ++v) V(T(0)).store_aligned(dw + at(v * W, t * Cg + cc));
    }
    for (std::size_t n = 0; n < samples; ++n) {
        const T* sample = x + n * G.input_positions() * x_stride;
        const T* ring = context ? context->sample(n) : nullptr;
        for (std::size_t oy = 0; oy < G.out_height; ++oy)
            for (std::size_t ox0 = 0; ox0 < G.out_width; ox0 += tile) {
                const std::size_t ox1 = std::min(ox0 + tile, G.out_width);
                const T* tile_dz = dz + (n * positions + oy * G.out_width) * dz_stride;
                for (std::size_t unit = first; unit < last; ++unit) {
                    const std::size_t t = unit / (vector_blocks * channel_blocks);
                    const std::size_t v0 = unit / channel_blocks % vector_blocks * vb, c0 = unit % channel_blocks * cb;
                    const std::size_t kh = t / G.kernel_width, kw = t % G.kernel_width;
                    // Unsigned arithmetic: a tap in the top padding wraps around and fails the < test.
                    const std::size_t iy = oy * G.stride_height + kh * G.dilation_height - G.pad_top;
                    if (iy >= G.height) continue;
                    V acc[cb][vb];
                    for_each_index<cb>([&](auto cc) {
                        for_each_index<vb>([&](auto i) {
                            acc[cc][i] = c0 + cc < Cg && v0 + i < live
                                             ? V::load_aligned(dw + at((v0 + i) * W, t * Cg + c0 + cc))
                                             : V(T(0));
                        });
                    });
                    for (std::size_t ox = ox0; ox < ox1; ++ox) {
                        // The input row under tap t of this position (as tap_rows finds it, for one tap).
                        const std::size_t reach = ox * G.stride_width + kw * G.dilation_width;  // input position + pad_left
                        const std::size_t ix = reach - G.pad_left;
                        const T* source = nullptr;
                        if (ix < G.width) {
                            source = sample + (iy * G.width + ix) * x_stride;
                        } else if constexpr (G.height == 1 && G.stride_width == 1 && G.pad_left > 0) {  // may be causal
                            if (ring && reach < G.pad_left) {
                                constexpr std::size_t R = G.pad_left;
                                const std::size_t first_slot = static_cast<std::size_t>(context->position % R);
                                source = ring + (first_slot + R - (G.pad_left - reach)) % R * context->row_width;
                            }
                        }
                        if (!source) continue;
                        const T* d = tile_dz + ox * dz_stride;
                        V dv[vb];
                        for_each_index<vb>([&](auto i) { dv[i] = v0 + i < live ? V::load_aligned(d + (v0 + i) * W) : V(T(0)); });
                        for_each_index<cb>([&](auto cc) {
                            if (c0 + cc < Cg)
                                for_each_index<vb>([&](auto i) {
                                    if (v0 + i < live)
                                        acc[cc][i] = multiply_add(dv[i], group_lanes<F, Fg, Cg>(source, (v0 + i) * W, c0 + cc),
                                                                  acc[cc][i]);
                                });
                        });
                    }
                    for_each_index<cb>([&](auto cc) {
                        for_each_index<vb>([&](auto i) {
                            if (c0 + cc < Cg && v0 + i < live)
                                acc[cc][i].store_aligned(dw + at((v0 + i) * W, t * Cg + c0 + cc));
                        });
                    });
                }
            }
    }
}

// W transposed for the input gradient, over the input channels:
//   wt[(t F/G + j) pad(C) + ch] = W(filter (ch / (C/G)) F/G + j, row t C/G + ch % (C/G)),
// the weight that joins input channel ch, through tap t, to the j-th filter of its group; 0 past C.
template <window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void transpose_grouped_weights(const T* w, T* wt) noexcept {
    constexpr std::size_t P = panel_width<T>, C = G.channels, Cp = round_up(C, P);
    constexpr std::size_t Cg = C / Groups, Fg = F / Groups, K = G.window_size();
    constexpr std::size_t fan_in = K * Cg;
    for (std::size_t t = 0; t < K; ++t)
        for (std::size_t j = 0; j < Fg; ++j) {
            T* target = wt + (t * Fg + j) * Cp;
            for (std::size_t ch = 0; ch < Cp; ++ch) {
                if (ch >= C) {
                    target[ch] = T(0);
                    continue;
                }
                const std::size_t f = ch / Cg * Fg + j;
                target[ch] = w[f / P * (fan_in * P) + (t * Cg + ch % Cg) * P + f % P];
            }
        }
}

// dz_prev[q][ch] = PrevAct'(u_prev) * sum over taps t and the output positions p that read input
// position q through t, of sum_j dz[p][(ch / (C/G)) F/G + j] wt[t][j][ch], with the previous
// stage's column sums; rows of pad(C) values (stride dz_prev_stride), per sample. wt: from
// transpose_grouped_weights. For each input position the taps that reach an output are found once,
// then every vector of its channels is finished in a register. A team splits every sample's input
// positions; with more than one member the column sums of `previous` must be the member's own
// (runtime/stage_context.hpp, member_column_sums).
template <class PrevAct, window_geometry G, std::size_t F, std::size_t Groups, class T>
inline void grouped_convolution_input_gradient(std::size_t samples, const T* dz, std::size_t dz_stride, const T* wt,
                                               const activation_gradient_target<T>& previous, T* dz_prev,
                                               std::size_t dz_prev_stride, work_share share = {}) noexcept {
    using V = vector<T>;
    constexpr std::size_t W = V::size, P = panel_width<T>, C = G.channels, Cp = round_up(C, P);
    constexpr std::size_t Cg = C / Groups, Fg = F / Groups, K = G.window_size();
    constexpr std::size_t positions = G.input_positions();
    constexpr std::size_t vectors = Cp / W;
    constexpr std::size_t live = (C + W - 1) / W;
    constexpr std::size_t block = 4;
    const std::size_t first = share.begin(positions), last = share.end(positions);
    if (first == last) return;
    column_sums<PrevAct, T> sums[vectors];
    for (std::size_t n = 0; n < samples; ++n) {
        const activation_gradient_target<T> target = previous.advanced(n * positions);
        const T* sample_dz = dz + n * G.output_positions() * dz_stride;
        for (std::size_t q = first; q < last; ++q) {
            // The (output gradient row, weights of the tap) pairs that reach input position q.
            const T* rows[K];
            const T* weights[K];
            std::size_t reached = 0;
            const std::size_t iy = q / G.width, ix = q % G.width;
            for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
                // oy * stride = iy + pad - kh * dilation, when that is a whole, in-range position.
                const std::size_t ny = iy + G.pad_top - kh * G.dilation_height;  // wraps when negative
                const std::size_t oy = ny / G.stride_height;
                if (iy + G.pad_top < kh * G.dilation_height || ny % G.stride_height != 0 || oy >= G.out_height)
                    continue;
                for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
                    const std::size_t nx = ix + G.pad_left - kw * G.dilation_width;
                    const std::size_t ox = nx / G.stride_width;
                    if (ix + G.pad_left < kw * G.dilation_width || nx % G.stride_width != 0 || ox >= G.out_width)
                        continue;
                    rows[reached] = sample_dz + (oy * G.out_width + ox) * dz_stride;
                    weights[reached++] = wt + (kh * G.kernel_width + kw) * Fg * Cp;
                }
            }
            T* out = dz_prev + (n * positions + q) * dz_prev_stride;
            // Blocks of 4 vectors: 4 independent chains of multiply-adds.
            for (std::size_t v0 = 0; v0 < vectors; v0 += block) {
                V acc[block];
                for_each_index<block>([&](auto i) { acc[i] = V(T(0)); });
                for (std::size_t k = 0; k < reached; ++k)
                    for (std::size_t j = 0; j < Fg; ++j)
                        for_each_index<block>([&](auto i) {
                            const std::size_t c0 = (v0 + i) * W;
                            if (v0 + i < live)
                                acc[i] = multiply_add(group_lanes<C, Cg, Fg>(rows[k], c0, j),
                                                      V::load_aligned(weights[k] + j * Cp + c0), acc[i]);
                        });
                for_each_index<block>([&](auto i) {
                    const std::size_t c0 = (v0 + i) * W;
                    if (v0 + i < vectors) sums[v0 + i].gradient(acc[i], target, q, c0).store_aligned(out + c0);
                });
            }
        }
    }
    for (std::size_t v = 0; v < vectors; ++v) sums[v].add_to(previous, v * W);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
