#pragma once
// Pooling over non-overlapping windows, vectorised across channels (channels-last: one vector is
// several channels of one position). Forward applies the following activation in the same pass;
// backward hands each input position its share of the gradient and applies the previous stage's
// activation derivative in the same pass.
#include <cstddef>

#include <hinge/core/work_share.hpp>

#include <hinge/kernels/activation.hpp>
#include <hinge/core/window.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// y = Act(max or mean over each window). x and y: samples x positions rows of Cp values
// (Cp = padded channels); z, if not null, receives the pooled value before the activation.
template <class Act, pooling_kind Kind, window_geometry G, std::size_t Cp, class T>
inline void pooling_forward(std::size_t samples, const T* x, T* y, const activation_inputs<T>& activation,
                            T* z, work_share share = {}) noexcept {
    using V = vector<T>;
    const V inverse_count(T(1) / static_cast<T>(G.window_size()));
    for (std::size_t n = share.begin(samples); n < share.end(samples); ++n) {
        const T* sample = x + n * G.input_positions() * Cp;
        for (std::size_t oy = 0; oy < G.out_height; ++oy) {
            for (std::size_t ox = 0; ox < G.out_width; ++ox) {
                const std::size_t row = n * G.output_positions() + oy * G.out_width + ox;
                const T* corner = sample + (oy * G.stride_height * G.width + ox * G.stride_width) * Cp;
                for (std::size_t c = 0; c < Cp; c += V::size) {
                    V pooled = V::load_aligned(corner + c);
                    for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
                        for (std::size_t kw = kh == 0 ? 1 : 0; kw < G.kernel_width; ++kw) {
                            const V v = V::load_aligned(corner + (kh * G.width + kw) * Cp + c);
                            if constexpr (Kind == pooling_kind::max) pooled = xsimd::max(pooled, v);
                            else pooled += v;
                        }
                    }
                    if constexpr (Kind == pooling_kind::average) pooled *= inverse_count;
                    if constexpr (keeps_pre_activation<Act>) {
                        if (z) pooled.store_aligned(z + row * Cp + c);
                    }
                    activate<Act>(pooled, activation, row, c).store_aligned(y + row * Cp + c);
                }
            }
        }
    }
}

// dz_prev = PrevAct'(u_prev) * dL/dx, where dL/dx routes dz to the first maximum of each window
// (max) or spreads dz / window size over it (average); positions past the last whole window
// get 0. x: the pooling's input (for max), samples x input positions x Cp; dz: samples x output
// positions rows, stride dz_stride; dz_prev: rows of input positions, stride dz_prev_stride.
template <class PrevAct, pooling_kind Kind, window_geometry G, std::size_t Cp, class T>
// A team splits the samples; with more than one member, previous's column sums must be the
// member's own (runtime/passes.hpp adds them up in member order).
inline void pooling_backward(std::size_t samples, const T* x, const T* dz, std::size_t dz_stride,
                             const activation_gradient_target<T>& previous, T* dz_prev,
                             std::size_t dz_prev_stride, work_share share = {}) noexcept {
    using V = vector<T>;
    constexpr std::size_t nv = Cp / V::size;
    column_sums<PrevAct, T> sums[nv];
    const V inverse_count(T(1) / static_cast<T>(G.window_size()));

    // One input position with incoming gradient g, channels [c, c + V::size).
    auto finish = [&](std::size_t n, std::size_t iy, std::size_t ix, std::size_t v, V g) {
        const std::size_t row = n * G.input_positions() + iy * G.width + ix;
        sums[v].gradient(g, previous, row, v * V::size).store_aligned(dz_prev + row * dz_prev_stride + v * V::size);
    };

    for (std::size_t n = share.begin(samples); n < share.end(samples); ++n) {
        const T* sample = x + n * G.input_positions() * Cp;
        for (std::size_t oy = 0; oy < G.out_height; ++oy) {
            for (std::size_t ox = 0; ox < G.out_width; ++ox) {
                const T* g_row = dz + (n * G.output_positions() + oy * G.out_width + ox) * dz_stride;
                const std::size_t y0 = oy * G.stride_height, x0 = ox * G.stride_width;
                for (std::size_t v = 0; v < nv; ++v) {
                    const std::size_t c = v * V::size;
                    const V g = V::load_aligned(g_row + c);
                    if constexpr (Kind == pooling_kind::max) {
                        V maximum = V::load_aligned(sample + (y0 * G.width + x0) * Cp + c);
                        for (std::size_t kh = 0; kh < G.kernel_height; ++kh)
                            for (std::size_t kw = 0; kw < G.kernel_width; ++kw)
                                maximum = xsimd::max(maximum, V::load_aligned(sample + ((y0 + kh) * G.width + x0 + kw) * Cp + c));
                        // Ties: the first maximum in window order takes the gradient, as PyTorch.
                        auto taken = maximum != maximum;  // all false (the values are finite)
                        for (std::size_t kh = 0; kh < G.kernel_height; ++kh) {
                            for (std::size_t kw = 0; kw < G.kernel_width; ++kw) {
                                const V value = V::load_aligned(sample + ((y0 + kh) * G.width + x0 + kw) * Cp + c);
                                const auto first = (value == maximum) && !taken;
                                taken = taken || first;
                                finish(n, y0 + kh, x0 + kw, v, xsimd::select(first, g, V(T(0))));
                            }
                        }
                    } else {
                        const V spread = g * inverse_count;
                        for (std::size_t kh = 0; kh < G.kernel_height; ++kh)
                            for (std::size_t kw = 0; kw < G.kernel_width; ++kw) finish(n, y0 + kh, x0 + kw, v, spread);
                    }
                }
            }
        }
        // Positions that no window covers (the input is not a whole number of windows).
        for (std::size_t iy = 0; iy < G.height; ++iy)
            for (std::size_t ix = 0; ix < G.width; ++ix)
                if (iy >= G.out_height * G.stride_height || ix >= G.out_width * G.stride_width)
                    for (std::size_t v = 0; v < nv; ++v) finish(n, iy, ix, v, V(T(0)));
    }
    for (std::size_t v = 0; v < nv; ++v) sums[v].add_to(previous, v * V::size);
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
