#!/usr/bin/python3
"""PyTorch side of the hinge <-> PyTorch parity test (run by tests/parity/run_parity.sh).

  torch_parity.py export DIR   build every model in MODELS, write DIR/<model>.params.safetensors
                               (the state_dict) and DIR/<model>.data.safetensors (inputs x, the
                               output-gradient seed g, outputs y, input gradient dx, parameter
                               gradients grad.<name>, running statistics after the step after.<name>;
                               each also in float64 as y64, dx64, grad64.<name>, after64.<name>)
  torch_parity.py check DIR    load what hinge wrote (DIR/<model>.hinge.safetensors with
                               DIR/<model>.hinge_out.safetensors, and <model>.roundtrip.safetensors)
                               into the same torch models: outputs must match to 1e-5, the round trip
                               PyTorch -> hinge -> PyTorch must be bit-exact.

The loss is L = sum(y * g) for a fixed random g, so dL/dy = g: hinge seeds its backward pass with
the same g. Images and sequences are channels last in hinge: x and dx are written permuted from
NCHW (NCL) to NHWC (NLC) here, and hinge's x is permuted back before torch runs it (the
sequence models, GRU / LSTM / causal convolutions, take (N, L, C) on both sides); the
parameters are never permuted by hand (that is what the mapping under test does). Needs python3-torch and python3-numpy (Debian), nothing else: safetensors files are
read and written by the dozen lines below (the format is an 8-byte header length, a JSON header
and raw little-endian data), so the `safetensors` package is not required.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

BATCH, INPUT, HIDDEN1, HIDDEN2, OUTPUT = 8, 6, 20, 12, 5
TOLERANCE = 1e-5


def F32(v):
    """v rounded to float32, as a Python float."""
    return float(np.float32(v))


# name -> (activation module factory, batch_norm?, train mode?). Must match tests/parity/parity_check.cpp.
ACTIVATIONS = {
    "relu": lambda w: nn.ReLU(),
    # hinge's constants are float template arguments (0.01f), also in double: give torch the same.
    "leaky_relu": lambda w: nn.LeakyReLU(F32(0.01)),
    "prelu": lambda w: nn.PReLU(w),
    "elu": lambda w: nn.ELU(1.0),
    "selu": lambda w: nn.SELU(),
    "gelu": lambda w: nn.GELU(),
    "gelu_tanh": lambda w: nn.GELU(approximate="tanh"),
    "silu": lambda w: nn.SiLU(),
    "softplus": lambda w: nn.Softplus(),
    "relu6": lambda w: nn.ReLU6(),
    "hardswish": lambda w: nn.Hardswish(),
    "sigmoid": lambda w: nn.Sigmoid(),
    "tanh": lambda w: nn.Tanh(),
}


def build_mlp(name, batch_norm):
    """The nn.Sequential of an MLP: Linear, [BatchNorm1d], activation, Linear, [BatchNorm1d], activation, Linear."""
    if batch_norm:
        return nn.Sequential(nn.Linear(INPUT, HIDDEN1), batch_norm_1d(HIDDEN1), nn.ReLU(),
                             nn.Linear(HIDDEN1, HIDDEN2), batch_norm_1d(HIDDEN2), nn.PReLU(HIDDEN2),
                             nn.Linear(HIDDEN2, OUTPUT))
    act = ACTIVATIONS[name]
    return nn.Sequential(nn.Linear(INPUT, HIDDEN1), act(HIDDEN1), nn.Linear(HIDDEN1, HIDDEN2), act(HIDDEN2),
                         nn.Linear(HIDDEN2, OUTPUT))


# hinge's batch_norm_with<0.1f, 1e-5f>
def batch_norm_1d(w):
    return nn.BatchNorm1d(w, eps=F32(1e-5), momentum=F32(0.1))


def batch_norm_2d(w):
    return nn.BatchNorm2d(w, eps=F32(1e-5), momentum=F32(0.1))


# Convolutional models. Inputs are NCHW (NCL) here and channels-last in hinge: the data files hold
# x and dx for hinge, permuted to NHWC (NLC) by to_hinge(), and the check reads hinge's x back
# with from_hinge(). Odd sizes and C > 1 everywhere, so that a mistake in the order of channels,
# rows or columns changes the numbers.
def build_cnn2d():
    # 2 x 9 x 11 -> conv same 9x11x4 -> pool 4x5x4 -> conv valid 2x3x6 -> flatten 36 -> 10 -> 5
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.LeakyReLU(F32(0.01)), nn.Flatten(),
                         nn.Linear(36, 10), nn.ReLU(), nn.Linear(10, 5))


def build_cnn2d_bn():
    # 3 x 8 x 8 -> conv stride 2 valid 3x3x5 -> BatchNorm2d, PReLU(5) -> 1x1 conv 3x3x6 -> flatten 54
    # -> BatchNorm1d(54) (its tensors permuted like the next weight's columns) -> Dropout(0) -> 7 -> 3.
    # No batch norm after Linear(54, 7): it would make the gradient of BatchNorm1d(54)'s bias exactly 0,
    # so that both sides compare rounding noise.
    return nn.Sequential(nn.Conv2d(3, 5, 3, stride=2), batch_norm_2d(5), nn.PReLU(5),
                         nn.Conv2d(5, 6, 1), nn.Tanh(), nn.Flatten(), batch_norm_1d(54), nn.Dropout(0.0),
                         nn.Linear(54, 7), nn.ReLU(), nn.Linear(7, 3))


def build_cnn2d_global():
    # 2 x 7 x 9 -> conv same 7x9x4 -> avg pool 3x4x4 -> conv same 3x4x6 -> global average 6 -> 3
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(6, 3))


def build_cnn1d():
    # 3 x 13 -> conv same 13x5 -> pool 6x5 -> conv valid dilation 2 2x6 -> flatten 12 -> 4
    return nn.Sequential(nn.Conv1d(3, 5, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                         nn.Conv1d(5, 6, 3, dilation=2), nn.SiLU(), nn.Flatten(), nn.Linear(12, 4))


def build_grouped_cnn2d():
    # 4 x 9 x 11 -> conv same, 2 groups (2 -> 3 channels each) 9x11x6 -> conv stride 2 valid, 3 groups
    # (2 -> 3) 4x5x9 -> 1x1 conv, 3 groups (3 -> 8: a vector of floats per group) 4x5x24 -> flatten 480 -> 3
    return nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.ReLU(), nn.Conv2d(6, 9, 3, stride=2, groups=3),
                         nn.Tanh(), nn.Conv2d(9, 24, 1, groups=3), nn.Flatten(), nn.Linear(480, 3))


def build_depthwise_cnn2d():
    # MobileNet-like. 3 x 8 x 10 -> depthwise x2 (on the input) same 8x10x6 -> depthwise dilated same
    # 8x10x6 -> pointwise 8x10x8 -> global average 8 -> 3
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, groups=3), nn.ReLU6(),
                         nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=6), nn.ReLU(), nn.Conv2d(6, 8, 1), nn.SiLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


# hinge's layer_norm is nn.LayerNorm(C) over the channels of every row, epsilon a float constant.
def layer_norm(w):
    return nn.LayerNorm(w, eps=F32(1e-5))


class ChannelsLastLayerNorm(nn.LayerNorm):
    """nn.LayerNorm(C) per position of an image: the [N, C, H, W] value permuted to channels last for it
    (hinge's layer_norm on <H, W, C>); its state_dict is nn.LayerNorm's."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def build_layer_norm_mlp():
    # The Linear before each LayerNorm has a bias gradient of exactly 0 (the normalisation removes a
    # shift): parity_check measures it against the weight gradient, as for batch norm.
    return nn.Sequential(nn.Linear(INPUT, HIDDEN1), layer_norm(HIDDEN1), nn.ReLU(), nn.Linear(HIDDEN1, HIDDEN2),
                         layer_norm(HIDDEN2), nn.PReLU(HIDDEN2), nn.Linear(HIDDEN2, OUTPUT))


def build_layer_norm_cnn():
    # 2 x 7 x 9 -> conv same 7x9x6 -> layer norm per position, relu -> pool 3x4x6 -> conv valid 1x2x4 -> 8 -> 3
    return nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), ChannelsLastLayerNorm(6, eps=F32(1e-5)), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(6, 4, 3), nn.Flatten(), nn.Linear(8, 3))


