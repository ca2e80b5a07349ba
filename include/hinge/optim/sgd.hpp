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
        update_slice(params, grads, std::size_t{0}, parameters<Net, T>::trainable_size);
    }

    // Values [begin, end) only (multiples of the panel width): a thread team updates the block
    // in slices (runtime/trainer.hpp); element-wise, so the slices give the whole update exactly.
    template <class Net, class T>
    void update_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, no_state&, std::size_t begin,
                      std::size_t end) noexcept {
        update_slice(params, grads, begin, end);
    }
    template <class Net, class T>
    void update_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, std::size_t begin,
                      std::size_t end) noexcept {
        if (weight_decay == 0.f)
            kernels::subtract_scaled(params.data() + begin, grads.data() + begin, static_cast<T>(learning_rate),
                                     end - begin);
        else
            kernels::sgd_update(params.data() + begin, grads.data() + begin, static_cast<T>(learning_rate),
                                static_cast<T>(weight_decay), end - begin);
    }
};

}  // namespace hinge::optim
