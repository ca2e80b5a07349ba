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
kept and folded, pooling, global average pooling, conv1d, grouped and depthwise conv2d), an MLP with
nn.LayerNorm, two models that are not an
nn.Sequential (found by torch.fx tracing: functional activations and pooling, view as flatten,
nested Sequentials), and one in float64. Sequence models: the parity test's GRU / LSTM / causal
convolution models (nn.Sequential of subclasses whose forward keeps the RNN's output or pads
before the convolution: all steps, last step, H = 1, odd H, C > 1, stacked modules, one nn.GRU
with num_layers = 2, dilations 1 to 4, a causal convolution before a GRU, grouped and depthwise causal
convolutions, nn.LayerNorm per step before a GRU), and models written as
people write them: `out, _ = self.gru(x)`, `_, (h, _) = self.lstm(x)` with h[-1] of a 2-layer
LSTM, F.pad before nn.Conv1d on a [N, C, L] input with a transpose to the GRU, nn.ConstantPad1d
and wrapper modules in an nn.Sequential, Flatten of a GRU's output, bias=False, and one in float64.
Graphs traced by torch.fx: a gated WaveNet block (F.pad + Conv1d, chunk, tanh * sigmoid, skip sum,
residual adds), a GLU MLP (F.glu, nn.GLU), two branches joined by torch.cat, and inputs taken
apart by slicing, one multiplied into the other, with a skip add; a gate of a GRU's output written
with slices and relu / silu; a forward with two inputs (hinge: slices of one input); the parity
test's FiLM-conditioned GRU (gamma * h + beta of two slices: film).
For each, exported_models.hpp says whether hinge::stream runs it and which stages one multi-layer
PyTorch module became (for io::multilayer_recurrent_names).
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


class FxGruSteps(nn.Module):
    """`out, _ = self.gru(x)`, then a per-step head with an activation and dropout between."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 7, batch_first=True)
        self.fc1, self.fc2 = nn.Linear(7, 6), nn.Linear(6, 2)

    def forward(self, x):
        out, _ = self.gru(x)
        out = F.dropout(torch.relu(self.fc1(out)), 0.1, self.training)
        return self.fc2(out)


class FxLstmLast(nn.Module):
    """A sequence classifier on h_n[-1] of a two-layer LSTM (hinge: two lstm stages, the last one
    returns::last_step)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


class FxTcnGru(nn.Module):
    """Causal convolutions written with F.pad on a [N, C, L] input, then a transpose to a GRU and a
    per-step dense head."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv1d(2, 6, 3), nn.Conv1d(6, 6, 3, dilation=2)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        x = torch.tanh(self.c1(F.pad(x, (2, 0))))
        x = F.relu(self.c2(F.pad(x, (4, 0))))
        out = self.gru(x.transpose(1, 2))[0]
        return self.head(out)


class Transpose(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 1)


class LastStep(nn.Module):
    """A wrapper that keeps the last step of the RNN it holds (not a subclass)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        output, _ = self.rnn(x)
        return output[:, -1, :]


class WaveNet(nn.Module):
    """A gated WaveNet block as people write it (NAM, WaveNet): on [N, C, L], per layer a dilated causal
    convolution (F.pad + nn.Conv1d) to 2C channels, a.chunk(2) halves through tanh and sigmoid,
    multiplied, summed into a skip sum and through a 1x1 convolution added back to the layer's input;
    a 1x1 head on the skip sum. hinge: conv1d, gated<tanh, sigmoid>, add<"...">, taps and froms."""

    def __init__(self, channels=4, dilations=(1, 2, 4)):
        super().__init__()
        self.dilations = dilations
        self.rechannel = nn.Conv1d(1, channels, 1)
        self.dilated = nn.ModuleList(nn.Conv1d(channels, 2 * channels, 3, dilation=d) for d in dilations)
        self.residual = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.head = nn.Conv1d(channels, 1, 1)

    def forward(self, x):
        h = self.rechannel(x)
        skip = None
        for d, dilated, residual in zip(self.dilations, self.dilated, self.residual):
            a, b = dilated(F.pad(h, (2 * d, 0))).chunk(2, dim=1)
            z = torch.tanh(a) * torch.sigmoid(b)
            skip = z if skip is None else skip + z
            h = residual(z) + h
        return self.head(skip)


