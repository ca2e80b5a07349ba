// Compiled once per instruction set by hinge_add_dispatch (bench/CMakeLists.txt).
#include "networks.hpp"

#include <hinge/runtime/dispatch_entries.hpp>

HINGE_DISPATCH_INFERENCE(hinge_bench::dispatch::mlp<1, 16, 16, 1>)
HINGE_DISPATCH_INFERENCE(hinge_bench::dispatch::mlp<64, 128, 128, 10>)
HINGE_DISPATCH_INFERENCE(hinge_bench::dispatch::mlp<784, 256, 128, 10>)
