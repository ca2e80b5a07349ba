#pragma once
// The straight-line batch-1 path (runtime/batch1_plan.hpp): a whole dense network whose weights
// fit in L1 as ONE unrolled function. Each stage's output stays in vector registers; the next
// stage broadcasts its inputs from those registers lane by lane (vperm2f128 + vpermilps on AVX2,
// shufps on SSE; not a store and a reload through memory), every input step is written out at
// compile time (no loop control, no tail), and each output vector is a balanced tree of products
// (product_tree below) rather than one chain of In dependent FMAs.
//
// Layout of the weights (the plan's offsets), per stage, float:
//   broadcast  In rows of pad8(Out) weights: row k holds weight(o, k) at o; zero past Out.
//   dot        Out rows of pad8(In) weights: row o holds weight(o, k) at k; zero past In.
// Widths that are not a multiple of 8 are padded with zero weights and zero bias, so every
// vector is whole: there is no scalar tail anywhere; the padded lanes compute Act(0) and are
// never read as inputs (their weights in the next stage are zero rows that are not visited).
//
// The vectors are 8 floats (AVX2; AVX-512 builds use the AVX2 registers here: a tiny network's
// rows are 8-16 wide) or 4 (SSE), i.e. two per block of 8.
#include <cstddef>
#include <type_traits>
#include <utility>

#include <hinge/activations/concepts.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/core/batch1_layout.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

#if defined(__AVX512F__)
using straight_line_arch = xsimd::fma3<xsimd::avx2>;
#else
using straight_line_arch = compiled_arch;
#endif
// Never an AVX-512 batch, so xsimd::fma is a real FMA wherever the flags have one (see
// multiply_add in simd.hpp for the AVX-512 case this avoids).
using lane_vector = xsimd::batch<float, straight_line_arch>;
inline constexpr std::size_t lane_width = lane_vector::size;
static_assert(straight_line_block % lane_width == 0, "straight_line: a block of 8 must be whole vectors");

// Lane `Lane` of v in every lane, without going through memory. AVX2: the lane's 128-bit half in
// both halves (vperm2f128, the same for four lanes, so the compiler computes it once per vector)
// and an in-lane vpermilps with an immediate: no index vector to build, 1-cycle shuffles.
template <std::size_t Lane>
[[gnu::always_inline]] inline lane_vector broadcast_lane(const lane_vector& v) noexcept {
    static_assert(Lane < lane_width);
    constexpr int pattern = static_cast<int>((Lane % 4) * 0x55);
#if defined(__AVX2__)
    const __m256 half = _mm256_permute2f128_ps(v, v, Lane < 4 ? 0x00 : 0x11);
    return lane_vector(_mm256_permute_ps(half, pattern));
#elif defined(__SSE2__)
    return lane_vector(_mm_shuffle_ps(v, v, pattern));
#else
    return lane_vector(v.get(Lane));
#endif
}

// Act(z) in registers. relu as one max (max(0, z) returns its second operand, z, when z is NaN,
// so NaN still propagates as relu::forward promises); every other activation as it defines itself.
template <class Act, class V>
[[gnu::always_inline]] inline V activate_in_registers(const V& z) noexcept {
    if constexpr (std::is_same_v<Act, relu>) {
#if defined(__AVX512F__)
        if constexpr (V::size == 16) return V(_mm512_max_ps(_mm512_setzero_ps(), z));
        else
#endif
#if defined(__AVX__)
        if constexpr (V::size == 8) return V(_mm256_max_ps(_mm256_setzero_ps(), z));
        else
#endif
#if defined(__SSE2__)
        if constexpr (V::size == 4) return V(_mm_max_ps(_mm_setzero_ps(), z));
        else
#endif
            return Act::forward(z);
    } else {
        return Act::forward(z);
    }
}

