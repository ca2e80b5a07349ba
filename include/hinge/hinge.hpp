#pragma once
// hinge: a neural network is a type. This header includes the public parts.
#include <hinge/core/network.hpp>
#include <hinge/core/sequential.hpp>
#include <hinge/core/shape.hpp>
#include <hinge/core/storage.hpp>

#include <hinge/activations/identity.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/layers/dense.hpp>

#include <hinge/init/he.hpp>
#include <hinge/loss/mean_squared_error.hpp>
#include <hinge/loss/softmax_cross_entropy.hpp>
#include <hinge/optim/sgd.hpp>

#include <hinge/runtime/inference.hpp>
#include <hinge/runtime/passes.hpp>
#include <hinge/runtime/trainer.hpp>
