#pragma once
// The network the format fuzzers load into: every kind of tensor (dense weight and bias, a learned
// slope, batch_norm scale, shift and running statistics), small enough for fast iterations.
#include <hinge/activations/prelu.hpp>
#include <hinge/activations/relu.hpp>
#include <hinge/core/network.hpp>
#include <hinge/core/storage.hpp>
#include <hinge/layers/batch_norm.hpp>
#include <hinge/layers/dense.hpp>

namespace hinge_fuzz {
using net = hinge::network<hinge::input<3>, hinge::dense<4>, hinge::prelu, hinge::dense<3>, hinge::batch_norm,
                           hinge::relu, hinge::dense<2>>;
}
