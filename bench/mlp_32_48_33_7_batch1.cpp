// Batch-1 inference, 32 -> 48 -> 33 -> 7 ReLU: 3,351 weights (13.4 KB), near the straight-line
// limit of 16 KB, with odd widths (33, 7). Issue 14 target: <= 0.6x Eigen. The harness:
// batch1_mlp.hpp.
#include "batch1_mlp.hpp"

HINGE_BATCH1_MLP_MAIN(32, 48, 33, 7)
