#pragma once
#include <cmath>
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/kernels/optimizer_updates.hpp>
#include <hinge/optim/state.hpp>

namespace hinge::optim {

namespace detail {

// Adam's step t (from 1), shared by adam and adamw: the bias corrections are computed here once
// per step in double, the per-element work is one fused loop (kernels::adam_update).
template <class Net, class T>
struct adam_state {
    moments<Net, T> first{};   // m
    moments<Net, T> second{};  // v
    std::uint64_t steps = 0;
};

// The update of values [begin, end) for step s.steps + 1; the caller counts the step
// (adam_step below, or a thread team's finish_step after all slices).
template <class Net, class T>
void adam_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, adam_state<Net, T>& s, double rate,
                double beta1, double beta2, double epsilon, double coupled_decay, double decoupled_decay,
                std::size_t begin, std::size_t end) noexcept {
    const double t = static_cast<double>(s.steps + 1);
    const double correction1 = 1.0 - std::pow(beta1, t);
    const double correction2 = 1.0 - std::pow(beta2, t);
    const kernels::adam_coefficients<T> c{static_cast<T>(beta1),
                                          static_cast<T>(beta2),
                                          static_cast<T>(epsilon),
                                          static_cast<T>(rate / correction1),
                                          static_cast<T>(1.0 / std::sqrt(correction2)),
                                          static_cast<T>(1.0 - rate * decoupled_decay),
                                          static_cast<T>(coupled_decay)};
    kernels::adam_update(params.data() + begin, grads.data() + begin, s.first.data() + begin,
                         s.second.data() + begin, c, end - begin);
}

template <class Net, class T>
void adam_step(parameters<Net, T>& params, const gradients<Net, T>& grads, adam_state<Net, T>& s, double rate,
               double beta1, double beta2, double epsilon, double coupled_decay, double decoupled_decay) noexcept {
    adam_slice(params, grads, s, rate, beta1, beta2, epsilon, coupled_decay, decoupled_decay, 0,
               parameters<Net, T>::trainable_size);
    ++s.steps;
}

}  // namespace detail

// Adam (Kingma and Ba), as torch.optim.Adam: with d = g + weight_decay * p,
//   m = beta1 m + (1 - beta1) d,   v = beta2 v + (1 - beta2) d^2,
//   p -= learning_rate * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon).
// weight_decay here is the coupled L2 form, which Adam's scaling weakens for parameters with
// large gradients; adamw decouples it.
struct adam {
    float learning_rate = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float epsilon = 1e-8f;
    float weight_decay = 0.f;

    template <class Net, class T>
    using state = detail::adam_state<Net, T>;

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s) noexcept {
        detail::adam_step(params, grads, s, learning_rate, beta1, beta2, epsilon, weight_decay, 0.0);
    }
    // A thread team's slices (runtime/trainer.hpp), then finish_step once.
    template <class Net, class T>
    void update_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s,
                      std::size_t begin, std::size_t end) noexcept {
        detail::adam_slice(params, grads, s, learning_rate, beta1, beta2, epsilon, weight_decay, 0.0, begin, end);
    }
    template <class Net, class T>
    void finish_step(state<Net, T>& s) noexcept {
        ++s.steps;
    }
};

// AdamW (Loshchilov and Hutter), as torch.optim.AdamW: the decay shrinks the parameters
// directly, p *= 1 - learning_rate * weight_decay, before the Adam step on the raw gradient.
struct adamw {
    float learning_rate = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float epsilon = 1e-8f;
    float weight_decay = 1e-2f;

    template <class Net, class T>
    using state = detail::adam_state<Net, T>;

    template <class Net, class T>
    void update(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s) noexcept {
        detail::adam_step(params, grads, s, learning_rate, beta1, beta2, epsilon, 0.0, weight_decay);
    }
    template <class Net, class T>
    void update_slice(parameters<Net, T>& params, const gradients<Net, T>& grads, state<Net, T>& s,
                      std::size_t begin, std::size_t end) noexcept {
        detail::adam_slice(params, grads, s, learning_rate, beta1, beta2, epsilon, 0.0, weight_decay, begin, end);
    }
    template <class Net, class T>
    void finish_step(state<Net, T>& s) noexcept {
        ++s.steps;
    }
};

}  // namespace hinge::optim
