#pragma once
#include <cstddef>
#include <span>

#include <hinge/runtime/passes.hpp>

namespace hinge {

template <std::size_t Size>
struct batch {
    static_assert(Size > 0, "batch<N>: N must be at least 1");
    static constexpr std::size_t size = Size;
};

// trainer<Net, Loss, Optimizer, batch<B>, T>: one object that owns the gradients, the workspace
// and the optimizer state, and refers to the caller's parameters. step() is forward, loss,
// backward and update, with no allocation. It is large (it holds a gradient block and B rows of
// every activation): construct it once, on the heap if the model is big.
template <class Net, class Loss, class Optimizer, class Batch = batch<1>, class T = float>
class trainer {
public:
    static constexpr std::size_t batch_size = Batch::size;
    using target_type = typename Loss::template target_type<T>;
    static constexpr std::size_t targets_per_sample = Loss::template targets_per_sample<Net::output_size>;

    explicit trainer(parameters<Net, T>& params, Optimizer optimizer = {}) noexcept
        : params_(params), optimizer_(optimizer) {}

    // One training step on a full batch; returns the mean loss before the update.
    T step(std::span<const T, batch_size * Net::input_size> inputs,
           std::span<const target_type, batch_size * targets_per_sample> targets) noexcept {
        return step(inputs.data(), targets.data(), batch_size);
    }

    // One step on the first `rows` samples (rows <= B), for a last partial batch.
    T step(const T* inputs, const target_type* targets, std::size_t rows) noexcept {
        forward(params_, workspace_, inputs, rows);
        const T loss = evaluate_and_seed(targets, rows);
        backward(params_, workspace_, inputs, gradients_, rows);
        optimizer_.update(params_, gradients_);
        return loss;
    }

    const gradients<Net, T>& last_gradients() const noexcept { return gradients_; }
    const workspace<Net, batch_size, T, true>& last_workspace() const noexcept { return workspace_; }
    Optimizer& optimizer() noexcept { return optimizer_; }

private:
    T evaluate_and_seed(const target_type* targets, std::size_t rows) noexcept {
        constexpr std::size_t last = Net::stage_count - 1;
        // The loss gradient is buffered per element in dz and finished by seed_output_gradient.
        T* dz = workspace_.template pre_activation_gradient<last>();
        const T loss = Loss::evaluate(rows, Net::output_size, workspace_.template activation<last>(),
                                      workspace_.template activation_stride<last>, targets,
                                      [dz](std::size_t r, std::size_t j, T g) {
                                          dz[r * workspace<Net, batch_size, T, true>::gradient_stride + j] = g;
                                      });
        seed_output_gradient(workspace_, gradients_, rows, [dz](std::size_t r, std::size_t j) {
            return dz[r * workspace<Net, batch_size, T, true>::gradient_stride + j];
        });
        return loss;
    }

    parameters<Net, T>& params_;
    Optimizer optimizer_;
    gradients<Net, T> gradients_{};
    workspace<Net, batch_size, T, true> workspace_{};
};

}  // namespace hinge
