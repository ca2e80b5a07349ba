#pragma once
// The networks of tests/runtime/dispatch.cpp, shared with the entries file that hinge_add_dispatch
// compiles once per instruction set (tests/runtime/dispatch_entries.cpp).
#include <hinge/hinge.hpp>

namespace dispatch_test {

// Widths that are not multiples of any vector width, so tails run on every arch; a convolution
// and batch norm so that every kind of kernel is behind the entry.
namespace hn = hinge;
using mlp = hn::network<hn::input<13>, hn::dense<37>, hn::relu, hn::dense<20>, hn::leaky_relu<>, hn::dense<5>>;
using cnn = hn::network<hn::input<6, 7, 2>, hn::conv2d<5, 3>, hn::relu, hn::max_pool2d<2>, hn::flatten,
                        hn::dense<9>, hn::batch_norm, hn::gelu, hn::dense<4>>;
// More float weights than the batch-1 straight-line limit: the rows path (tests/runtime/batch1.cpp).
using wide_mlp = hn::network<hn::input<50>, hn::dense<70>, hn::relu, hn::dense<45>, hn::relu, hn::dense<3>>;
using mlp_trainer = hn::trainer<mlp, hn::loss::mean_squared_error, hn::optim::adam, hn::batch<8>>;
using cnn_trainer = hn::trainer<cnn, hn::loss::softmax_cross_entropy, hn::optim::sgd, hn::batch<3>>;

}  // namespace dispatch_test
