#!/usr/bin/python3
"""The peer of examples/fashion_mnist_cnn.cpp in PyTorch: the same CNN on 28x28x1 images,
    conv 3x3x32 'same' relu, max-pool 2, conv 3x3x64 'same' relu, max-pool 2, flatten,
    dense 128 relu, dense 10,
trained the same way (bench/pytorch_fashion_mnist.py has the data, the hyper-parameters and the
training loop, shared with bench/pytorch_mlp.py). PyTorch's layout is NCHW where hinge's is
channels-last; only the order of the flattened features differs, which the dense layer's random
init does not see.

    /usr/bin/python3 bench/pytorch_cnn.py [--epochs 8] [--data DIR] [--seed 1]
The last line is machine-readable: "pytorch seconds_per_epoch=... test_accuracy=...".
"""
from pytorch_fashion_mnist import nn, train_on_fashion_mnist


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 64, 128), nn.ReLU(),
        nn.Linear(128, 10))


if __name__ == "__main__":
    train_on_fashion_mnist(make_model, (1, 28, 28), 8,
                           "conv 3x3x32 relu, pool 2, conv 3x3x64 relu, pool 2, dense 128 relu, dense 10")
