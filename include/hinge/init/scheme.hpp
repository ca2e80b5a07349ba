#pragma once
// The weight-initialisation schemes, as a plain enum with no dependencies, so that an activation
// can state the one it prefers without pulling in the initialisers:
//
//   struct my_activation { ...; static constexpr hinge::init::scheme preferred_initialisation =
//                                   hinge::init::scheme::glorot; };
//
// An activation that states nothing gets he (init/variance.hpp has the rules).

namespace hinge::init {

enum class scheme {
    he,      // Var W = 2 / ((1 + a^2) fan_in): rectifiers (a = the negative slope, 0 for relu)
    glorot,  // Var W = 2 / (fan_in + fan_out): sigmoid, tanh, identity
    lecun,   // Var W = 1 / fan_in: selu (self-normalising networks)
};

}  // namespace hinge::init
