// Batch-1 inference, 64 -> 128 -> 128 -> 10 ReLU: hinge, Eigen fixed-size, libtorch addmv.
// 51,712 FLOPs per call; 104 KB of padded weights, so every call streams them from L2.
// Issue target: hinge <= 0.7x Eigen. The harness: batch1_mlp.hpp.
#include "batch1_mlp.hpp"

HINGE_BATCH1_MLP_MAIN(64, 128, 128, 10)
