#!/usr/bin/python3
"""The exporter called from the user's own running script (CTest exporter.roundtrip, built by
tests/exporter/CMakeLists.txt): hinge_export.export(model, "NAME.hpp", input_shape=...).

  export_from_script.py DIR

This file is that script. It defines its models' classes here, in __main__, which
`python3 -m hinge_export model.pt` cannot rebuild (torch.load finds no class named ScriptCnn in the
exporter's __main__), builds them with fixed seeds, and exports each from the live module, as a user
does at the end of a training script: DIR/NAME.hpp, NAME.cpp (the parameters compiled in) and
NAME.safetensors. Then, as exporter_models.py does for the other models, it writes
DIR/NAME.data.safetensors, a batch x in hinge's layout and PyTorch's eval-mode outputs y, for
exporter_check.cpp, which compiles the headers and compares (DIR/script_models.hpp lists them).

hinge's x is made the way the header tells a user to make it: with the permutation its "Input:"
line states (`x.permute(0, 2, 3, 1)` for the image model, `x.permute(0, 2, 1)` for the sequence
model that PyTorch holds as [N, C, L]), so a header that stated the wrong layout fails the
comparison.
"""
import os
import re
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import hinge_export  # noqa: E402
from torch_parity import save_safetensors  # noqa: E402

BATCH = 8


class ScriptCnn(nn.Module):
    """An image classifier written as people write one, in the training script itself."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn = nn.Conv2d(3, 5, 3, padding=1), nn.BatchNorm2d(5)
        self.conv2 = nn.Conv2d(5, 4, 3)
        self.fc = nn.Linear(4 * 3 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
        x = torch.tanh(self.conv2(x))
        return self.fc(x.flatten(1))


class ScriptTcn(nn.Module):
    """A causal convolution on an [N, C, L] input, then a GRU and a per-step head: it streams."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 6, 3, dilation=2)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        x = torch.tanh(self.conv(F.pad(x, (4, 0))))
        out, _ = self.gru(x.transpose(1, 2))
        return self.head(out)


# name -> (class, input shape of one sample in PyTorch's order)
MODELS = {"script_cnn": (ScriptCnn, (3, 10, 12)), "script_tcn": (ScriptTcn, (2, 16))}


def hinge_input(header, x):
    """x in hinge's layout, made as the header's "Input:" line says."""
    text = re.sub(r"\n//\s*", " ", header)
    line = re.search(r"// Input: (.*?)\.(?: |$)", text)
    if not line:
        sys.exit("export_from_script.py: the header states no input layout")
    code = re.search(r"batch x of \[[^\]]*\]: `(x\.[^`]*)`", line.group(1))
    if code is None:
        return x  # "x as it is"
    if not re.fullmatch(r"x\.(permute\(0(, \d)+\)|reshape\(N, -1\))", code.group(1)):
        sys.exit(f"export_from_script.py: unexpected expression {code.group(1)} in the header")
    return eval(code.group(1), {"x": x, "N": x.shape[0]}).contiguous()  # noqa: S307 (checked above)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: export_from_script.py DIR")
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    torch.set_num_threads(1)
    streams = {}
    for index, (name, (cls, input_shape)) in enumerate(MODELS.items()):
        torch.manual_seed(5000 + index)
        generator = torch.Generator().manual_seed(6000 + index)
        model = cls()
        assert type(model).__module__ == "__main__", "the point: a class of the running script"
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):  # non-trivial statistics
                    m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=generator))
                    m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=generator))
                    m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=generator))
                    m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=generator))
        model.eval()
        network, _ = hinge_export.export(model, f"{directory}/{name}.hpp", input_shape=input_shape,
                                         type_name=name, namespace="exported", embed="source")
        x = torch.randn(BATCH, *input_shape, generator=generator)
        with torch.no_grad():
            y = model(x)
        with open(f"{directory}/{name}.hpp") as f:
            x_hinge = hinge_input(f.read(), x)
        save_safetensors(f"{directory}/{name}.data.safetensors",
                         {"x": x_hinge.numpy(), "y": y.contiguous().numpy()})
        streams[name] = int(network.streams())
    lines = ["// Generated by tests/exporter/export_from_script.py: the models it exported from its own classes.",
             "#pragma once"] + [f'#include "{n}.hpp"' for n in MODELS]
    # X(name, value type, streams, first stage and count of a multi-layer RNN's layers (none here))
    lines.append("#define HINGE_SCRIPT_MODELS(X) \\\n" +
                 " \\\n".join(f"    X({n}, float, {streams[n]}, 0, 0)" for n in MODELS))
    with open(f"{directory}/script_models.hpp", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"export_from_script.py: {len(MODELS)} models of __main__ exported to {directory}")


if __name__ == "__main__":
    main()
