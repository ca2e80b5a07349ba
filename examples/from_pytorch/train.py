#!/usr/bin/python3
"""Trains the classifier of examples/from_pytorch in PyTorch and saves it: train.py OUT.pt

Two interleaved spirals (1.75 turns each, 600 noisy points), nn.Sequential(Linear(2, 32), ReLU,
Linear(32, 32), ReLU, Linear(32, 2)), cross-entropy, Adam, 400 full-batch steps, fixed seeds: about
2 s on one core. The build runs it, then hinge_add_model() turns OUT.pt into the C++ type
spiral_net and its compiled-in parameters (CMakeLists.txt). It prints PyTorch's accuracy on the
noise-free test points that from_pytorch.cpp classifies, so the two can be compared.
"""
import math
import sys

import torch
from torch import nn

TURNS, OFFSET = 1.75, 0.5


def spiral_points(t, label):
    """The point at parameter t of spiral `label` (0 or 1; spiral 1 is spiral 0 turned by pi)."""
    angle = t + math.pi * label
    r = t / (2 * math.pi)
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1)


def test_set(n=1000):
    """Noise-free points, evenly spaced along both spirals (from_pytorch.cpp computes the same ones)."""
    k = torch.arange(n)
    t = (k // 2).double() / (n // 2) * TURNS * 2 * math.pi + OFFSET
    label = k % 2
    return spiral_points(t, label).float(), label


def main():
    torch.manual_seed(1)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(2)
    t = torch.rand(600, generator=generator) * TURNS * 2 * math.pi + OFFSET
    label = torch.randint(0, 2, (600,), generator=generator)
    x = spiral_points(t, label) + 0.02 * torch.randn(600, 2, generator=generator)

    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), label)
        loss.backward()
        optimizer.step()
    model.eval()
    test_x, test_label = test_set()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_label).float().mean().item()
    torch.save(model, sys.argv[1])
    print(f"train.py: training loss {loss.item():.4f}, PyTorch's test accuracy {100 * accuracy:.1f} %; "
          f"saved {sys.argv[1]}")


if __name__ == "__main__":
    main()
