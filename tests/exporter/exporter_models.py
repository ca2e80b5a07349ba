#!/usr/bin/python3
"""PyTorch side of the exporter round trip (CTest exporter.roundtrip, built by tests/exporter/CMakeLists.txt).

  exporter_models.py DIR NAME...   for every model NAME: build it in PyTorch (fixed seeds), save it
                                   (DIR/NAME.pt with torch.save, or DIR/NAME.state.pt for the models
                                   built by a function of this file), write DIR/NAME.data.safetensors
                                   (a batch x in hinge's channels-last layout and PyTorch's eval-mode
                                   outputs y), and run the exporter's command line on it, which writes
                                   DIR/NAME.hpp, DIR/NAME.cpp (parameters compiled in) and
                                   DIR/NAME.safetensors. Then DIR/exported_models.hpp lists them all for
                                   exporter_check.cpp.

The exporter runs in this process (hinge_export.main), so PyTorch is imported once, not once per
model. The models: the MLPs of tests/parity/torch_parity.py with every activation, batch norm
(kept and folded), non-default constants, a shared PReLU slope, the parity test's CNNs (batch norm
kept and folded, pooling, global average pooling, conv1d), two models that are not an
nn.Sequential (found by torch.fx tracing: functional activations and pooling, view as flatten,
nested Sequentials), and one in float64.
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "parity"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import hinge_export  # noqa: E402
import torch_parity as tp  # noqa: E402

BATCH = 8


class FxCnn(nn.Module):
    """A CNN written as a module with a forward, as people write them: torch.fx finds the chain."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.head = nn.Sequential(nn.Linear(6 * 2 * 2, 10), nn.Identity())
        self.out = nn.Linear(10, 3)

    def forward(self, x):
        x = F.relu(self.features(x))
        x = F.max_pool2d(x, 2)
        x = F.leaky_relu(self.conv2(x), 0.2)
        x = F.avg_pool2d(x, 2)
        x = x.view(x.size(0), -1)
        x = torch.tanh(self.head(x))
        x = F.dropout(x, 0.25, self.training)
        return self.out(x)


class FxMlp(nn.Module):
    """Flatten first, methods and functions for the activations, an ELU with another alpha."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(24, 16), nn.Linear(16, 8), nn.Linear(8, 2)
        self.act = nn.ELU(0.5)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.fc1(x).sigmoid()
        x = self.act(self.fc2(x))
        return F.gelu(self.fc3(x), approximate="tanh")


def fx_cnn():
    return FxCnn()


def fx_mlp():
    return FxMlp()


def constants():
    return nn.Sequential(nn.Linear(6, 20), nn.BatchNorm1d(20, eps=1e-3, momentum=0.05), nn.LeakyReLU(0.2),
                         nn.Identity(), nn.Linear(20, 12), nn.ELU(0.5), nn.Linear(12, 5))


def shared_prelu():
    return nn.Sequential(nn.Linear(6, 20), nn.PReLU(), nn.Linear(20, 12), nn.Softplus(), nn.Linear(12, 5))


# name -> (builder, input shape of one sample in PyTorch's order, exporter options, saved as a factory?)
MODELS = {name: ((lambda n=name: tp.build_mlp(n, False)), (tp.INPUT,), [], False) for name in tp.ACTIVATIONS}
MODELS.update({
    "batch_norm": (lambda: tp.build_mlp("", True), (tp.INPUT,), [], False),
    "batch_norm_folded": (lambda: tp.build_mlp("", True), (tp.INPUT,), ["--fold-batch-norm"], False),
    "constants": (constants, (tp.INPUT,), [], False),
    "shared_prelu": (shared_prelu, (tp.INPUT,), [], False),
    "cnn2d": (tp.build_cnn2d, (2, 9, 11), [], False),
    "cnn2d_bn": (tp.build_cnn2d_bn, (3, 8, 8), [], False),
    "cnn2d_bn_folded": (tp.build_cnn2d_bn, (3, 8, 8), ["--fold-batch-norm"], False),
    "cnn2d_global": (tp.build_cnn2d_global, (2, 7, 9), [], False),
    "cnn1d": (tp.build_cnn1d, (3, 13), [], False),
    "fx_cnn": (fx_cnn, (1, 12, 12), [], True),
    "fx_mlp": (fx_mlp, (2, 3, 4), [], True),
    "relu_double": (lambda: tp.build_mlp("relu", False).double(), (tp.INPUT,), ["--dtype", "float64"], False),
})


def randomize(model, generator):
    """Non-trivial batch-norm statistics and PReLU slopes (tp.randomize walks an nn.Sequential only)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.PReLU):
                m.weight.copy_(0.05 + 0.4 * torch.rand(m.weight.shape, generator=generator))
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=generator))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=generator))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=generator))


def export(directory, name):
    build, input_shape, options, factory = MODELS[name]
    # A folded model is the unfolded one's weights, folded: the same seeds.
    index = list(MODELS).index(name[:-len("_folded")] if name.endswith("_folded") else name)
    torch.manual_seed(3000 + index)
    generator = torch.Generator().manual_seed(4000 + index)
    model = build()
    randomize(model, generator)
    model.eval()
    dtype = next(model.parameters()).dtype
    x = torch.randn(BATCH, *input_shape, generator=generator, dtype=torch.float64).to(dtype)
    with torch.no_grad():
        y = model(x)
    # hinge's input: channels last, or, for a model that flattens its input first, PyTorch's flat order.
    network, _ = hinge_export.export(model, input_shape=input_shape)
    hinge_x = tp.to_hinge(x.numpy()) if len(network.input_shape) > 1 else x.reshape(BATCH, -1).numpy()
    tp.save_safetensors(f"{directory}/{name}.data.safetensors", {"x": hinge_x, "y": y.numpy()})
    if factory:  # a function of this file builds it; the trained weights travel as a state_dict
        torch.save(model.state_dict(), f"{directory}/{name}.state.pt")
        spec = [f"{os.path.abspath(__file__)}:{name}", "--state-dict", f"{directory}/{name}.state.pt"]
    else:
        torch.save(model, f"{directory}/{name}.pt")
        spec = [f"{directory}/{name}.pt"]
    shape = [] if input_shape == (tp.INPUT,) else ["--input-shape", ",".join(str(d) for d in input_shape)]
    status = hinge_export.main(spec + ["-o", f"{directory}/{name}.hpp", "--type", name, "--namespace", "exported",
                                       "--embed", "source", "--quiet"] + shape + options)
    if status != 0:
        sys.exit(f"exporter_models.py: exporting {name} failed")
    return "double" if dtype == torch.float64 else "float"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: exporter_models.py DIR NAME...")
    directory, names = sys.argv[1], sys.argv[2:]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"exporter_models.py: unknown models {unknown} (known: {list(MODELS)})")
    os.makedirs(directory, exist_ok=True)
    torch.set_num_threads(1)
    types = {name: export(directory, name) for name in names}
    lines = ["// Generated by tests/exporter/exporter_models.py: every exported model, for exporter_check.cpp.",
             "#pragma once"] + [f'#include "{n}.hpp"' for n in names]
    lines.append("#define HINGE_EXPORTED_MODELS(X) \\\n" + " \\\n".join(f"    X({n}, {t})" for n, t in types.items()))
    with open(f"{directory}/exported_models.hpp", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"exporter_models.py: {len(names)} models exported to {directory} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
