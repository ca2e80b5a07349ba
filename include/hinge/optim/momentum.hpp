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
        update_slice(params, grads, s, std::size_t{0}, parameters<Net, T>::trainable_size);
    }

    // Values [begin, end) only (multiples of the panel width), for a thread team's slices.
    template <class Net, class T>
    void update_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s,
                      std::size_t begin, std::size_t end) noexcept {
        const T rate = static_cast<T>(learning_rate), mu = static_cast<T>(momentum);
        const T decay = static_cast<T>(weight_decay);
        T* p = params.data() + begin;
        const T* g = grads.data() + begin;
        T* v = s.velocity.data() + begin;
        if (nesterov)
            kernels::momentum_update<true>(p, g, v, rate, mu, decay, end - begin);
        else
            kernels::momentum_update<false>(p, g, v, rate, mu, decay, end - begin);
    }
};

}  // namespace hinge::optim
