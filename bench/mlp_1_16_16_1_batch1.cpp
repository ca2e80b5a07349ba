// Batch-1 inference, 1 -> 16 -> 16 -> 1 ReLU (a tiny control or audio-shaping network): hinge,
// Eigen fixed-size, libtorch addmv. 576 FLOPs per call: this measures per-call overhead and
// latency, not throughput. Issue target: hinge <= 0.45x Eigen. The harness: batch1_mlp.hpp.
#include "batch1_mlp.hpp"

HINGE_BATCH1_MLP_MAIN(1, 16, 16, 1)
