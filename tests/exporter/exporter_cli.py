#!/usr/bin/python3
"""The exporter's errors and its describe command (CTest exporter.cli, after exporter.roundtrip).

  exporter_cli.py MODELS_DIR WORK_DIR

1. Every model hinge cannot represent exactly gives the documented error (docs/interop.md, "What
   the exporter refuses"): an ExportError that names the module's path in the model, its PyTorch
   type and why, followed by what the exporter maps. The command line prints it after
   "hinge_export: error:" and exits with status 1, writing nothing.
2. `describe` prints what a safetensors or hinge file holds, and with --against says whether it
   loads into a network (a C++ type, a generated header, a model), naming the first mismatch.
3. A header regenerated from a parameter file describes the same network as the original export.

Each check states what it expects; the script exits 1 if any fails.
"""
import contextlib
import io
import os
import re
import sys

import torch
import torch.nn.functional as F
from torch import nn

import hinge_export
from hinge_export.cli import main

failures = 0


def check(ok, what):
    global failures
    failures += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    return ok


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)) + x)


class AbsFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x):
        return torch.abs(self.a(x))


class AlwaysDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x):
        return F.dropout(self.a(x), 0.5)


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


# (name, model, input shape or None, what the message must contain (regular expressions))
REFUSED = [
    ("lstm", nn.Sequential(nn.Linear(4, 8), nn.LSTM(8, 8)), None,
     [r"module '1' nn\.LSTM\(8, 8\)", "recurrent layers are not mapped", "issue 13"]),
    ("softmax", nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)), None,
     [r"module '1' nn\.Softmax", "softmax belongs to the loss", r"model\[:-1\]"]),
    ("residual", Residual(), (4,), [r"the value 'x' is used by a, add", "the forward branches", "residual"]),
    ("grouped", nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.Linear(16, 2)), (4, 4, 4),
     [r"module '0' nn\.Conv2d", "grouped or depthwise"]),
    ("padding", nn.Sequential(nn.Conv2d(1, 2, 3, padding=2), nn.Flatten(), nn.Linear(72, 2)), (1, 4, 4),
     [r"module '0' nn\.Conv2d", "pads 2", "neither of hinge's paddings"]),
    ("non_square", nn.Sequential(nn.Conv2d(1, 2, (3, 5)), nn.Flatten(), nn.Linear(32, 2)), (1, 6, 8),
     [r"module '0'", r"kernel_size \(3, 5\) is not the same in every direction"]),
    ("leaky_slope", nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(1.5)), None,
     [r"module '1' nn\.LeakyReLU", "0 <= slope < 1", "PReLU"]),
    ("two_activations", nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Tanh()), None,
     [r"'2' nn\.Tanh", "a second activation directly after '1' nn.ReLU"]),
    ("activation_first", nn.Sequential(nn.ReLU(), nn.Linear(4, 3)), (4,),
     [r"'0' nn\.ReLU", "starts with an activation"]),
    ("after_flatten", nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.ReLU(), nn.Linear(8, 2)), (1, 4, 4),
     [r"'2' nn\.ReLU", "directly after Flatten", "put the activation before the Flatten"]),
    ("overlapping_pool", nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(3, stride=2), nn.Flatten(), nn.Linear(8, 2)),
     (1, 7, 7), [r"module '1' nn\.MaxPool2d", "non-overlapping", "stride 2 differs from the window 3"]),
    ("subclass", nn.Sequential(MyLinear(4, 3)), (4,), [r"'0' __main__\.MyLinear|MyLinear", "subclass of nn.Linear"]),
    ("embedding", nn.Sequential(nn.Embedding(10, 4)), (4,), [r"nn\.Embedding", "no embedding layer"]),
    ("unknown_function", AbsFunction(), (4,), [r"torch\.abs\(\.\.\.\) at node 'abs", "hinge has no layer for this function"]),
    ("always_dropout", AlwaysDropout(), (4,), [r"dropout\(\.\.\.\) at node 'dropout'", "training=True drops values in eval mode too"]),
    ("pool_without_flatten", nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Linear(1, 2)),
     (1, 5, 5), [r"module '1' nn\.AdaptiveAvgPool2d", "followed by Flatten"]),
    ("batch_statistics", nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, track_running_stats=False)), None,
     [r"module '1' nn\.BatchNorm1d", "track_running_stats=False"]),
    ("softplus_beta", nn.Sequential(nn.Linear(4, 3), nn.Softplus(beta=2)), None,
     [r"nn\.Softplus", "beta=2"]),
    ("no_input_shape", nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), None,
     ["starts with '0' nn.Conv2d", "--input-shape"]),
    ("dense_on_image", nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(2, 2)), (1, 4, 4),
     [r"'1' nn\.Linear", "needs a flat vector", "Flatten"]),
]


