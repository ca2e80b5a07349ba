#pragma once
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/init/variance.hpp>

namespace hinge::init {

// He (Kaiming) initialisation (He et al. 2015): Var W = 2 / ((1 + a^2) fan_in), b = 0. The
// factor 2 compensates for ReLU zeroing half of its inputs, so the variance of the activations
// is kept from layer to layer; a is the negative slope of the activation after the layer
// (leaky_relu<a>, or prelu's initial 0.25), which passes a^2 of the other half's variance, and 0
// for every other activation. Deterministic: the same seed gives bit-identical parameters.
// Padding stays zero; batch_norm stages start as the identity (scale 1, shift 0).

// W ~ N(0, 2 / ((1 + a^2) fan_in)).
template <class Net, class T>
void he_normal(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::he, distribution::normal);
}

// W ~ U(-r, r), r = sqrt(6 / ((1 + a^2) fan_in)): the same variance.
template <class Net, class T>
void he_uniform(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::he, distribution::uniform);
}

}  // namespace hinge::init