class GluMlp(nn.Module):
    """Gated linear units: F.glu and nn.GLU(dim=-1) halve the features (hinge's glu)."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(5, 8), nn.Linear(4, 6), nn.Linear(3, 2)
        self.glu = nn.GLU(dim=-1)

    def forward(self, x):
        return self.fc3(self.glu(self.fc2(F.glu(self.fc1(x), dim=-1))))


class ConcatBranches(nn.Module):
    """Two branches of one [N, C, L] input, joined with torch.cat along the channels (hinge's concat),
    then a 1x1 convolution and a classifier."""

    def __init__(self):
        super().__init__()
        self.wide = nn.Conv1d(2, 3, 3, padding=1)
        self.narrow = nn.Conv1d(2, 2, 1)
        self.mix = nn.Conv1d(5, 4, 1)
        self.out = nn.Linear(4 * 6, 3)

    def forward(self, x):
        x = torch.cat([F.relu(self.wide(x)), torch.tanh(self.narrow(x))], dim=1)
        return self.out(torch.flatten(F.elu(self.mix(x)), 1))


class SlicedInputs(nn.Module):
    """Two inputs side by side in one [N, L, C] tensor, taken apart with x[..., a:b] (hinge's slice): the
    second makes a gain for the first's GRU output (x * y: multiply), with a skip connection around
    the head (+: add)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 4, batch_first=True)
        self.gain = nn.Linear(1, 4)
        self.head = nn.Linear(4, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        audio, knob = x[..., 0:2], x[..., 2:3]
        out, _ = self.gru(audio)
        h = out * torch.sigmoid(self.gain(knob))
        return self.out(F.silu(self.head(h)) + h)


class SlicedGate(nn.Module):
    """A gate written with slices of a GRU's [N, L, C] output and other activations: gated<relu, silu>."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 6, batch_first=True)
        self.out = nn.Linear(3, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.out(torch.relu(out[..., :3]) * F.silu(out[..., 3:]))


def sliced_gate():
    return SlicedGate()


class TwoInputs(nn.Module):
    """A forward with two inputs, audio [N, L, 2] and a knob [N, L, 1] (hinge: one input of 3
    channels, each a slice of it): the knob makes a gain for the GRU's output, with a skip add."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 4, batch_first=True)
        self.gain = nn.Linear(1, 4)
        self.out = nn.Linear(4, 1)

    def forward(self, audio, knob):
        out, _ = self.gru(audio)
        return self.out(out * torch.sigmoid(self.gain(knob)) + out)


def two_inputs():
    return TwoInputs()


def film_gru():
    return tp.FilmGru()  # the parity test's: film[..., :4] * h + film[..., 4:] is hinge's film


def wavenet_block():
    return WaveNet()


def glu_mlp():
    return GluMlp()


def concat_branches():
    return ConcatBranches()


def sliced_inputs():
    return SlicedInputs()


def fx_cnn():
    return FxCnn()


def fx_gru_steps():
    return FxGruSteps()


def fx_lstm_last():
    return FxLstmLast()


def fx_tcn_gru():
    return FxTcnGru()


def seq_wrappers():
    # nn.ConstantPad1d + nn.Conv1d on [N, C, L]: causal; a module that transposes; a wrapper that
    # keeps the LSTM's last step: all in an nn.Sequential, found by torch.fx tracing.
    return nn.Sequential(nn.ConstantPad1d((3, 0), 0.0), nn.Conv1d(1, 4, 2, dilation=3), nn.Tanh(), Transpose(),
                         LastStep(nn.LSTM(4, 3, batch_first=True)), nn.Linear(3, 2))


def gru_flatten():
    # Flatten of a [N, L, H] output: the columns of the next Linear (and BatchNorm1d) are permuted.
    return nn.Sequential(tp.RNN(nn.GRU, 2, 3), nn.Flatten(), nn.BatchNorm1d(15), nn.Linear(15, 2))


def lstm_no_bias():
    return nn.Sequential(tp.RNN(nn.LSTM, 2, 3, bias=False), nn.Linear(3, 1))


def gru_steps_double():
    return tp.build_gru_steps().double()


# The parity test's sequence models, as functions of this file: their RNN and CausalConv1d classes
# are local to torch_parity.RNN, which torch.save cannot pickle, so they travel as state_dicts.
for _name, (_build, _, _) in tp.SEQUENCE_MODELS.items():
    globals()[_name] = _build


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
# Added after the others (below), so that the others' seeds, which follow their position, stay.
LATER = ("causal_grouped", "layer_norm_gru")
MODELS.update({name: (build, shape, [], True) for name, (build, shape, _) in tp.SEQUENCE_MODELS.items()
               if name not in LATER})
MODELS.update({
    "fx_gru_steps": (fx_gru_steps, (6, 3), [], True),
    "fx_lstm_last": (fx_lstm_last, (7, 3), [], True),
    "fx_tcn_gru": (fx_tcn_gru, (2, 12), [], True),
    "seq_wrappers": (seq_wrappers, (1, 10), [], True),
    "gru_flatten": (gru_flatten, (5, 2), [], True),
    "lstm_no_bias": (lstm_no_bias, (4, 2), [], True),
    "gru_steps_double": (gru_steps_double, (7, 3), ["--dtype", "float64"], True),
})
# Grouped and depthwise convolutions (conv2d, and a causal dilated conv1d stack that streams) and
# nn.LayerNorm (an MLP, per step before a GRU), as in tests/parity/torch_parity.py.
MODELS.update({
    "grouped_cnn2d": (tp.build_grouped_cnn2d, (4, 9, 11), [], False),
    "depthwise_cnn2d": (tp.build_depthwise_cnn2d, (3, 8, 10), [], False),
    "layer_norm_mlp": (tp.build_layer_norm_mlp, (tp.INPUT,), [], False),
})
MODELS.update({name: (tp.SEQUENCE_MODELS[name][0], tp.SEQUENCE_MODELS[name][1], [], True) for name in LATER})
# Graphs, traced by torch.fx (docs/graphs.md): a gated WaveNet block, a GLU MLP, two branches joined
# by torch.cat, and inputs taken apart by slicing, multiplied and added.
MODELS.update({
    "wavenet_block": (wavenet_block, (1, 16), [], True),
    "glu_mlp": (glu_mlp, (5,), [], True),
    "concat_branches": (concat_branches, (2, 6), [], True),
    "sliced_inputs": (sliced_inputs, (7, 3), [], True),
    "sliced_gate": (sliced_gate, (5, 2), [], True),
    "two_inputs": (two_inputs, ((7, 2), (7, 1)), [], True),
    "film_gru": (film_gru, (9, 2), [], True),
})


def randomize(model, generator):
    """Non-trivial batch-norm statistics, layer-norm scales and shifts and PReLU slopes (tp.randomize
    walks an nn.Sequential only)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.PReLU):
                m.weight.copy_(0.05 + 0.4 * torch.rand(m.weight.shape, generator=generator))
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=generator))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=generator))
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
    # A forward with several inputs (a tuple of shapes): hinge's input is their channels side by side.
    several = isinstance(input_shape[0], tuple)
    xs = [torch.randn(BATCH, *shape, generator=generator, dtype=torch.float64).to(dtype)
          for shape in (input_shape if several else [input_shape])]
    with torch.no_grad():
        y = model(*xs)
    # hinge's input: channels last, or, for a model that flattens its input first, PyTorch's flat
    # order; a sequence that PyTorch holds as [N, L, C] already is. The same for the output.
    network, _ = hinge_export.export(model, input_shape=input_shape)
    x = torch.cat(xs, dim=2 if network.torch_input_order == "channels_last" else 1)
    if len(network.input_shape) == 1:
        hinge_x = x.reshape(BATCH, -1).numpy()
    else:
        hinge_x = x.numpy() if network.torch_input_order == "channels_last" else tp.to_hinge(x.numpy())
    hinge_y = tp.to_hinge(y.numpy()) if network.torch_output_order == "channels_first" else y.numpy()
    tp.save_safetensors(f"{directory}/{name}.data.safetensors", {"x": hinge_x, "y": hinge_y})
    if factory:  # a function of this file builds it; the trained weights travel as a state_dict
        torch.save(model.state_dict(), f"{directory}/{name}.state.pt")
        spec = [f"{os.path.abspath(__file__)}:{name}", "--state-dict", f"{directory}/{name}.state.pt"]
    else:
        torch.save(model, f"{directory}/{name}.pt")
        spec = [f"{directory}/{name}.pt"]
    shape = [] if input_shape == (tp.INPUT,) else [
        "--input-shape", "+".join(",".join(str(d) for d in s) for s in (input_shape if several else [input_shape]))]
    status = hinge_export.main(spec + ["-o", f"{directory}/{name}.hpp", "--type", name, "--namespace", "exported",
                                       "--embed", "source", "--quiet"] + shape + options)
    if status != 0:
        sys.exit(f"exporter_models.py: exporting {name} failed")
    stacks = network.multilayer_stacks() or [(0, 0)]
    # (value type, streams?, the stages of the one multi-layer module: first, count (0: none))
    return ("double" if dtype == torch.float64 else "float", int(network.streams())) + stacks[0]


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
    # X(name, value type, streams (hinge::stream runs it), first stage and count of the layers of a
    #   multi-layer nn.GRU / nn.LSTM (0, 0: none), for io::multilayer_recurrent_names)
    lines.append("#define HINGE_EXPORTED_MODELS(X) \\\n" +
                 " \\\n".join(f"    X({n}, {', '.join(str(v) for v in t)})" for n, t in types.items()))
    with open(f"{directory}/exported_models.hpp", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"exporter_models.py: {len(names)} models exported to {directory} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
