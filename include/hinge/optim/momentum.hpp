#pragma once
#include <hinge/core/storage.hpp>
#include <hinge/kernels/optimizer_updates.hpp>
#include <hinge/optim/state.hpp>

namespace hinge::optim {

// SGD with momentum, PyTorch's form (torch.optim.SGD with dampening 0):
//   d = g + weight_decay * p;  v = momentum * v + d;  p -= learning_rate * v
// and with nesterov = true, p -= learning_rate * (d + momentum * v). The velocity v starts at
// zero and is one block beside the parameters.
struct momentum {
    float learning_rate = 0.01f;
    float momentum = 0.9f;
    bool nesterov = false;
    float weight_decay = 0.f;

    template <class Net, class T>
    struct state {
        moments<Net, T> velocity{};
    };

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s) noexcept {
        const T rate = static_cast<T>(learning_rate), mu = static_cast<T>(momentum);
        const T decay = static_cast<T>(weight_decay);
        constexpr std::size_t size = parameters<Net, T>::trainable_size;
        if (nesterov)
            kernels::momentum_update<true>(params.data(), grads.data(), s.velocity.data(), rate, mu, decay, size);
        else
            kernels::momentum_update<false>(params.data(), grads.data(), s.velocity.data(), rate, mu, decay, size);
    }
};

}  // namespace hinge::optim
