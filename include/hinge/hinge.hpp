#pragma once
// hinge: a neural network is a type. This header includes the public parts.
#include <hinge/core/fold.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/storage.hpp>

#include <hinge/activations/elu.hpp>
#include <hinge/activations/gelu.hpp>
#include <hinge/activations/hard_swish.hpp>
#include <hinge/activations/identity.hpp>
#include <hinge/activations/leaky_relu.hpp>
#include <hinge/activations/noisy_relu.hpp>
#include <hinge/activations/prelu.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/activations/relu6.hpp>
#include <hinge/activations/selu.hpp>
#include <hinge/activations/sigmoid.hpp>
#include <hinge/activations/silu.hpp>
#include <hinge/activations/softplus.hpp>
#include <hinge/activations/tanh.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/convolution.hpp>
#include <hinge/layers/dense.hpp>
#include <hinge/layers/dropout.hpp>
#include <hinge/layers/flatten.hpp>
#include <hinge/layers/pooling.hpp>
#include <hinge/layers/residual.hpp>

#include <hinge/init/automatic.hpp>
#include <hinge/init/glorot.hpp>
#include <hinge/init/he.hpp>
#include <hinge/init/lecun.hpp>
#include <hinge/init/mean_shift.hpp>
#include <hinge/loss/binary_cross_entropy_with_logits.hpp>
#include <hinge/loss/l2.hpp>
#include <hinge/loss/logits.hpp>
#include <hinge/loss/mean_squared_error.hpp>
#include <hinge/loss/softmax_cross_entropy.hpp>
#include <hinge/optim/adam.hpp>
#include <hinge/optim/momentum.hpp>
#include <hinge/optim/schedules.hpp>
#include <hinge/optim/sgd.hpp>

#include <hinge/runtime/fit.hpp>
#include <hinge/runtime/inference.hpp>
#include <hinge/runtime/denormals.hpp>
#include <hinge/runtime/passes.hpp>
#include <hinge/runtime/trainer.hpp>

#include <hinge/analysis/activation_statistics.hpp>
#include <hinge/analysis/gradient_flow.hpp>
#include <hinge/analysis/linear_collapse.hpp>
#include <hinge/analysis/linear_regions.hpp>
#include <hinge/analysis/piecewise_linear.hpp>
