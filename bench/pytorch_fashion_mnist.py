"""The training program shared by the PyTorch peers of hinge's Fashion-MNIST demos
(bench/pytorch_mlp.py, bench/pytorch_cnn.py), as examples/fashion_mnist.hpp is for the demos:
reads Debian's dataset-fashion-mnist IDX files, pixels scaled to [0, 1] (/255, as
hinge::io::read_labelled_images), He-normal weights (fan_in, ReLU gain) and zero biases on every
Linear and Conv2d, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) with hinge's per-step cosine decay
to 0, batch 64 with the last partial batch trained on, a reshuffle every epoch, softmax
cross-entropy, trained on the 60,000 training images and tested on the 10,000 test images. One
thread (torch.set_num_threads(1)), as the hinge demos use one core.

Time per epoch counts the training loop only (shuffle, batches, forward, backward, update), as
the hinge demos do; evaluation is timed separately.

    <program> [--epochs N] [--data DIR] [--seed 1] [--batch 64] [--learning-rate 1e-3]
              [--limit N]
The last line is machine-readable: "pytorch seconds_per_epoch=... test_accuracy=...".
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

# The BLAS and OpenMP thread counts must be set before torch loads them: --threads N (default 1).
_threads = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--threads"), "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads)
os.environ.setdefault("OMP_NUM_THREADS", _threads)

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


def he_normal(model):
    """hinge::init::he_normal: W ~ N(0, 2 / fan_in), b = 0."""
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)


def train_on_fashion_mnist(make_model, image_shape, default_epochs, description):
    """Trains make_model() on Fashion-MNIST and prints the report; image_shape: one image as the
    model takes it, (784,) for an MLP, (1, 28, 28) for a CNN."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def load(images, labels):
        x = read_idx(find(args.data, images)).reshape(-1, *image_shape).astype(np.float32) / 255.0
        y = read_idx(find(args.data, labels)).astype(np.int64)
        return torch.from_numpy(x), torch.from_numpy(y)

    train_x, train_y = load("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    test_x, test_y = load("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

    model = make_model()
    he_normal(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, betas=(0.9, 0.999), eps=1e-8)
    n = train_x.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total = args.epochs * steps_per_epoch
    # hinge's optim::cosine_decay{lr, 0, total}: the factor for update number `step` (from 0).
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
    loss_fn = nn.CrossEntropyLoss()
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {blas}, "
          f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}; model {description}, "
          f"{sum(p.numel() for p in model.parameters())} parameters; {n} training images, "
          f"batch {args.batch}, {args.epochs} epochs", flush=True)
    if "openblas" not in blas:
        print("warning: Debian's reference BLAS is in use (apt-get install libopenblas0-pthread); "
              "PyTorch will be far slower than it can be", flush=True)

    def evaluate(x, y, chunk=1000):
        # In chunks: a CNN's first activations for all 10,000 test images would take 1 GB.
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for first in range(0, len(y), chunk):
                logits, labels = model(x[first:first + chunk]), y[first:first + chunk]
                loss_sum += loss_fn(logits, labels).item() * len(labels)
                correct += (logits.argmax(1) == labels).sum().item()
        model.train()
        return loss_sum / len(y), correct / len(y)

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
