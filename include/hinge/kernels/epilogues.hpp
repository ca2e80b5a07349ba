#pragma once
// What happens to a finished tile while it is still in registers. This is where an activation
// is fused: forward applies it, backward applies its derivative, so neither costs a pass over
// memory of its own.
#include <cstddef>
#include <type_traits>

#include <hinge/activations/identity.hpp>
#include <hinge/kernels/simd.hpp>

namespace hinge::kernels {

// Forward: y = Act(acc + bias), row-major output with row stride y_stride.
template <class Act, class T>
struct bias_activation_epilogue {
    const T* bias;
    T* y;
    std::size_t y_stride;

    T* partial(std::size_t row, std::size_t column) const noexcept { return y + row * y_stride + column; }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        V b[NV];
        for (std::size_t v = 0; v < NV; ++v) b[v] = V::load_aligned(bias + first_column + v * V::size);
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            T* out = y + (first_row + i) * y_stride + first_column;
            for (std::size_t v = 0; v < NV; ++v) Act::forward(acc[i][v] + b[v]).store_aligned(out + v * V::size);
        }
    }
};

// Input gradient of stage l, which is the pre-activation gradient of stage l-1:
//   dz_prev = acc * PrevAct'(y_prev), and the bias gradient of stage l-1 accumulates its column sums.
// With PrevAct = identity and no bias (the network input), it is the plain product.
template <class PrevAct, class T, bool AccumulateBias>
struct derivative_epilogue {
    const T* y_prev;  // stored output of stage l-1 (ignored for identity)
    std::size_t y_prev_stride;
    T* dz_prev;
    std::size_t dz_prev_stride;
    T* bias_gradient;  // of stage l-1; zeroed by the caller before the product

    T* partial(std::size_t row, std::size_t column) const noexcept {
        return dz_prev + row * dz_prev_stride + column;
    }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        V column_sum[NV];
        for (std::size_t v = 0; v < NV; ++v) column_sum[v] = V(T(0));
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            const std::size_t row = first_row + i;
            T* out = dz_prev + row * dz_prev_stride + first_column;
            for (std::size_t v = 0; v < NV; ++v) {
                V dz = acc[i][v];
                if constexpr (!std::is_same_v<PrevAct, identity>)
                    dz = dz * PrevAct::derivative(
                                  V::load_aligned(y_prev + row * y_prev_stride + first_column + v * V::size));
                dz.store_aligned(out + v * V::size);
                if constexpr (AccumulateBias) column_sum[v] += dz;
            }
        }
        if constexpr (AccumulateBias) {
            for (std::size_t v = 0; v < NV; ++v) {
                T* db = bias_gradient + first_column + v * V::size;
                (V::load_aligned(db) + column_sum[v]).store_aligned(db);
            }
        }
    }
};

// Weight gradient: the tile is stored as is, into the panel layout of the weights
// (panel j of rows 0..depth-1, row stride P).
template <class T>
struct panel_store_epilogue {
    T* c;
    std::size_t panel_step;  // elements between consecutive panels (= input width * P)

    T* partial(std::size_t row, std::size_t column) const noexcept {
        constexpr std::size_t P = panel_width<T>;
        return c + column / P * panel_step + row * P;
    }

    template <std::size_t Rows, std::size_t NV>
    void operator()(std::size_t first_row, std::size_t valid_rows, std::size_t first_column,
                    vector<T> (&acc)[Rows][NV]) const noexcept {
        using V = vector<T>;
        constexpr std::size_t P = panel_width<T>;
        T* panel = c + first_column / P * panel_step;
        for (std::size_t i = 0; i < Rows; ++i) {
            if (i >= valid_rows) break;
            for (std::size_t v = 0; v < NV; ++v) acc[i][v].store_aligned(panel + (first_row + i) * P + v * V::size);
        }
    }
};

}  // namespace hinge::kernels