// The sum of the lanes of v (a shuffle tree; vhaddps is three micro-ops on most cores).
[[gnu::always_inline]] inline float sum_of_lanes(const lane_vector& v) noexcept {
#if defined(__AVX__)
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
#elif defined(__SSE2__)
    __m128 s = v;
#endif
#if defined(__SSE2__)
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
#else
    return xsimd::hadd(v);
#endif
}

// The input of a stage: the network input in memory (stage 0), or the previous stage's vectors.
struct memory_input {
    const float* x;
    template <std::size_t K>
    [[gnu::always_inline]] lane_vector lane() const noexcept {
        return lane_vector(x[K]);
    }
};

template <std::size_t N>
struct register_input {
    lane_vector v[N];
    template <std::size_t K>
    [[gnu::always_inline]] lane_vector lane() const noexcept {
        return broadcast_lane<K % lane_width>(v[K / lane_width]);
    }
};

// Where a broadcast stage's weights and bias are. Row k of output vector v is contiguous: the
// converted layout of batch1_plan (rows of pad8(Out) weights), or the parameter block itself
// (core/layout.hpp: panels of 16 outputs, In rows each), which inference<Net> reads directly.
template <std::size_t Stride>
struct row_weights {
    const float* w;
    const float* b;
    template <std::size_t K>
    [[gnu::always_inline]] const float* row(std::size_t v) const noexcept {
        return w + K * Stride + v * lane_width;
    }
    [[gnu::always_inline]] const float* bias(std::size_t v) const noexcept { return b + v * lane_width; }
};
template <std::size_t In>
struct panel_weights {
    static constexpr std::size_t P = panel_width<float>;
    const float* w;
    const float* b;
    template <std::size_t K>
    [[gnu::always_inline]] const float* row(std::size_t v) const noexcept {
        const std::size_t column = v * lane_width;
        return w + column / P * (In * P) + K * P + column % P;
    }
    [[gnu::always_inline]] const float* bias(std::size_t v) const noexcept { return b + v * lane_width; }
};

// The product x W of a broadcast stage as a balanced tree over the inputs, all NV output vectors
// at once: pairs of inputs are a multiply and an FMA, and the pairs are added pairwise. Its
// critical path is one multiply, one FMA and log2(In / 2) adds (16 inputs: 3 + 4 + 3 x 3 = 16
// cycles on Zen 4), where four accumulator chains of In / 4 FMAs plus their two-level sum take
// 4 x 4 + 2 x 3 = 22; the work is the same. The bias enters in the first pair's product as the
// FMA's addend (one cycle more on one leaf, no add of its own). Evaluated depth first, the tree
// keeps about log2(In) partial sums per output vector live, so it fits the registers.
template <std::size_t K0, std::size_t K1, bool WithBias, std::size_t NV, class Source, class Weights>
[[gnu::always_inline]] inline void product_tree(const Source& source, const Weights& weights,
                                                lane_vector (&out)[NV]) noexcept {
    if constexpr (K1 - K0 == 1) {
        const lane_vector x = source.template lane<K0>();
        for (std::size_t v = 0; v < NV; ++v) {
            const lane_vector wv = lane_vector::load_aligned(weights.template row<K0>(v));
            if constexpr (WithBias) out[v] = xsimd::fma(x, wv, lane_vector::load_aligned(weights.bias(v)));
            else out[v] = x * wv;
        }
    } else if constexpr (K1 - K0 == 2) {
        const lane_vector x0 = source.template lane<K0>();
        const lane_vector x1 = source.template lane<K0 + 1>();
        for (std::size_t v = 0; v < NV; ++v) {
            const lane_vector w0 = lane_vector::load_aligned(weights.template row<K0>(v));
            const lane_vector w1 = lane_vector::load_aligned(weights.template row<K0 + 1>(v));
            lane_vector first;
            if constexpr (WithBias) first = xsimd::fma(x0, w0, lane_vector::load_aligned(weights.bias(v)));
            else first = x0 * w0;
            out[v] = xsimd::fma(x1, w1, first);
        }
    } else {
        // Split at an even count, so that pairs stay pairs.
        constexpr std::size_t half = (K1 - K0) / 2;
        constexpr std::size_t middle = K0 + (half % 2 == 0 ? half : half + 1);
        lane_vector left[NV];
        lane_vector right[NV];
        product_tree<K0, middle, WithBias>(source, weights, left);
        product_tree<middle, K1, false>(source, weights, right);
        for (std::size_t v = 0; v < NV; ++v) out[v] = left[v] + right[v];
    }
}

