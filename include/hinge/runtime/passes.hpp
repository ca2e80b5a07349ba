#pragma once
// The forward and backward passes: the planned stages, executed in order by the kernels.
// No allocation, no virtual call, no exception; every shape, offset and stride is a constant.
#include <cstddef>
#include <type_traits>

#include <hinge/core/storage.hpp>
#include <hinge/kernels/dense.hpp>

namespace hinge {

// Runs every stage on `rows` samples (rows <= Batch) of x (rows x Net::input_size, contiguous).
// Afterwards ws.activation<I>() holds every stage's output and ws.output(r) the network's.
template <class Net, std::size_t Batch, class T, bool ForTraining>
void forward(const parameters<Net, T>& params, workspace<Net, Batch, T, ForTraining>& ws, const T* x,
             std::size_t rows = Batch) noexcept {
    for_each_index<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        constexpr stage_layout s = layout<Net, T>::stages[i];
        const T* in = x;
        std::size_t in_stride = Net::input_size;
        if constexpr (i > 0) {
            in = ws.template activation<i - 1>();
            in_stride = layout<Net, T>::stages[i - 1].padded_output;
        }
        kernels::dense_forward<typename S::activation, S::input_width, S::output_width>(
            rows, in, in_stride, params.data() + s.weight_offset, params.data() + s.bias_offset,
            ws.template activation<i>());
    });
}

// Starts the backward pass from dL/dy of the network output: for every sample r < rows and
// output j, loss_gradient(r, j) is dL/dy(r, j). Writes dL/dz of the last stage (the output
// activation's derivative applied on the way) and that stage's bias gradient. Losses call this;
// so do tests that need the gradient of an arbitrary function of the output.
template <class Net, std::size_t Batch, class T, class LossGradient>
void seed_output_gradient(workspace<Net, Batch, T, true>& ws, gradients<Net, T>& grads, std::size_t rows,
                          LossGradient&& loss_gradient) noexcept {
    constexpr std::size_t last = Net::stage_count - 1;
    using Act = typename Net::template stage<last>::activation;
    constexpr stage_layout s = layout<Net, T>::stages[last];
    T* dz = ws.template pre_activation_gradient<last>();
    const T* y = ws.template activation<last>();
    T* db = grads.data() + s.bias_offset;
    for (std::size_t j = 0; j < s.padded_output; ++j) db[j] = T(0);
    for (std::size_t r = 0; r < rows; ++r) {
        T* dz_row = dz + r * ws.gradient_stride;
        const T* y_row = y + r * s.padded_output;
        for (std::size_t j = 0; j < s.output_width; ++j) {
            const T g = static_cast<T>(loss_gradient(r, j)) * Act::derivative(y_row[j]);
            dz_row[j] = g;
            db[j] += g;
        }
        for (std::size_t j = s.output_width; j < s.padded_output; ++j) dz_row[j] = T(0);
    }
}

enum class input_gradient : bool { skip = false, compute = true };

// The backward pass after seed_output_gradient: fills every weight and bias gradient (overwriting
// them) and, if asked, ws.input_gradient(). The activation derivative of stage l-1 is applied in
// the epilogue of stage l's input-gradient product, so no pass over memory exists for it.
template <class Net, std::size_t Batch, class T>
void backward(const parameters<Net, T>& params, workspace<Net, Batch, T, true>& ws, const T* x,
              gradients<Net, T>& grads, std::size_t rows = Batch,
              input_gradient want_input_gradient = input_gradient::skip) noexcept {
    for_each_index_reversed<Net::stage_count>([&](auto index) {
        constexpr std::size_t i = decltype(index)::value;
        using S = typename Net::template stage<i>;
        using L = layout<Net, T>;
        constexpr stage_layout s = L::stages[i];
        constexpr std::size_t In = S::input_width;
        constexpr std::size_t Out = S::output_width;
        const T* dz = ws.template pre_activation_gradient<i>();
        const T* w = params.data() + s.weight_offset;

        const T* in = x;
        std::size_t in_stride = Net::input_size;
        if constexpr (i > 0) {
            in = ws.template activation<i - 1>();
            in_stride = L::stages[i - 1].padded_output;
        }
        kernels::dense_weight_gradient<In, Out>(rows, in, in_stride, dz, ws.gradient_stride,
                                                grads.data() + s.weight_offset, ws.packed_inputs());

        if constexpr (i > 0) {
            using PrevAct = typename Net::template stage<i - 1>::activation;
            constexpr stage_layout p = L::stages[i - 1];
            T* db_prev = grads.data() + p.bias_offset;
            for (std::size_t j = 0; j < p.padded_output; ++j) db_prev[j] = T(0);
            kernels::dense_input_gradient<PrevAct, true, In, Out>(
                rows, dz, ws.gradient_stride, w, ws.transposed_weights(), in, in_stride,
                ws.template pre_activation_gradient<i - 1>(), ws.gradient_stride, db_prev);
        } else if (want_input_gradient == input_gradient::compute) {
            kernels::dense_input_gradient<identity, false, In, Out, T>(
                rows, dz, ws.gradient_stride, w, ws.transposed_weights(), nullptr, 0, ws.input_gradient_data(),
                ws.input_gradient_stride, nullptr);
        }
    });
}

}  // namespace hinge
