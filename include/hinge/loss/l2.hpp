#pragma once
#include <cstddef>

#include <hinge/core/storage.hpp>
#include <hinge/loss/logits.hpp>
#include <hinge/kernels/optimizer_updates.hpp>

namespace hinge::loss {

// with_l2<Base>: Base's loss plus an L2 penalty on the weights,
//   L = Base + lambda/2 * sum over every dense layer of |W|^2,   dL/dW += lambda * W.
// Biases, batch-norm scales and learned slopes are not penalised (the classic form: a bias does not grow the function's slope). This
// is a term of the loss, so the trainer reports it in the loss value and every optimizer sees
// its gradient; it is the same thing as PyTorch's weight_decay for SGD, but not for Adam, where
// the penalty's gradient is rescaled per parameter: use optim::adamw's decoupled decay there.
//
//     hinge::trainer<Net, hinge::loss::with_l2<hinge::loss::softmax_cross_entropy>, ...>
//         train(params, optimizer, {/*lambda=*/1e-4f});
template <class Base>
struct with_l2 {
    float lambda = 1e-4f;

    using base_loss = Base;
    template <class T>
    using target_type = typename Base::template target_type<T>;
    template <std::size_t Outputs>
    static constexpr std::size_t targets_per_sample = Base::template targets_per_sample<Outputs>;
    static constexpr bool expects_logits = loss::expects_logits<Base>;

    template <class T, class Target, class Gradient>
    static T evaluate(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride, const Target* targets,
                      Gradient&& gradient) noexcept {
        return Base::evaluate(rows, outputs, y, y_stride, targets, static_cast<Gradient&&>(gradient));
    }

    template <class T, class Target>
    static std::size_t count_correct(std::size_t rows, std::size_t outputs, const T* y, std::size_t y_stride,
                                     const Target* targets) noexcept
        requires requires { Base::count_correct(rows, outputs, y, y_stride, targets); }
    {
        return Base::count_correct(rows, outputs, y, y_stride, targets);
    }
    template <std::size_t Outputs>
    static constexpr std::size_t decisions_per_sample = Base::template decisions_per_sample<Outputs>;

    // Adds lambda * W to every weight gradient and returns lambda/2 * |W|^2. The trainer calls it
    // after backward(), which has just overwritten the gradients. One vectorised pass per layer.
    template <class Net, class T>
    T regularize(const parameters<Net, T>& params, gradients<Net, T>& grads) const noexcept {
        const T l = static_cast<T>(lambda);
        T squares = 0;
        for_each_index<Net::stage_count>([&](auto index) {
            constexpr stage_layout s = layout<Net, T>::stages[decltype(index)::value];
            if constexpr (s.weight_offset != no_offset) {  // dense stages; batch_norm has no weights
                constexpr std::size_t size = s.input_width * s.padded_output;
                squares += kernels::sum_of_squares(params.data() + s.weight_offset, size);
                kernels::add_scaled(grads.data() + s.weight_offset, params.data() + s.weight_offset, l, size);
            }
        });
        return T(0.5) * l * squares;
    }
};

}  // namespace hinge::loss
