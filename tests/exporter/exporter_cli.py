#!/usr/bin/python3
"""The exporter's errors and its describe command (CTest exporter.cli, after exporter.roundtrip).

  exporter_cli.py MODELS_DIR WORK_DIR

1. Every model hinge cannot represent exactly gives the documented error (graphs too: the node
   that cannot be mapped, its target and why) (docs/interop.md, "What
   the exporter refuses"): an ExportError that names the module's path in the model, its PyTorch
   type and why, followed by what the exporter maps. The command line prints it after
   "hinge_export: error:" and exits with status 1, writing nothing.
2. `describe` prints what a safetensors or hinge file holds, and with --against says whether it
   loads into a network (a C++ type, a generated header, a model), naming the first mismatch.
3. The file exported from an nn.Sequential sequence model is its state_dict (names, shapes, bits),
   and so is the file of each graph of the parity test (whose modules carry hinge's numbers).
4. A header regenerated from a parameter file describes the same network as the original export
   (and writes the same file again where names could be lost: multi-layer RNNs, Flatten of a
   sequence, a graph's merges and gates, which take module numbers).
5. Every generated header states the input layout it expects, with the permutation from PyTorch's:
   an image, a sequence (either PyTorch layout) and a flat model, from PyTorch and from a file.

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


def graph_model(forward, **modules):
    """A module holding `modules` whose forward is forward(self, x): a graph for torch.fx."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            for name, m in modules.items():
                setattr(self, name, m)
    Model.forward = forward
    return Model()


def broadcast_add(self, x):
    return self.c(self.a(x) + self.b(x))  # [N, 3] + [N, 1]: PyTorch broadcasts


def cat_along_length(self, x):
    return self.c(torch.cat([self.a(x), self.b(x)], dim=2))  # [N, C, L]: dim 2 is the length


def read_before_activation(self, x):
    h = self.a(x)
    return self.b(torch.relu(h) + h)  # hinge keeps h with the relu fused in only


def two_inputs(self, x, c):
    return self.a(x) + self.b(c)


def last_step_plus_vector(self, x, c):
    return self.out(self.gru(x)[0][:, -1] + c)  # a sequence [N, L, 2] and a vector [N, 4]


def add_across_layouts(self, x):
    h = self.conv(x)  # [N, C, L]
    return h + self.fc(h.transpose(1, 2))  # [N, C, L] + [N, L, C]: C = L = 4, so PyTorch adds them


def two_lengths(self, x, c):
    return self.a(torch.flatten(self.conv_a(x), 1)) + self.b(torch.flatten(self.conv_b(c), 1))


def times_constant(self, x):
    return self.b(self.a(x) * 2 + x)


def squared(self, x):
    h = self.a(x)
    return self.b(h * h)


def split_along_length(self, x):
    a, b = self.a(x).chunk(2, dim=2)
    return torch.tanh(a) * torch.sigmoid(b)


def glu_along_length(self, x):
    return F.glu(self.a(x), dim=2)


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


class ShiftedConv(nn.Conv1d):
    """Overrides more than forward: the base class's mapping may not be what it computes."""

    def _conv_forward(self, x, weight, bias):
        return super()._conv_forward(x, weight, bias) + 1


def rnn_model(forward, rnn, head=None):
    """A module holding `rnn` (and a Linear head) whose forward is forward(self, x)."""
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = rnn, head or nn.Linear(rnn.hidden_size, 2)
    Model.forward = forward
    return Model()


def keep_output(self, x):
    out, _ = self.rnn(x)
    return self.head(out)


def relu_on_output(self, x):
    out, _ = self.rnn(x)
    return self.head(torch.relu(out))


def cell_state(self, x):
    _, (h, c) = self.rnn(x)
    return self.head(c[-1])


def first_layer_state(self, x):
    _, (h, _) = self.rnn(x)
    return self.head(h[0])


def first_step(self, x):
    out, _ = self.rnn(x)
    return self.head(out[:, 0])


