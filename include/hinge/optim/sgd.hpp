#pragma once
#include <hinge/core/storage.hpp>
#include <hinge/kernels/optimizer_updates.hpp>
#include <hinge/kernels/update.hpp>
#include <hinge/optim/state.hpp>

namespace hinge::optim {

// Plain stochastic gradient descent: p -= learning_rate * (g + weight_decay * p), one vectorised
// loop over the whole parameter block (padding included: its gradient is zero, so it stays
// zero). weight_decay is PyTorch's coupled L2 form and applies to every parameter, biases too.
struct sgd {
    float learning_rate = 0.01f;
    float weight_decay = 0.f;

    template <class Net, class T>
    using state = no_state;

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads, no_state&) noexcept {
        update(params, grads);
    }

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads) noexcept {
        if (weight_decay == 0.f)
            kernels::subtract_scaled(params.data(), grads.data(), static_cast<T>(learning_rate),
                                     parameters<Net, T>::trainable_size);
        else
            kernels::sgd_update(params.data(), grads.data(), static_cast<T>(learning_rate),
                                static_cast<T>(weight_decay), parameters<Net, T>::trainable_size);
    }
};

}  // namespace hinge::optim