def refused(work):
    print("Unsupported models give the documented error:")
    for name, model, shape, patterns in REFUSED:
        try:
            hinge_export.export(model, input_shape=shape)
            check(False, f"{name}: exported, but hinge cannot represent it")
            continue
        except hinge_export.ExportError as e:
            message = str(e)
        missing = [p for p in patterns if not re.search(p, message)]
        # Every refusal of a model's part ends with what the exporter maps (generated from the tables).
        if "cannot map" in message:
            missing += [] if "The exporter maps the modules" in message else ["the list of supported modules"]
        if not check(not missing, f"{name}: {message[:110]}..."):
            print(f"       missing {missing} in: {message}")
    # The command line: status 1, the message on stderr, no file written.
    torch.save(nn.Sequential(nn.Linear(4, 8), nn.LSTM(8, 8)), f"{work}/lstm.pt")
    torch.save(nn.Sequential(nn.Linear(4, 3)).state_dict(), f"{work}/state.pt")
    for spec, pattern in [(f"{work}/lstm.pt", r"^hinge_export: error: cannot map the module '1' nn\.LSTM"),
                          (f"{work}/state.pt", r"^hinge_export: error: .*holds a state_dict")]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main([spec, "-o", f"{work}/refused.hpp"])
        check(status == 1 and re.search(pattern, err.getvalue()) and not os.path.exists(f"{work}/refused.hpp"),
              f"command line on {os.path.basename(spec)}: status {status}, {err.getvalue().strip()[:70]}...")


def run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    return status, out.getvalue()


def describe(models, work):
    print("describe:")
    relu = f"{models}/relu.safetensors"
    status, text = run(["describe", relu])
    check(status == 0 and "safetensors file, 6 tensors (457 values)" in text
          and "architecture: input 6 | dense 6->20 relu | dense 20->12 relu | dense 12->5 identity" in text
          and re.search(r"0\.weight\s+F32\s+\[20, 6\]", text), "lists the tensors, shapes and architecture")
    matching = "hinge::network<hinge::input<6>, hinge::dense<20>, hinge::relu, hinge::dense<12>, hinge::relu, " \
               "hinge::dense<5>>"
    status, text = run(["describe", relu, "--against", matching])
    check(status == 0 and "matches" in text, "--against the matching C++ type: matches, status 0")
    status, text = run(["describe", relu, "--against", matching.replace("hinge::relu, hinge::dense<5>",
                                                                        "hinge::tanh, hinge::dense<5>")])
    check(status == 1 and "does not match" in text and "stage 1 differs: expected 'dense 20->12 tanh', found "
          "'dense 20->12 relu'" in text, "--against another activation: names stage 1, status 1")
    status, text = run(["describe", relu, "--against", f"{models}/relu.hpp"])
    check(status == 0 and "matches relu" in text, "--against the generated header: matches")
    # A PyTorch state_dict file without hinge's metadata: names and shapes only.
    plain = f"{work}/plain.safetensors"
    model = torch.load(f"{models}/relu.pt")
    from torch_parity import save_safetensors, state_dict_arrays  # tests/parity, on PYTHONPATH

    state = state_dict_arrays(model)
    state["2.weight"] = state["2.weight"].T.copy()
    save_safetensors(plain, state)
    status, text = run(["describe", plain, "--against", f"{models}/relu.pt"])
    check(status == 1 and "architecture: none" in text and "tensor '2.weight' (hinge's stage1.weight): expected "
          "shape [12, 20], found [20, 12] (transposed?)" in text, "a transposed weight in a PyTorch file is named")
    # hinge's own format, written by exporter_check.
    status, text = run(["describe", f"{models}/relu.hinge", "--against", f"{models}/relu.pt"])
    check(status == 0 and "hinge parameter file, format version 2, F32, 6 tensors" in text and "checksum ok" in text
          and "matches" in text, "a hinge file: format, checksum, architecture; matches the .pt model")
    status, text = run(["describe", f"{models}/relu.hinge", "--against", f"{models}/cnn1d.hpp"])
    check(status == 1 and "different architecture: the file has 3 stages, the network has 5; the input differs"
          in text, "a hinge file against another network: the stage counts, then the input")


def regenerate(models, work):
    print("regenerating from parameter files:")
    for name in ("cnn2d_bn", "cnn1d", "constants"):
        status, _ = run([f"{models}/{name}.safetensors", "-o", f"{work}/{name}_again.hpp", "--type", name,
                         "--quiet"])
        original = open(f"{models}/{name}.hpp").read()
        again = open(f"{work}/{name}_again.hpp").read() if status == 0 else ""
        pick = re.compile(r"_architecture =\s*\"([^\"]*)\"")
        same = status == 0 and pick.search(original).group(1) == pick.search(again).group(1)
        check(same, f"{name}.safetensors -> the same architecture as the export from PyTorch")
    status, _ = run([f"{models}/relu.hinge", "-o", f"{work}/relu_from_hinge.hpp", "--quiet"])
    check(status == 0 and open(f"{work}/relu_from_hinge.safetensors", "rb").read() ==
          open(f"{models}/relu.safetensors", "rb").read(),
          "relu.hinge -> relu.safetensors again, byte for byte")


def main_test():
    if len(sys.argv) != 3:
        sys.exit("usage: exporter_cli.py MODELS_DIR WORK_DIR")
    models, work = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    refused(work)
    describe(models, work)
    regenerate(models, work)
    print(f"exporter_cli.py: {'all ok' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main_test())