def whole_tuple(self, x):
    return self.rnn(x)


def linear_then_last(self, x):
    out = self.head(self.rnn(x)[0])
    return out[:, -1]


class ConvThenLinear(nn.Module):
    """nn.Linear on the [N, C, L] output of a Conv1d: it acts on L, not on the channels."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv1d(2, 3, 2), nn.Linear(5, 2)  # runs: PyTorch's Linear acts on L = 5

    def forward(self, x):
        return self.fc(self.conv(F.pad(x, (1, 0))))


class PadWrongAmount(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, dilation=2)

    def forward(self, x):
        return self.conv(F.pad(x, (2, 0)))


class PadThenRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 2)

    def forward(self, x):
        return self.conv(torch.relu(F.pad(x, (1, 0))))


class GruThenConv(nn.Module):
    """A Conv1d on the [N, L, H] output of a GRU, without the transpose it needs (PyTorch runs it:
    its 5 in_channels are the 5 steps)."""

    def __init__(self):
        super().__init__()
        self.gru, self.conv = nn.GRU(2, 4, batch_first=True), nn.Conv1d(5, 3, 1)

    def forward(self, x):
        return self.conv(self.gru(x)[0])


class TwoStacks(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.GRU(2, 4, num_layers=2, batch_first=True)
        self.b = nn.GRU(4, 3, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.b(self.a(x)[0])[0]


# (name, model, input shape or None, what the message must contain (regular expressions))
REFUSED = [
    ("lstm", nn.Sequential(nn.Linear(4, 8), nn.LSTM(8, 8)), None,
     [r"module '1' nn\.LSTM\(8, 8\)", r"in an nn\.Sequential it returns \(output, state\)",
      r"self\.rnn\(x\)\[0\]"]),
    ("batch_first", rnn_model(keep_output, nn.GRU(3, 4)), (5, 3),
     [r"module 'rnn' nn\.GRU\(3, 4\)", "batch_first=False", "batch_first=True"]),
    ("bidirectional", rnn_model(keep_output, nn.LSTM(3, 4, batch_first=True, bidirectional=True),
                                nn.Linear(8, 2)), (5, 3),
     [r"module 'rnn' nn\.LSTM", "bidirectional=True", "forward in time only"]),
    ("proj_size", rnn_model(keep_output, nn.LSTM(3, 4, batch_first=True, proj_size=2), nn.Linear(2, 2)), (5, 3),
     [r"module 'rnn' nn\.LSTM", "proj_size=2", "no projection"]),
    ("rnn_dropout", rnn_model(keep_output, nn.GRU(3, 4, num_layers=2, dropout=0.3, batch_first=True)), (5, 3),
     [r"module 'rnn' nn\.GRU", "dropout=0.3 between its 2 layers", "set the module's dropout to 0"]),
    ("elman_rnn", rnn_model(keep_output, nn.RNN(3, 4, batch_first=True)), (5, 3),
     [r"module 'rnn' nn\.RNN", "gru and lstm", "not the Elman RNN"]),
    ("gru_cell", nn.Sequential(nn.Linear(4, 4), nn.GRUCell(4, 4)), None,
     [r"module '1' nn\.GRUCell", "use nn.GRU"]),
    ("activation_after_gru", rnn_model(relu_on_output, nn.GRU(3, 4, batch_first=True)), (5, 3),
     [r"relu\(\.\.\.\) at node 'relu'", "activation directly after 'rnn' nn.GRU", "put a layer between them"]),
    ("cell_state", rnn_model(cell_state, nn.LSTM(3, 4, batch_first=True)), (5, 3),
     [r"indexing \[1\] at node 'getitem", "cell state c_n", "hidden state h"]),
    ("first_layer_state", rnn_model(first_layer_state, nn.LSTM(3, 4, num_layers=2, batch_first=True)), (5, 3),
     [r"indexing \[0\] at node 'getitem", r"h_n \[num_layers, N, H\] with \[0\]", r"h_n\[-1\]"]),
    ("first_step", rnn_model(first_step, nn.GRU(3, 4, batch_first=True)), (5, 3),
     [r"indexing \[:, 0\] at node 'getitem", r"output with \[:, 0\]", r"output\[:, -1\]"]),
    ("whole_tuple", rnn_model(whole_tuple, nn.GRU(3, 4, batch_first=True)), (5, 3),
     [r"module 'rnn' nn\.GRU", r"returns what it returns, \(output, h_n\)", "one tensor"]),
    ("last_step_later", rnn_model(linear_then_last, nn.GRU(3, 4, batch_first=True)), (5, 3),
     [r"indexing \[:, -1\] at node 'getitem", r"indexing with \[:, -1\]", r"output\[:, -1\]"]),
    ("two_stacks", TwoStacks(), (5, 2),
     [r"module 'b' nn\.GRU", "second multi-layer recurrent module", "num_layers=1 modules"]),
    ("linear_on_channels_first", ConvThenLinear(), (2, 5),
     [r"module 'fc' nn\.Linear", r"length L of this \[N, C, L\] sequence", r"x\.transpose\(1, 2\)"]),
    ("conv_on_channels_last", GruThenConv(), (5, 2),
     [r"module 'conv' nn\.Conv1d", r"reads a sequence as \[N, C, L\]", r"transpose it first"]),
    ("causal_pad_amount", PadWrongAmount(), (2, 8),
     [r"module 'conv' nn\.Conv1d", "causal convolution only with", "2 zeros before the sequence where "
      r"\(kernel_size - 1\) \* dilation is 4"]),
    ("pad_then_activation", PadThenRelu(), (2, 8),
     [r"pad\(\.\.\.\) at node 'pad'", "causal padding of the nn.Conv1d directly after it", "relu"]),
    ("pad_both_sides", nn.Sequential(nn.ConstantPad1d((1, 1), 0.0), nn.Conv1d(2, 3, 2)), (2, 8),
     [r"module '0' nn\.ConstantPad1d", r"padding \[1, 1\]", r"\(K - 1\) \* D, 0"]),
    # L = C = 3, so that PyTorch runs it (its PReLU(3) acts on the 3 steps).
    ("prelu_on_steps", rnn_model(keep_output, nn.GRU(3, 4, batch_first=True),
                                 nn.Sequential(nn.Linear(4, 3), nn.PReLU(3))), (3, 3),
     [r"module 'head\.1' nn\.PReLU", r"length L of this \[N, L, C\] sequence", r"nn\.PReLU\(\)"]),
    ("conv_subclass_override", nn.Sequential(ShiftedConv(2, 3, 2), nn.Flatten(), nn.Linear(12, 2)), (2, 5),
     [r"ShiftedConv", "subclass of nn.Conv1d that overrides _conv_forward"]),
    ("no_sequence_shape", rnn_model(keep_output, nn.GRU(3, 4, batch_first=True)), None,
     [r"starts with 'rnn' nn\.GRU", r"--input-shape 256,1", r"\[L, C\] for a batch_first"]),
    ("softmax", nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)), None,
     [r"module '1' nn\.Softmax", "softmax belongs to the loss", r"model\[:-1\]"]),
    # Graphs: what hinge's merges, gates and slices cannot compute, named by the traced node.
    ("broadcast_add", graph_model(broadcast_add, a=nn.Linear(4, 3), b=nn.Linear(4, 1), c=nn.Linear(3, 2)), (4,),
     [r"add\(\.\.\.\) at node 'add'", r"'a' \+ 'b' of the shapes \[3\] and \[1\]", "PyTorch broadcasts",
      "same shape element by element"]),
    ("cat_along_length", graph_model(cat_along_length, a=nn.Conv1d(2, 3, 1), b=nn.Conv1d(2, 3, 1),
                                     c=nn.Conv1d(3, 1, 1)), (2, 5),
     [r"torch\.cat\(\.\.\.\) at node 'cat'", "along dim=2", r"along the channels, dim=1 of these \[N, C, L\]"]),
    ("read_before_activation", graph_model(read_before_activation, a=nn.Linear(4, 4), b=nn.Linear(4, 2)), (4,),
     [r"add\(\.\.\.\) at node 'add'", r"reads the value 'a' as it was before torch\.relu\(\.\.\.\) at node "
      r"'relu' changed it", "value without it is not kept"]),
    ("two_inputs_one_shape", graph_model(two_inputs, a=nn.Linear(4, 3), b=nn.Linear(2, 3)), (4,),
     [r"takes 2 inputs \(x, c\): give the shape of each", r"--input-shape 1,256\+1,256",
      "channels of one input, side by side"]),
    ("inputs_of_different_ranks", graph_model(last_step_plus_vector, gru=nn.GRU(2, 4, batch_first=True),
                                              out=nn.Linear(4, 1)), ((5, 2), (4,)),
     [r"inputs x, c have the shapes \[5, 2\], \[4\], of different ranks", "channels of one input"]),
    ("add_across_layouts", graph_model(add_across_layouts, conv=nn.Conv1d(4, 4, 1), fc=nn.Linear(4, 4)), (4, 4),
     [r"add\(\.\.\.\) at node 'add'", r"combines 'conv', held as \[N, C, L\], with 'fc', held as \[N, L, C\]",
      "transpose one of them"]),
    ("inputs_at_different_positions", graph_model(two_lengths, conv_a=nn.Conv1d(2, 3, 1), conv_b=nn.Conv1d(2, 3, 1),
                                                  a=nn.Linear(18, 2), b=nn.Linear(15, 2)), ((2, 6), (2, 5)),
     [r"inputs x, c have the shapes \[2, 6\], \[2, 5\], which are not at the same positions", r"\[N, C, L\]"]),
    ("times_constant", graph_model(times_constant, a=nn.Linear(4, 4), b=nn.Linear(4, 2)), (4,),
     [r"mul\(\.\.\.\) at node 'mul'", r"'a' \* 2", "hinge has no layer for this function with a constant"]),
    ("squared", graph_model(squared, a=nn.Linear(4, 4), b=nn.Linear(4, 2)), (4,),
     [r"mul\(\.\.\.\) at node 'mul'", r"'a' \* 'a', one value with itself", "two different values"]),
    ("split_along_length", graph_model(split_along_length, a=nn.Conv1d(2, 4, 1)), (2, 6),
     [r"Tensor\.chunk\(\.\.\.\) at node 'chunk'", "splits along dim=2", "along the channels only"]),
    ("glu_along_length", graph_model(glu_along_length, a=nn.Conv1d(2, 4, 1)), (2, 6),
     [r"glu\(\.\.\.\) at node 'glu'", "dim=2", "halves the channels, dim=1"]),
    # nn.LayerNorm maps as hinge's layer_norm only over the C channels of a vector or a [N, L, C] step.
    ("layer_norm_image", nn.Sequential(nn.Conv2d(2, 3, 3), nn.LayerNorm(4), nn.Flatten(), nn.Linear(24, 2)),
     (2, 4, 6), [r"module '1' nn\.LayerNorm", r"trailing dimensions \[4\] of an image", "C channels of each position"]),
    ("layer_norm_channels_first", nn.Sequential(nn.Conv1d(2, 3, 1), nn.LayerNorm(5), nn.Flatten(), nn.Linear(15, 2)),
     (2, 5), [r"module '1' nn\.LayerNorm", r"length L of this \[N, C, L\] sequence", r"x\.transpose\(1, 2\)"]),
    ("layer_norm_two_dimensions", rnn_model(keep_output, nn.GRU(3, 4, batch_first=True),
                                            nn.Sequential(nn.LayerNorm((5, 4)), nn.Linear(4, 2))), (5, 3),
     [r"module 'head\.0' nn\.LayerNorm", r"normalized_shape=\[5, 4\]", r"nn\.LayerNorm\(4\)"]),
    ("layer_norm_without_affine", nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3, elementwise_affine=False)), None,
     [r"module '1' nn\.LayerNorm", "elementwise_affine=False", "learned scale and shift"]),
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
    # A subclass that overrides forward only is traced: here what its forward adds has no hinge layer.
    ("subclass", nn.Sequential(MyLinear(4, 3)), (4,), [r"mul\(\.\.\.\) at node 'mul'",
                                                      "hinge has no layer for this function"]),
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
    # A residual block written in forward is a graph: it maps (the round trip compiles and runs such graphs).
    network, _ = hinge_export.export(Residual(), input_shape=(4,))
    check(network.cpp_type() == "hinge::network<hinge::input<4>, hinge::dense<4>, hinge::relu, hinge::add<\"input\">, "
          "hinge::dense<2>>", f"a residual block in forward maps: {network.cpp_type()}")
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
    two_layers = f"{models}/gru_two_layers.safetensors"
    status, text = run(["describe", two_layers, "--against",
                        "hinge::network<hinge::input<6, 2>, hinge::gru<6>, hinge::gru<6>, hinge::dense<1>>"])
    check(status == 0 and "gru(all steps) <6,2>-><6,6> identity | gru(all steps)" in text
          and re.search(r"0\.weight_ih_l1\s+F32\s+\[18, 6\]", text)
          and "with io::multilayer_recurrent_names<Net, 0, 2>()" in text,
          "a num_layers = 2 GRU's file against the C++ type: matches with the multi-layer names")
    status, text = run(["describe", two_layers, "--against",
                        "hinge::network<hinge::input<6, 2>, hinge::lstm<6>, hinge::gru<6>, hinge::dense<1>>"])
    check(status == 1 and "stage 0 differs: expected 'lstm(all steps) <6,2>-><6,6> identity', found "
          "'gru(all steps) <6,2>-><6,6> identity'" in text, "... and against an LSTM: names stage 0")
    status, text = run(["describe", f"{models}/fx_tcn_gru.safetensors", "--against", f"{models}/fx_tcn_gru.hpp"])
    check(status == 0 and "matches fx_tcn_gru" in text and "pad 0x4) <12,6>-><12,6> relu" in text,
          "a causal convolution + GRU file against its generated header: matches")
    grouped = f"{models}/grouped_cnn2d.safetensors"
    grouped_type = ("hinge::network<hinge::input<9, 11, 4>, hinge::conv2d<6, 3, 1, hinge::padding::same, 1, 2>, "
                    "hinge::relu, hinge::conv2d<9, 3, 2, hinge::padding::valid, 1, 3>, hinge::tanh, "
                    "hinge::conv2d<24, 1, 1, hinge::padding::valid, 1, 3>, hinge::flatten, hinge::dense<3>>")
    status, text = run(["describe", grouped, "--against", grouped_type])
    check(status == 0 and "matches" in text and "pad 1x1 groups 2) <9,11,4>-><9,11,6> relu" in text
          and re.search(r"0\.weight\s+F32\s+\[6, 2, 3, 3\]", text),
          "a grouped convolution's file (weight [F, C / G, K, K]) against its C++ type: matches")
    status, text = run(["describe", grouped, "--against", grouped_type.replace("1, 2>, hinge::relu", "1>, hinge::relu")])
    check(status == 1 and "stage 0 differs: expected 'convolution(kernel 3x3 stride 1x1 dilation 1x1 pad 1x1) "
          "<9,11,4>-><9,11,6> relu', found 'convolution(kernel 3x3 stride 1x1 dilation 1x1 pad 1x1 groups 2)" in text,
          "... and against the ungrouped convolution: names stage 0")
    status, text = run(["describe", f"{models}/layer_norm_gru.safetensors", "--against",
                        "hinge::network<hinge::input<7, 3>, hinge::dense<6>, hinge::layer_norm_with<1e-5f>, "
                        "hinge::gru<5>, hinge::dense<2>>"])
    check(status == 0 and "layer_norm(epsilon 0x3727c5ac) <7,6>-><7,6> identity" in text
          and re.search(r"1\.weight\s+F32\s+\[6\]", text), "a layer_norm file against its C++ type: matches")


def is_state_dict(path, model, what):
    """Checks that the safetensors file at path holds model's state_dict: names, shapes, bits."""
    from hinge_export.files import read_safetensors

    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    exported = read_safetensors(path).tensors
    same = exported.keys() == state.keys() and all(
        tuple(exported[k].shape) == v.shape and exported[k].data == v.astype("<f4").tobytes()
        for k, v in state.items())
    if not check(same, f"{what} == its state_dict ({len(state)} tensors: names, shapes, bits)"):
        print(f"       exported {sorted(exported)}\n       state_dict {sorted(state)}")


