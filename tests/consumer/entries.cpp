// Compiled once per instruction set by the installed package's hinge_add_dispatch().
#include "network.hpp"

#include <hinge/runtime/dispatch_entries.hpp>

HINGE_DISPATCH_INFERENCE(net)