# Sequence models. They take (N, L, C) batches, as hinge does (batch_first=True): nn.GRU and
# nn.LSTM return (output, state), so RNN keeps the output (every step, or the last one) and
# subclasses the module so that its state_dict names stay "<k>.weight_ih_l0"; CausalConv1d is
# a Conv1d on (N, L, C) with (K - 1) * dilation zeros before the sequence (hinge's
# padding::causal); nn.Linear acts on the last dimension, as hinge's dense does on a sequence.
def RNN(kind, *args, last=False, **kwargs):
    class Output(kind):
        def forward(self, x):
            y, _ = super().forward(x)
            return y[:, -1] if last else y
    return Output(*args, batch_first=True, **kwargs)


class CausalConv1d(nn.Conv1d):
    def forward(self, x):
        left = (self.kernel_size[0] - 1) * self.dilation[0]
        return super().forward(nn.functional.pad(x.transpose(1, 2), (left, 0))).transpose(1, 2)


def build_gru_steps():  # odd H, C > 1
    return nn.Sequential(RNN(nn.GRU, 3, 5), nn.Linear(5, 2))


def build_gru_last():  # H = 1, the last step only
    return nn.Sequential(RNN(nn.GRU, 2, 1, last=True), nn.Linear(1, 3))


def build_lstm_stacked():  # two nn.LSTM modules, H past one panel of floats
    return nn.Sequential(RNN(nn.LSTM, 1, 17), RNN(nn.LSTM, 17, 4), nn.Linear(4, 1))


