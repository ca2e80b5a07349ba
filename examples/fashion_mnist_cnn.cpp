// A convolutional network on Fashion-MNIST, the images as <28, 28, 1> (channels last):
//   conv 3x3x32 relu, max-pool 2, conv 3x3x64 relu, max-pool 2, dense 128 relu, dense 10.
// Every convolution is fused with its ReLU (forward and backward), pooling with nothing, and the
// whole step allocates nothing. Run it with ./quickstart.sh cnn. bench/compare_pytorch.sh times
// the same network in PyTorch.
#include "fashion_mnist.hpp"

namespace hn = hinge;

using model = hn::network<hn::input<28, 28, 1>,
                          hn::conv2d<32, 3>, hn::relu, hn::max_pool2d<2>,
                          hn::conv2d<64, 3>, hn::relu, hn::max_pool2d<2>,
                          hn::flatten,
                          hn::dense<128>, hn::relu,
                          hn::dense<10>>;

int main(int argc, char** argv) {
    fashion_mnist::settings defaults;
    defaults.program = "fashion_mnist_cnn";
    defaults.epochs = 8;
    defaults.csv = "fashion_mnist_cnn_learning_curve.csv";
    defaults.latency_images = 2000;
    return fashion_mnist::train_on_fashion_mnist<model>(
        argc, argv, defaults, "conv 3x3x32 relu, pool 2, conv 3x3x64 relu, pool 2, dense 128 relu, dense 10");
}