// out = Act(x W + b) for a broadcast stage of NV output vectors.
template <class Act, std::size_t In, std::size_t NV, class Source, class Weights>
[[gnu::always_inline]] inline void broadcast_stage(const Source& source, const Weights& weights,
                                                   lane_vector (&out)[NV]) noexcept {
    lane_vector sum[NV];
    product_tree<0, In, true>(source, weights, sum);
    for (std::size_t v = 0; v < NV; ++v) out[v] = activate_in_registers<Act>(sum[v]);
}

// y[o] = Act(<W[o, :], h> + b[o]) for a dot stage (the last one; b: 8 floats per output, the bias
// in lane 0): two chains per output over the input vectors, then a horizontal sum.
template <class Act, std::size_t InPad, std::size_t Out, std::size_t N>
[[gnu::always_inline]] inline void dot_stage(const register_input<N>& h, const float* w, const float* b,
                                             float* y) noexcept {
    static_assert(InPad / lane_width == N);
    for (std::size_t o = 0; o < Out; ++o) {
        const float* row = w + o * InPad;
        // The bias in lane 0 of the first product's addend (the layout stores it so): no scalar add
        // after the sum.
        lane_vector even = xsimd::fma(h.v[0], lane_vector::load_aligned(row),
                                      lane_vector::load_aligned(b + o * straight_line_block));
        if constexpr (N == 1) {
            y[o] = Act::forward(sum_of_lanes(even));
            continue;
        }
        lane_vector odd = h.v[N > 1 ? 1 : 0] * lane_vector::load_aligned(row + lane_width);
        for (std::size_t v = 2; v < N; ++v) {
            const lane_vector product_row = lane_vector::load_aligned(row + v * lane_width);
            if (v % 2 == 1) odd = xsimd::fma(h.v[v], product_row, odd);
            else even = xsimd::fma(h.v[v], product_row, even);
        }
        y[o] = Act::forward(sum_of_lanes(even + odd));
    }
}

// Stages I .. of the plan, given stage I's input. Writes the network output to y (the last
// stage's padded width).
template <class Net, class Plan, std::size_t I, class Source>
[[gnu::always_inline]] inline void straight_line_from(const Source& source, const float* weights, const float* floats,
                                                      float* y) noexcept {
    constexpr auto s = Plan::stages[I];
    using Act = typename Net::template stage<I>::activation;
    if constexpr (s.product == batch1_product::dot) {
        dot_stage<Act, s.padded_input, s.output_width>(source, weights + s.weight_offset, floats + s.bias_offset, y);
    } else {
        constexpr std::size_t nv = s.padded_output / lane_width;
        register_input<nv> out;
        broadcast_stage<Act, s.input_width>(
            source, row_weights<s.padded_output>{weights + s.weight_offset, floats + s.bias_offset}, out.v);
        if constexpr (I + 1 == Plan::stage_count) {
            for (std::size_t v = 0; v < nv; ++v) out.v[v].store_aligned(y + v * lane_width);
        } else {
            straight_line_from<Net, Plan, I + 1>(out, weights, floats, y);
        }
    }
}

// The whole network. x: Net::input_size values; y: 64-byte aligned, the last stage's padded width.
template <class Net, class Plan>
inline void straight_line_forward(const float* x, const float* weights, const float* floats, float* y) noexcept {
    straight_line_from<Net, Plan, 0>(memory_input{x}, weights, floats, y);
}