def build_lstm_last():
    return nn.Sequential(RNN(nn.LSTM, 4, 9, last=True), nn.Linear(9, 2))


def build_gru_two_layers():  # one nn.GRU with num_layers = 2 (hinge: two gru stages, renamed)
    return nn.Sequential(RNN(nn.GRU, 2, 6, num_layers=2), nn.Linear(6, 1))


def build_causal_stack():  # dilations 1, 2, 4
    return nn.Sequential(CausalConv1d(1, 4, 2), nn.Tanh(), CausalConv1d(4, 4, 2, dilation=2), nn.Tanh(),
                         CausalConv1d(4, 3, 3, dilation=4), nn.Linear(3, 1))


def build_causal_gru():
    return nn.Sequential(CausalConv1d(2, 5, 3, dilation=2), nn.ReLU(), RNN(nn.GRU, 5, 7), nn.Linear(7, 2))


def build_causal_grouped():  # depthwise x2, grouped dilation 2, depthwise dilation 4
    return nn.Sequential(CausalConv1d(4, 8, 2, groups=4), nn.Tanh(), CausalConv1d(8, 8, 3, dilation=2, groups=2),
                         nn.Tanh(), CausalConv1d(8, 8, 2, dilation=4, groups=8), nn.ReLU(), nn.Linear(8, 2))


def build_layer_norm_gru():  # per step: Linear, LayerNorm; then a GRU
    return nn.Sequential(nn.Linear(3, 6), layer_norm(6), RNN(nn.GRU, 6, 5), nn.Linear(5, 2))


# Graphs. Their submodules are registered under the numbers hinge gives their stages' tensors
# (torch.nn.Sequential numbering, with merges and gates counted as modules), so that the
# state_dict names are hinge's without renaming.
def gate(z):  # hinge's gated<tanh, sigmoid> over the last dimension
    half = z.shape[-1] // 2
    return torch.tanh(z[..., :half]) * torch.sigmoid(z[..., half:])


class WaveNetBlock(nn.Module):
    """Rechannel, three gated layers (dilations 1, 2, 4; 1x1 residuals but on the last), skip sum, 1x1 head."""

    def __init__(self):
        super().__init__()
        for key, module in (("0", CausalConv1d(1, 4, 1)), ("1", CausalConv1d(4, 8, 3)), ("3", CausalConv1d(4, 4, 1)),
                            ("5", CausalConv1d(4, 8, 3, dilation=2)), ("8", CausalConv1d(4, 4, 1)),
                            ("10", CausalConv1d(4, 8, 3, dilation=4)), ("13", CausalConv1d(4, 1, 1))):
            self.add_module(key, module)

    def forward(self, x):
        m = dict(self.named_children())
        h = m["0"](x)
        z = gate(m["1"](h))
        skip, h = z, m["3"](z) + h
        z = gate(m["5"](h))
        skip, h = skip + z, m["8"](z) + h
        z = gate(m["10"](h))
        return m["13"](skip + z)


