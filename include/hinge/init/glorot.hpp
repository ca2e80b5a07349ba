#pragma once
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/init/variance.hpp>

namespace hinge::init {

// Glorot (Xavier) initialisation (Glorot and Bengio 2010): Var W = 2 / (fan_in + fan_out), b = 0,
// the compromise between keeping the forward variance (1 / fan_in) and the backward variance
// (1 / fan_out) of a layer whose activation is linear near 0: sigmoid, tanh, identity.
// The activation's slope is not used. Deterministic: the same seed gives bit-identical
// parameters. Padding stays zero; batch_norm stages start as the identity.

// W ~ N(0, 2 / (fan_in + fan_out)).
template <class Net, class T>
void glorot_normal(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::glorot, distribution::normal);
}

// W ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)).
template <class Net, class T>
void glorot_uniform(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::glorot, distribution::uniform);
}

}  // namespace hinge::init