def sequence_files(models, work):
    """The exported safetensors of a parity-test sequence model (an nn.Sequential) is that model's
    state_dict: the same names (a num_layers = 2 GRU's "0.weight_ih_l1"), shapes and values, bit for
    bit, so PyTorch loads it strictly; lstm_no_bias's file holds its zero biases besides. So is the
    file of each graph of the parity test, whose modules carry hinge's numbers as their names: the
    merges, gates, slices and FiLM take a number each."""
    print("sequence models' and the parity test's graphs' files are their state_dicts:")
    import torch_parity as tp  # tests/parity, on sys.path
    from hinge_export.files import read_safetensors

    for name, (build, _, _) in tp.SEQUENCE_MODELS.items():
        model = build()
        model.load_state_dict(torch.load(f"{models}/{name}.state.pt"), strict=True)
        is_state_dict(f"{models}/{name}.safetensors", model, f"{name}.safetensors")
    for name, (cls, shape, _) in tp.GRAPH_MODELS.items():
        torch.manual_seed(1)
        model = cls()
        hinge_export.export(model, f"{work}/parity_{name}.hpp", input_shape=shape)
        is_state_dict(f"{work}/parity_{name}.safetensors", model, f"the parity test's {name} graph, its file")
    exported = read_safetensors(f"{models}/lstm_no_bias.safetensors").tensors
    check(sorted(exported) == sorted(["0.weight_ih_l0", "0.weight_hh_l0", "0.bias_ih_l0", "0.bias_hh_l0", "1.weight",
                                      "1.bias"]) and exported["0.bias_ih_l0"].values() == [0.0] * 12,
          "lstm_no_bias.safetensors: bias=False written as zero biases")


