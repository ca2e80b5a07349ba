// Compiled once per instruction set by hinge_add_dispatch (tests/CMakeLists.txt).
#include "dispatch_network.hpp"

#include <hinge/runtime/dispatch_entries.hpp>

HINGE_DISPATCH_INFERENCE(dispatch_test::mlp)
HINGE_DISPATCH_INFERENCE(dispatch_test::cnn)
HINGE_DISPATCH_INFERENCE(dispatch_test::mlp, double)
HINGE_DISPATCH_TRAINER(dispatch_test::mlp_trainer)
HINGE_DISPATCH_TRAINER(dispatch_test::cnn_trainer)
