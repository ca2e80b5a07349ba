#pragma once
// What happens to a finished tile while it is still in registers. This is where an activation
// is fused: forward applies it, backward applies its derivative, so neither costs a pass over
// memory of its own.
#include <cstddef>
#include <type_traits>

#include <hinge/activations/concepts.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/kernels/activation.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// Forward: y = Act(acc + bias), row-major output with row stride y_stride. When the activation's
// derivative needs z (and this is a training pass), z is stored too, from the same registers.
template <class Act, class T>
struct bias_activation_epilogue {
    const T* bias;
    T* y;
    std::size_t y_stride;
    activation_inputs<T> activation{};
    T* z = nullptr;  // null: do not keep z

    T* partial(std::size_t row, std::size_t column) const noexcept { return y + row * y_stride + column; }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        V b[NV];
        for (std::size_t v = 0; v < NV; ++v) b[v] = V::load_aligned(bias + first_column + v * V::size);
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            const std::size_t row = first_row + i;
            T* out = y + row * y_stride + first_column;
            for (std::size_t v = 0; v < NV; ++v) {
                const V pre = acc[i][v] + b[v];
                if constexpr (keeps_pre_activation<Act>) {
                    if (z) pre.store_aligned(z + row * y_stride + first_column + v * V::size);
                }
                activate<Act>(pre, activation, row, first_column + v * V::size).store_aligned(out + v * V::size);
            }
        }
    }
};

// Input gradient of stage l, which is the pre-activation gradient of stage l-1:
//   dz_prev = acc * PrevAct'(u_prev), with the bias (and slope) gradients of stage l-1 taking
// their column sums. With PrevAct = identity and no target sums, it is the plain product (the
// gradient of the network input).
template <class PrevAct, class T>
struct derivative_epilogue {
    activation_gradient_target<T> previous;
    T* dz_prev;
    std::size_t dz_prev_stride;

    T* partial(std::size_t row, std::size_t column) const noexcept {
        return dz_prev + row * dz_prev_stride + column;
    }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        column_sums<PrevAct, T> sums[NV];
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            const std::size_t row = first_row + i;
            T* out = dz_prev + row * dz_prev_stride + first_column;
            for (std::size_t v = 0; v < NV; ++v)
                sums[v].gradient(acc[i][v], previous, row, first_column + v * V::size).store_aligned(out + v * V::size);
        }
        for (std::size_t v = 0; v < NV; ++v) sums[v].add_to(previous, first_column + v * V::size);
    }
};

// Weight gradient: the tile is stored as is, into the panel layout of the weights
// (panel j of rows 0..depth-1, row stride P). A tile may span several panels.
template <class T>
struct panel_store_epilogue {
    T* c;
    std::size_t panel_step;  // elements between consecutive panels (= input width * P)

    T* partial(std::size_t row, std::size_t column) const noexcept {
        constexpr std::size_t P = panel_width<T>;
        return c + column / P * panel_step + row * P + column % P;
    }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            for (std::size_t v = 0; v < NV; ++v)
                acc[i][v].store_aligned(partial(first_row + i, first_column + v * V::size));
        }
    }
};

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
