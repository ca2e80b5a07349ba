// The main demo: a 784 -> 256 -> 128 -> 10 ReLU network learns Fashion-MNIST (Zalando's 28x28
// grey images of clothes, 10 classes) with Adam, from the IDX files of Debian's
// dataset-fashion-mnist package (quickstart.sh demo renders the learning curve as a PNG).
// The training program itself is examples/fashion_mnist.hpp, shared with the CNN demo.
#include "fashion_mnist.hpp"

namespace hn = hinge;

using model = hn::network<hn::input<784>,
                          hn::dense<256>, hn::relu,
                          hn::dense<128>, hn::relu,
                          hn::dense<10>>;

int main(int argc, char** argv) {
    return fashion_mnist::train_on_fashion_mnist<model>(argc, argv, {}, "784 -> 256 relu -> 128 relu -> 10");
}