def regenerate(models, work):
    print("regenerating from parameter files:")
    for name in ("cnn2d_bn", "cnn1d", "constants", "causal_gru", "fx_lstm_last", "gru_two_layers", "gru_flatten",
                 "grouped_cnn2d", "depthwise_cnn2d", "causal_grouped", "layer_norm_mlp", "layer_norm_gru",
                 "wavenet_block", "glu_mlp", "concat_branches", "sliced_inputs"):
        status, _ = run([f"{models}/{name}.safetensors", "-o", f"{work}/{name}_again.hpp", "--type", name,
                         "--quiet"])
        original = open(f"{models}/{name}.hpp").read()
        again = open(f"{work}/{name}_again.hpp").read() if status == 0 else ""
        pick = re.compile(r"_architecture =\s*\"([^\"]*)\"")
        same = status == 0 and pick.search(original).group(1) == pick.search(again).group(1)
        check(same, f"{name}.safetensors -> the same architecture as the export from PyTorch")
        if name in ("fx_lstm_last", "gru_two_layers", "gru_flatten", "wavenet_block"):
            # The file's names (one multi-layer module's _l1, the permuted columns after Flatten) come
            # back: the file written again is the same file.
            check(status == 0 and open(f"{work}/{name}_again.safetensors", "rb").read() ==
                  open(f"{models}/{name}.safetensors", "rb").read(), f"{name}.safetensors written again, byte for byte")
    status, _ = run([f"{models}/relu.hinge", "-o", f"{work}/relu_from_hinge.hpp", "--quiet"])
    check(status == 0 and open(f"{work}/relu_from_hinge.safetensors", "rb").read() ==
          open(f"{models}/relu.safetensors", "rb").read(),
          "relu.hinge -> relu.safetensors again, byte for byte")


