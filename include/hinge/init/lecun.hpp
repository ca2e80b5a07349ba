#pragma once
#include <cstdint>

#include <hinge/core/storage.hpp>
#include <hinge/init/variance.hpp>

namespace hinge::init {

// LeCun initialisation (LeCun et al. 1998): Var W = 1 / fan_in, b = 0, which keeps a unit input
// variance at unit pre-activation variance. It is the initialisation selu's self-normalising
// fixed point assumes (Klambauer et al. 2017). Deterministic: the same seed gives bit-identical
// parameters. Padding stays zero; batch_norm stages start as the identity.

// W ~ N(0, 1 / fan_in).
template <class Net, class T>
void lecun_normal(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::lecun, distribution::normal);
}

// W ~ U(-r, r), r = sqrt(3 / fan_in).
template <class Net, class T>
void lecun_uniform(parameters<Net, T>& params, std::uint64_t seed) noexcept {
    detail::fill_with(params, seed, scheme::lecun, distribution::uniform);
}

}  // namespace hinge::init
