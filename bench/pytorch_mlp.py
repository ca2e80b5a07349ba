#!/usr/bin/python3
"""The peer of examples/fashion_mnist.cpp in PyTorch: the same 784 -> 256 -> 128 -> 10 ReLU
network trained the same way (bench/pytorch_fashion_mnist.py has the data, the hyper-parameters
and the training loop, shared with bench/pytorch_cnn.py).

    /usr/bin/python3 bench/pytorch_mlp.py [--epochs 15] [--data DIR] [--seed 1]
The last line is machine-readable: "pytorch seconds_per_epoch=... test_accuracy=...".
"""
from pytorch_fashion_mnist import nn, train_on_fashion_mnist


def make_model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


if __name__ == "__main__":
    train_on_fashion_mnist(make_model, (784,), 15, "784-256-128-10 relu")