class GluMlp(nn.Module):
    def __init__(self):
        super().__init__()
        for key, module in (("0", nn.Linear(5, 8)), ("2", nn.Linear(4, 6)), ("4", nn.Linear(3, 2))):
            self.add_module(key, module)

    def forward(self, x):
        m = dict(self.named_children())
        return m["4"](nn.functional.glu(m["2"](nn.functional.glu(m["0"](x), dim=-1)), dim=-1))


class FilmGru(nn.Module):
    """Frames of [audio, knob]: the knob makes a scale and a shift of the GRU's output at every step."""

    def __init__(self):
        super().__init__()
        for key, module in (("1", nn.Linear(1, 8)), ("4", RNN(nn.GRU, 1, 4)), ("6", nn.Linear(4, 2))):
            self.add_module(key, module)

    def forward(self, x):
        m = dict(self.named_children())
        film = torch.tanh(m["1"](x[..., 1:2]))
        h = m["4"](x[..., 0:1])
        return m["6"](film[..., :4] * h + film[..., 4:])


GRAPH_MODELS = {
    "wavenet_block": (WaveNetBlock, (16, 1), True),
    "glu_mlp": (GluMlp, (5,), True),
    "film_gru": (FilmGru, (9, 2), True),
}

# Sequence models: their x and dx need no permutation (both sides are (N, L, C)).
SEQUENCE_MODELS = {
    "gru_steps": (build_gru_steps, (7, 3), True),
    "gru_last": (build_gru_last, (5, 2), True),
    "lstm_stacked": (build_lstm_stacked, (6, 1), True),
    "lstm_last": (build_lstm_last, (5, 4), True),
    "gru_two_layers": (build_gru_two_layers, (6, 2), True),
    "causal_stack": (build_causal_stack, (16, 1), True),
    "causal_gru": (build_causal_gru, (11, 2), True),
    "causal_grouped": (build_causal_grouped, (16, 4), True),
    "layer_norm_gru": (build_layer_norm_gru, (7, 3), True),
}

# name -> (builder, input shape of one sample in PyTorch's layout, train mode?).
# Must match tests/parity/parity_check.cpp.
MODELS = {name: ((lambda n=name: build_mlp(n, False)), (INPUT,), True) for name in ACTIVATIONS}
MODELS.update({
    "batch_norm_train": (lambda: build_mlp("", True), (INPUT,), True),
    "batch_norm_eval": (lambda: build_mlp("", True), (INPUT,), False),
    "cnn2d": (build_cnn2d, (2, 9, 11), True),
    "cnn2d_bn_train": (build_cnn2d_bn, (3, 8, 8), True),
    "cnn2d_bn_eval": (build_cnn2d_bn, (3, 8, 8), False),
    "cnn2d_global": (build_cnn2d_global, (2, 7, 9), True),
    "cnn1d": (build_cnn1d, (3, 13), True),
})
MODELS.update(SEQUENCE_MODELS)
MODELS.update({  # after the others, so that their seeds (by position) stay what they were
    "grouped_cnn2d": (build_grouped_cnn2d, (4, 9, 11), True),
    "depthwise_cnn2d": (build_depthwise_cnn2d, (3, 8, 10), True),
    "layer_norm_mlp": (build_layer_norm_mlp, (INPUT,), True),
    "layer_norm_cnn": (build_layer_norm_cnn, (2, 7, 9), True),
})
MODELS.update(GRAPH_MODELS)


def to_hinge(a, name=""):
    """A batch in PyTorch's channels-first layout (N, C, ...) as hinge's channels-last (N, ..., C)."""
    return np.ascontiguousarray(a if name in SEQUENCE_MODELS or name in GRAPH_MODELS else np.moveaxis(a, 1, -1))


