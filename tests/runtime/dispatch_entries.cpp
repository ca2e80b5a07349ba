// Compiled once per instruction set by hinge_add_dispatch (tests/CMakeLists.txt).
#include "dispatch_network.hpp"

#include <hinge/runtime/batch1_dispatch_entries.hpp>
#include <hinge/runtime/dispatch_entries.hpp>

HINGE_DISPATCH_INFERENCE(dispatch_test::mlp)
HINGE_DISPATCH_INFERENCE(dispatch_test::cnn)
HINGE_DISPATCH_INFERENCE(dispatch_test::mlp, double)
HINGE_DISPATCH_TRAINER(dispatch_test::mlp_trainer)
HINGE_DISPATCH_TRAINER(dispatch_test::cnn_trainer)
HINGE_DISPATCH_BATCH1(dispatch_test::mlp)
HINGE_DISPATCH_BATCH1(dispatch_test::mlp, hinge::weight_format::bf16)
HINGE_DISPATCH_BATCH1(dispatch_test::mlp, hinge::weight_format::int8)
HINGE_DISPATCH_BATCH1(dispatch_test::wide_mlp)
HINGE_DISPATCH_BATCH1(dispatch_test::wide_mlp, hinge::weight_format::bf16)
HINGE_DISPATCH_BATCH1(dispatch_test::wide_mlp, hinge::weight_format::int8)
