// One SGD training step, batch 32, 32 -> 64 (x12, ReLU) -> 4, mean squared error: hinge, Eigen by
// hand, libtorch autograd. 8,962,048 FLOPs per step in 13 small products: a deep, narrow network
// where the micro-kernel's tile shape, not the cache, sets the time. This is the workload of the
// AVX-512 report (issue 17): with -march=native on an AVX-512 host it was 2.8-3.3x slower than
// Eigen before the tile was sized per instruction set. The harness: training_step.hpp.
#include "training_step.hpp"

HINGE_TRAINING_STEP_MAIN(32, hinge::loss::mean_squared_error, 32, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 4)