def from_hinge(a, name=""):
    """hinge's channels-last batch (N, ..., C) in PyTorch's layout (N, C, ...)."""
    return np.ascontiguousarray(a if name in SEQUENCE_MODELS or name in GRAPH_MODELS else np.moveaxis(a, -1, 1))


def randomize(model, generator):
    """Values a default initialisation would leave trivial: PReLU slopes, batch-norm scale, shift and
    statistics, layer-norm scale and shift."""
    with torch.no_grad():
        for m in model if isinstance(model, nn.Sequential) else model.children():
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


# ---- safetensors, by hand -------------------------------------------------------------------
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
CODES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.array(tensors[name], order="C")  # not ascontiguousarray, which turns a scalar into shape [1]
        blob = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": CODES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(tuple(entry["shape"])).copy()
    return out


def state_dict_arrays(model):
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def run(model, x, g, train, name):
    """Outputs, input gradient, parameter gradients and (train mode) the running statistics afterwards."""
    model.train(train)
    x = x.clone().requires_grad_(True)
    y = model(x)
    result = {"y": y.detach().numpy().copy()}
    if train:
        model.zero_grad()
        (y * g).sum().backward()
        result["dx"] = to_hinge(x.grad.numpy(), name)
        for name, p in model.named_parameters():
            result["grad." + name] = p.grad.numpy().copy()
        for name, b in model.named_buffers():
            if "running" in name:
                result["after." + name] = b.numpy().copy()
    return result


def export(directory):
    for index, (name, (build, input_shape, train)) in enumerate(MODELS.items()):
        generator = torch.Generator().manual_seed(1000 + index)
        torch.manual_seed(2000 + index)
        model = build()
        randomize(model, generator)
        save_safetensors(f"{directory}/{name}.params.safetensors", state_dict_arrays(model), {"format": "pt"})
        x = torch.randn(BATCH, *input_shape, generator=generator)
        with torch.no_grad():
            output_shape = model.eval()(x).shape[1:]
        g = torch.randn(BATCH, *output_shape, generator=generator)
        model64 = build().double()
        model64.load_state_dict(model.state_dict())  # the float32 values, widened exactly
        data = {"x": to_hinge(x.numpy(), name), "g": g.numpy()}
        data.update(run(model, x, g, train, name))
        for key, value in run(model64, x.double(), g.double(), train, name).items():
            head, _, rest = key.partition(".")
            data[head + "64" + ("." + rest if rest else "")] = value
        save_safetensors(f"{directory}/{name}.data.safetensors", data)
    print(f"torch_parity.py: exported {len(MODELS)} models (torch {torch.__version__}) to {directory}")


def relative_error(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b)) / max(float(np.max(np.abs(b))), 1e-30))


def check(directory):
    failures = 0
    for name, (build, _, _) in MODELS.items():
        # hinge -> PyTorch: hinge's parameters, loaded strictly into the same torch model.
        model = build()
        state = {k: torch.from_numpy(v) for k, v in load_safetensors(f"{directory}/{name}.hinge.safetensors").items()}
        model.load_state_dict(state, strict=True)
        model.eval()
        out = load_safetensors(f"{directory}/{name}.hinge_out.safetensors")
        with torch.no_grad():
            y = model(torch.from_numpy(from_hinge(out["x"], name))).numpy()
        error = relative_error(y, out["y"].astype(np.float64))
        # PyTorch -> hinge -> PyTorch: every tensor bit for bit.
        original = load_safetensors(f"{directory}/{name}.params.safetensors")
        back = load_safetensors(f"{directory}/{name}.roundtrip.safetensors")
        exact = original.keys() == back.keys() and all(
            original[k].dtype == back[k].dtype and original[k].shape == back[k].shape
            and original[k].tobytes() == back[k].tobytes() for k in original)
        ok = error <= TOLERANCE and exact
        failures += not ok
        print(f"  {name:18s} hinge params in torch: output rel. error {error:.2e}; "
              f"torch -> hinge -> torch {'bit-exact' if exact else 'DIFFERS'}  {'ok' if ok else 'FAIL'}")
    print(f"torch_parity.py check: {len(MODELS) - failures} of {len(MODELS)} models ok")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "check"):
        sys.exit("usage: torch_parity.py export|check DIR")
    torch.set_num_threads(1)
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
