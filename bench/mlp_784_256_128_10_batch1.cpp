// Batch-1 inference, 784 -> 256 -> 128 -> 10 ReLU (the Fashion-MNIST model): hinge, Eigen
// fixed-size, libtorch addmv. 470,528 FLOPs per call over 0.9 MB of weights, which do not fit in
// L2 (1 MiB, shared with everything else): bandwidth-bound. Issue target: hinge <= 0.9x Eigen.
// The harness: batch1_mlp.hpp.
#include "batch1_mlp.hpp"

HINGE_BATCH1_MLP_MAIN(784, 256, 128, 10)