#if defined(__AVX2__)
// A dot stage on weights in panels (the last stage of inference<Net> when few outputs would waste
// most lanes of every broadcast FMA): W(o, k) sits 16 floats from W(o, k + 1), so each output's row
// of 8 inputs is gathered (vgatherdps, masked past In). The gathers depend on nothing the network
// computes, so they are issued long before h is ready and stay off the critical path; the bias
// enters in lane 0 of the first product's addend, as in dot_stage.
template <class Act, std::size_t In, std::size_t Out, std::size_t N>
[[gnu::always_inline]] inline void dot_stage_in_panels(const register_input<N>& h, const float* w, const float* b,
                                                       float* y) noexcept {
    constexpr std::size_t P = panel_width<float>;
    static_assert(lane_width == 8 && (In + lane_width - 1) / lane_width <= N);
    constexpr std::size_t vectors = (In + lane_width - 1) / lane_width;
    const __m256i rows = _mm256_setr_epi32(0, P, 2 * P, 3 * P, 4 * P, 5 * P, 6 * P, 7 * P);
    const auto row_of = [&](std::size_t o, std::size_t v) {
        const float* first = w + o / P * (In * P) + v * lane_width * P + o % P;
        if (v + 1 < vectors || In % lane_width == 0) return lane_vector(_mm256_i32gather_ps(first, rows, 4));
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256 valid = _mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(In % lane_width)), lanes));
        return lane_vector(_mm256_mask_i32gather_ps(_mm256_setzero_ps(), first, rows, valid, 4));
    };
    for (std::size_t o = 0; o < Out; ++o) {
        lane_vector even = xsimd::fma(h.v[0], row_of(o, 0), lane_vector(_mm256_zextps128_ps256(_mm_load_ss(b + o))));
        if constexpr (vectors == 1) {
            y[o] = Act::forward(sum_of_lanes(even));
            continue;
        }
        lane_vector odd = h.v[1] * row_of(o, 1);
        for (std::size_t v = 2; v < vectors; ++v) {
            if (v % 2 == 1) odd = xsimd::fma(h.v[v], row_of(o, v), odd);
            else even = xsimd::fma(h.v[v], row_of(o, v), even);
        }
        y[o] = Act::forward(sum_of_lanes(even + odd));
    }
}
#endif

// The same on the parameter block as stored (inference<Net>): stage I's weight in panels at
// Layout::stages[I].weight_offset, its bias at bias_offset; a broadcast stage of the vectors that
// hold its outputs, or, for a last stage of few outputs (Dot), a dot stage. y: 64-byte aligned,
// whole vectors of the last stage.
template <class Net, class Layout, std::size_t I, bool Dot, class Source>
[[gnu::always_inline]] inline void straight_line_from_parameters(const Source& source, const float* p, float* y) noexcept {
    using S = typename Net::template stage<I>;
    constexpr auto s = Layout::stages[I];
    constexpr std::size_t nv = (S::output_width + lane_width - 1) / lane_width;
#if defined(__AVX2__)
    if constexpr (Dot && I + 1 == Net::stage_count && I > 0) {
        dot_stage_in_panels<typename S::activation, S::input_width, S::output_width>(source, p + s.weight_offset,
                                                                                      p + s.bias_offset, y);
        return;
    }
#endif
    register_input<nv> out;
    broadcast_stage<typename S::activation, S::input_width>(
        source, panel_weights<S::input_width>{p + s.weight_offset, p + s.bias_offset}, out.v);
    if constexpr (I + 1 == Net::stage_count) {
        for (std::size_t v = 0; v < nv; ++v) out.v[v].store_aligned(y + v * lane_width);
    } else {
        straight_line_from_parameters<Net, Layout, I + 1, Dot>(out, p, y);
    }
}

template <class Net, class Layout, bool Dot>
inline void straight_line_forward_parameters(const float* x, const float* parameters, float* y) noexcept {
    straight_line_from_parameters<Net, Layout, 0, Dot>(memory_input{x}, parameters, y);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
