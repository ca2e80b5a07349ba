#pragma once
#include <hinge/core/storage.hpp>
#include <hinge/kernels/update.hpp>

namespace hinge::optim {

// Plain stochastic gradient descent: p -= learning_rate * g, one vectorised loop over the whole
// parameter block (padding included: its gradient is zero, so it stays zero).
struct sgd {
    float learning_rate = 0.01f;

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads) noexcept {
        kernels::subtract_scaled(params.data(), grads.data(), static_cast<T>(learning_rate),
                                 parameters<Net, T>::storage_size);
    }
};

}  // namespace hinge::optim
