// One SGD training step, batch 256, 1024 -> 1024 -> 1024 -> 1024 ReLU, mean squared error: hinge,
// Eigen by hand, libtorch autograd. 4,294,967,296 FLOPs per step over 12 MB of weights: large
// square GEMMs, where cache blocking matters. Issue target: >= 85% of the measured peak, faster
// than Eigen and libtorch. The harness: training_step.hpp.
#include "training_step.hpp"

HINGE_TRAINING_STEP_MAIN(256, hinge::loss::mean_squared_error, 1024, 1024, 1024, 1024)
