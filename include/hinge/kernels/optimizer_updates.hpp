#pragma once
// Optimizer updates and L2 helpers: each is one vectorised loop over a whole parameter block,
// with every per-element step of the rule fused into it (no temporary block, one pass over
// memory). The formulas are PyTorch's (torch.optim.SGD, Adam, AdamW), so results compare.
//
// @pre every pointer is 64-byte aligned and `size` is a multiple of the panel width (16 floats,
//      8 doubles): true of every parameter block, gradient block and optimizer state block.
// Optimizers update the trainable prefix of the block (parameters<>::trainable_size), not the
// buffers after it (batch-norm running statistics).
// Padding: a padded entry has p = 0 and g = 0, and every rule below maps (0, 0, state 0) to
// (0, state 0), so padding stays zero.
#include <cstddef>

#include <hinge/kernels/simd.hpp>

namespace hinge::kernels::inline HINGE_ISA_NAMESPACE {

// SGD with coupled weight decay: p -= rate * (g + decay * p).
template <class T>
inline void sgd_update(T* p, const T* g, T rate, T decay, std::size_t size) noexcept {
    using V = vector<T>;
    const V r(rate);
    const V keep(T(1) - rate * decay);
    for (std::size_t i = 0; i < size; i += V::size) {
        const V updated = subtract_product(r, V::load_aligned(g + i), keep * V::load_aligned(p + i));
        updated.store_aligned(p + i);
    }
}

// Momentum (PyTorch's form, dampening 0):
//   d = g + decay * p;  v = mu * v + d;  p -= rate * (nesterov ? d + mu * v : v)
template <bool Nesterov, class T>
inline void momentum_update(T* p, const T* g, T* v, T rate, T mu, T decay, std::size_t size) noexcept {
    using V = vector<T>;
    const V r(rate), m(mu), wd(decay);
    for (std::size_t i = 0; i < size; i += V::size) {
        const V param = V::load_aligned(p + i);
        const V d = multiply_add(wd, param, V::load_aligned(g + i));
        const V velocity = multiply_add(m, V::load_aligned(v + i), d);
        velocity.store_aligned(v + i);
        V direction = velocity;
        if constexpr (Nesterov) direction = multiply_add(m, velocity, d);
        subtract_product(r, direction, param).store_aligned(p + i);
    }
}

// Adam and AdamW, with PyTorch's bias correction:
//   p *= 1 - rate * decoupled_decay                 (AdamW; 0 for Adam)
//   d  = g + coupled_decay * p                      (Adam's L2 form; 0 for AdamW)
//   m  = beta1 m + (1 - beta1) d,   v = beta2 v + (1 - beta2) d^2
//   p -= step_size * m / (sqrt(v) * inv_sqrt_c2 + eps)
// with step_size = rate / (1 - beta1^t) and inv_sqrt_c2 = 1 / sqrt(1 - beta2^t), computed by the
// caller once per step. A true square root and division, not the ~12-bit rsqrt estimate.
template <class T>
struct adam_coefficients {
    T beta1, beta2, epsilon;
    T step_size;       // rate / (1 - beta1^t)
    T inv_sqrt_c2;     // 1 / sqrt(1 - beta2^t)
    T keep;            // 1 - rate * decoupled_decay
    T coupled_decay;
};

template <class T>
inline void adam_update(T* p, const T* g, T* m, T* v, const adam_coefficients<T>& c, std::size_t size) noexcept {
    using V = vector<T>;
    const V b1(c.beta1), one_minus_b1(T(1) - c.beta1), b2(c.beta2), one_minus_b2(T(1) - c.beta2);
    const V eps(c.epsilon), step(c.step_size), scale(c.inv_sqrt_c2), keep(c.keep), wd(c.coupled_decay);
    for (std::size_t i = 0; i < size; i += V::size) {
        const V param = keep * V::load_aligned(p + i);
        const V d = multiply_add(wd, param, V::load_aligned(g + i));
        const V first = multiply_add(b1, V::load_aligned(m + i), one_minus_b1 * d);
        const V second = multiply_add(b2, V::load_aligned(v + i), one_minus_b2 * (d * d));
        first.store_aligned(m + i);
        second.store_aligned(v + i);
        const V denominator = multiply_add(xsimd::sqrt(second), scale, eps);
        subtract_product(step, first / denominator, param).store_aligned(p + i);
    }
}

// g += lambda * p (the gradient of lambda/2 * |p|^2), over one weight block.
template <class T>
inline void add_scaled(T* g, const T* p, T lambda, std::size_t size) noexcept {
    using V = vector<T>;
    const V l(lambda);
    for (std::size_t i = 0; i < size; i += V::size)
        multiply_add(l, V::load_aligned(p + i), V::load_aligned(g + i)).store_aligned(g + i);
}

// sum of p^2 over one block, accumulated in four vectors to hide the FMA latency.
template <class T>
inline T sum_of_squares(const T* p, std::size_t size) noexcept {
    using V = vector<T>;
    V acc[4] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
    std::size_t i = 0;
    for (; i + 4 * V::size <= size; i += 4 * V::size)
        for (std::size_t k = 0; k < 4; ++k) {
            const V x = V::load_aligned(p + i + k * V::size);
            acc[k] = multiply_add(x, x, acc[k]);
        }
    for (; i < size; i += V::size) {
        const V x = V::load_aligned(p + i);
        acc[0] = multiply_add(x, x, acc[0]);
    }
    return xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

}  // namespace hinge::kernels::inline HINGE_ISA_NAMESPACE
