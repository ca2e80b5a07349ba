// Batch-1 inference, 7 -> 13 -> 33 -> 1 ReLU: a tiny network whose widths are multiples of no
// vector width (559 weights, 2.2 KB): the straight-line path with padded vectors and no scalar
// tails. Issue 14 target: any dense ReLU network of <= 16 KB of float weights at <= 0.6x Eigen.
// The harness: batch1_mlp.hpp.
#include "batch1_mlp.hpp"

HINGE_BATCH1_MLP_MAIN(7, 13, 33, 1)
