// One SGD training step, batch 64, 784 -> 256 -> 128 -> 10 ReLU, softmax cross-entropy: hinge,
// Eigen by hand, libtorch autograd. 64,454,656 FLOPs per step, 80% of them in the first layer.
// Issue target: >= 85% of the measured peak, faster than Eigen and libtorch.
// The harness: training_step.hpp.
#include "training_step.hpp"

HINGE_TRAINING_STEP_MAIN(64, hinge::loss::softmax_cross_entropy, 784, 256, 128, 10)
