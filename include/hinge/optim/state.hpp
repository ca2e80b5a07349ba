#pragma once
// Optimizer state: blocks of the parameters' shape, stored beside them at fixed size. A state
// block is a third role of the parameter layout, so it can be passed neither as parameters nor
// as gradients.
#include <cstdint>

#include <hinge/core/storage.hpp>

namespace hinge::optim {

namespace detail {
struct moment_role {};
}  // namespace detail

// One value per parameter (a velocity, a first or second moment), zero-initialised.
template <class Net, class T>
using moments = parameter_block<Net, T, detail::moment_role>;

// The state of an optimizer that keeps none (plain SGD).
struct no_state {};

}  // namespace hinge::optim
