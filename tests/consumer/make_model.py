#!/usr/bin/python3
"""Writes abs.safetensors, the model tests/consumer compiles in through hinge_add_model().

A PyTorch nn.Sequential(Linear(1, 8), ReLU(), Linear(8, 1)) whose weights compute |x| exactly:
relu(x) + relu(-x), the other six hidden units dead (for |x| < 20). It is written by the exporter
(python/hinge_export), so the file carries hinge's architecture metadata and the consumer's build
needs no PyTorch, only Python 3. Rerun after changing it:
    PYTHONPATH=python /usr/bin/python3 tests/consumer/make_model.py tests/consumer/abs.safetensors
"""
import sys

import torch
from torch import nn

from hinge_export.cli import main

model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[1.0], [-1.0]] + [[0.5]] * 6))
    model[0].bias.copy_(torch.tensor([0.0, 0.0] + [-10.0] * 6))
    model[2].weight.copy_(torch.tensor([[1.0, 1.0] + [0.25] * 6]))
    model[2].bias.zero_()
torch.save(model, "/tmp/hinge_consumer_abs.pt")
sys.exit(main(["/tmp/hinge_consumer_abs.pt", "-o", "/tmp/hinge_consumer_abs.hpp", "--weights", sys.argv[1], "--quiet"]))
