#!/usr/bin/python3
"""The peer of examples/fashion_mnist.cpp in PyTorch: the same 784 -> 256 -> 128 -> 10 ReLU
network, He-normal weights and zero biases, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) with the
same per-step cosine decay to 0, batch 64, a reshuffle every epoch, pixels scaled to [0, 1],
softmax cross-entropy, trained on the 60,000 Fashion-MNIST training images and tested on the
10,000 test images. One thread (torch.set_num_threads(1)), as the hinge demo uses one core.

Time per epoch counts the training loop only (shuffle, batches, forward, backward, update), as
the hinge demo does; evaluation is timed separately.

    /usr/bin/python3 bench/pytorch_mlp.py [--epochs 15] [--data DIR] [--seed 1]
The last line is machine-readable: "pytorch seconds_per_epoch=... test_accuracy=...".
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before torch loads the BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(directory, stem):
    for suffix in (".gz", ""):
        path = os.path.join(directory, stem + suffix)
        if os.path.exists(path):
            return path
    sys.exit(f"{directory}: {stem}(.gz) not found; apt-get install dataset-fashion-mnist")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    def load(images, labels):
        x = read_idx(find(args.data, images)).reshape(-1, 784).astype(np.float32) / 255.0
        y = read_idx(find(args.data, labels)).astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)

    train_x, train_y = load("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    test_x, test_y = load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    n = train_x.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total = args.epochs * steps_per_epoch
    # hinge's optim::cosine_decay{lr, 0, total}: the factor for update number `step` (from 0).
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
    loss_fn = nn.CrossEntropyLoss()
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread, BLAS {blas}; {n} training images, "
          f"batch {args.batch}, {args.epochs} epochs", flush=True)
    if "openblas" not in blas:
        print("warning: Debian's reference BLAS is in use (apt-get install libopenblas0-pthread); "
              "PyTorch will be far slower than it can be", flush=True)

    def evaluate(x, y):
        model.eval()
        with torch.no_grad():
            logits = model(x)
            loss = loss_fn(logits, y).item()
            accuracy = (logits.argmax(1) == y).float().mean().item()
        model.train()
        return loss, accuracy

    train_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum = 0.0
        for first in range(0, n, args.batch):
            index = order[first:first + args.batch]
            x, y = train_x[index], train_y[index]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item() * len(index)
        seconds = time.perf_counter() - start
        train_seconds += seconds
        test_loss, test_accuracy = evaluate(test_x, test_y)
        print(f"epoch {epoch}/{args.epochs}  loss {loss_sum / n:.4f}  test_loss {test_loss:.4f}  "
              f"test_acc {100 * test_accuracy:.2f}%  {seconds:.2f} s", flush=True)

    _, test_accuracy = evaluate(test_x, test_y)
    print(f"pytorch seconds_per_epoch={train_seconds / args.epochs:.3f} test_accuracy={100 * test_accuracy:.2f}")


if __name__ == "__main__":
    main()