def input_note(path):
    """The "Input:" statement of a generated header, its wrapped comment lines joined, or None."""
    with open(path) as f:
        text = f.read()
    lines, found = [], False
    for line in text.splitlines():
        if line.startswith("// Input:"):
            found = True
        elif found and not line.startswith("//   "):
            break
        if found:
            lines.append(line[2:].strip())
    return " ".join(lines) if found else None


def input_layouts(models, work):
    """Every generated header states the input layout it expects and how a PyTorch batch becomes it:
    images are channels last (the permutation from NCHW), sequences [L, C] (from [N, L, C] as they
    are, from [N, C, L] permuted), flat vectors as they are (or PyTorch's flattening, for a model that
    flattens its input first); a header regenerated from a file says it too."""
    print("every header states its input layout:")
    expected = {
        f"{models}/cnn2d.hpp": ["an image, channels last", "[H, W, C] = [9, 11, 2]", "[N, C, H, W]",
                                "`x.permute(0, 2, 3, 1)`", "(h * 11 + w) * 2 + c", "x[n, c, h, w]"],
        f"{work}/cnn2d_bn_again.hpp": ["an image, channels last", "[H, W, C] = [8, 8, 3]", "`x.permute(0, 2, 3, 1)`"],
        f"{models}/gru_steps.hpp": ["a sequence, channels last", "[L, C] = [7, 3]", "of [N, L, C] (batch_first): x as "
                                    "it is, no permutation"],
        f"{models}/cnn1d.hpp": ["a sequence, channels last", "[L, C] = [13, 3]", "of [N, C, L]: `x.permute(0, 2, 1)`"],
        f"{models}/fx_tcn_gru.hpp": ["[L, C] = [12, 2]", "of [N, C, L]: `x.permute(0, 2, 1)`"],
        f"{work}/causal_gru_again.hpp": ["[L, C] = [11, 2]", "of [N, L, C] (batch_first): x as it is",
                                         "of [N, C, L]: `x.permute(0, 2, 1)`"],
        f"{models}/relu.hpp": ["a flat vector", "`hinge::input<6>` is [6]", "of [N, 6]: x as it is, no permutation"],
        f"{work}/constants_again.hpp": ["a flat vector", "[6]", "no permutation"],
        f"{models}/fx_mlp.hpp": ["a flat vector", "`hinge::input<24>` is [24] in PyTorch's order",
                                 "of [N, 2, 3, 4]: `x.reshape(N, -1)`", "not channels last"],
    }
    for path, phrases in expected.items():
        note = input_note(path)
        missing = [p for p in phrases if note is None or p not in note]
        if not check(not missing, f"{os.path.basename(path)}: {(note or 'no Input: line')[:95]}..."):
            print(f"       missing {missing} in: {note}")
    headers = sorted(f for f in os.listdir(models) if f.endswith(".hpp") and f != "exported_models.hpp"
                     and f != "script_models.hpp")
    without = [h for h in headers if input_note(f"{models}/{h}") is None]
    check(headers and not without, f"all {len(headers)} headers the exporter wrote into {os.path.basename(models)}/ state it"
          + (f"; these do not: {without}" if without else ""))


def main_test():
    if len(sys.argv) != 3:
        sys.exit("usage: exporter_cli.py MODELS_DIR WORK_DIR")
    models, work = sys.argv[1], sys.argv[2]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    refused(work)
    describe(models, work)
    sequence_files(models, work)
    regenerate(models, work)
    input_layouts(models, work)
    print(f"exporter_cli.py: {'all ok' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main_test())
