"""hinge's side of the exporter: a network as hinge plans it, with no PyTorch in sight.

A `Network` is what `hinge::network<...>` is in C++: an input shape and a list of stages, each a
stage layer (dense, convolution (grouped too), recurrent, batch_norm, layer_norm, pooling, flatten,
dropout) with the element-wise activation fused into it. From it this module computes, the way include/hinge/ does:

  - the C++ type (`Network.cpp_type`),
  - `io::architecture_description<Net>` (`Network.description`), which the generated header
    checks with a static_assert and hinge's loaders check against a file's metadata,
  - `io::tensor_table<Net, T>()`: names ("0.weight", "stage0.weight"), shapes, and where every
    value lives in the parameter block (`Network.tensor_table`, `Network.storage_bits`), which the
    compiled-in weights need and which the generated header checks against core/layout.hpp.

Shapes are hinge's, channels last: (N,), (L, C) or (H, W, C). Tensors are kept as raw
little-endian bytes in PyTorch's order (`Tensor`), so that this module needs only the standard
library: it also serves the paths that never import torch (regenerating a type from a file).

Three front ends build networks through `Builder`: the PyTorch mapping (torch_mapping.py), the
parser of architecture descriptions and the parser of C++ type spellings (parse.py).
"""

import math
import struct
from dataclasses import dataclass, field

__all__ = ["ExportError", "Network", "Stage", "Tensor", "Builder", "ACTIVATIONS", "fold_batch_norm", "f32"]


class ExportError(Exception):
    """A model, file or type that hinge cannot represent exactly; the message says what, where and what instead."""


# ---- float constants ---------------------------------------------------------------------------

def f32(x):
    """x rounded to float32 (hinge's constants are float template arguments), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bits_f32(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def hex_bits(x):
    """A float constant as hinge's descriptions write it: the hex of its float32 bits."""
    return "0x%08x" % f32_bits(x)


def cpp_float(x):
    """The shortest C++ float literal that denotes exactly the float32 value x (0.01f, 1e-05f)."""
    v = f32(x)
    if not math.isfinite(v):
        raise ExportError(f"the constant {x} is not finite; hinge's layer constants must be")
    for digits in range(1, 10):
        text = f"{v:.{digits}g}"
        if f32(float(text)) == v:
            break
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


# ---- shapes ------------------------------------------------------------------------------------

def size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def channels(shape):
    return shape[-1]


def positions(shape):
    return size(shape) // shape[-1]


def height(shape):
    return shape[0] if len(shape) == 3 else 1


def width(shape):
    return shape[1] if len(shape) == 3 else shape[0] if len(shape) == 2 else 1


def shape_text(shape):
    """As the description writes it: 784 for a flat value, <9,11,2> otherwise."""
    return str(shape[0]) if len(shape) == 1 else "<" + ",".join(str(d) for d in shape) + ">"


def torch_shape_text(shape):
    """A hinge shape in PyTorch's order (channels first, no batch), for messages: [C, H, W]."""
    torch_order = shape if len(shape) == 1 else (shape[-1],) + tuple(shape[:-1])
    return "[" + ", ".join(str(d) for d in torch_order) + "]"


def from_torch_shape(shape):
    """PyTorch's per-sample shape (C,), (C, L) or (C, H, W) as hinge's (C,), (L, C), (H, W, C)."""
    shape = tuple(int(d) for d in shape)
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise ExportError(f"the input shape {list(shape)} is not one hinge has: give [N], [C, L] or [C, H, W] "
                          "(PyTorch's order, without the batch)")
    return shape if len(shape) == 1 else shape[1:] + shape[:1]


# ---- window geometry (core/window.hpp) -------------------------------------------------------

@dataclass(frozen=True)
class Geometry:
    kernel_height: int
    kernel_width: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_top: int
    pad_left: int
    out_height: int
    out_width: int

    def text(self, groups=1):
        # core/description.hpp, put_geometry: " groups G" only for a grouped convolution (G > 1).
        return (f"(kernel {self.kernel_height}x{self.kernel_width} stride {self.stride_height}x{self.stride_width} "
                f"dilation {self.dilation_height}x{self.dilation_width} pad {self.pad_top}x{self.pad_left}"
                + (f" groups {groups}" if groups > 1 else "") + ") ")


def window_span(kernel, dilation):
    return (kernel - 1) * dilation + 1


def window_output(n, kernel, stride, dilation, padding):
    if padding == "same":
        return (n + stride - 1) // stride
    if padding == "causal":
        return n if stride == 1 else 0
    span = window_span(kernel, dilation)
    return 0 if n < span else (n - span) // stride + 1


def window_padding_before(n, kernel, stride, dilation, padding):
    if padding == "valid":
        return 0
    if padding == "causal":
        return window_span(kernel, dilation) - 1
    out = window_output(n, kernel, stride, dilation, padding)
    needed = (out - 1) * stride + window_span(kernel, dilation)
    return (needed - n) // 2 if needed > n else 0


def make_geometry(shape, kh, kw, sh, sw, dh, dw, padding):
    h, w = height(shape), width(shape)
    return Geometry(kh, kw, sh, sw, dh, dw, window_padding_before(h, kh, sh, dh, padding),
                    window_padding_before(w, kw, sw, dw, padding), window_output(h, kh, sh, dh, padding),
                    window_output(w, kw, sw, dw, padding))


# ---- stage layers ------------------------------------------------------------------------------
# Each mirrors one of include/hinge/layers/: output_shape() is its shape rule (raising what the
# C++ rejects at compile time), describe() its part of architecture_description, cpp() its type.

class Layer:
    kind = ""
    affine = False
    normalization = False  # batch_norm: scale, shift and running statistics
    scale_and_shift = False  # a per-channel scale and shift (batch_norm, layer_norm)
    recurrent = False
    accepts_activation = True
    modules = 1  # torch.nn.Sequential numbers it takes (tensor_table's module count)
    named = False  # a merge: reads a named value besides the current one (layers/merge.hpp)
    keeps_order = False  # element-wise on its input (channel_order_rule::keeps)

    @property
    def opens_network(self):
        # core/network.hpp: a stage that reads the network input is dense, a convolution, a
        # recurrent layer, or one of the graph layers (merges, gates, slices: reads_network_input).
        return self.affine or self.recurrent

    def output_shape(self, shape):
        return shape

    def fan_in(self, shape):
        return 0

    def works_per_step(self, shape_in, shape_out):
        # runtime/stream.hpp, detail::works_per_step: the stage runs one step at a time with the
        # result it has over the whole sequence.
        return len(shape_in) == 2 and len(shape_out) == 2 and self.kind in ("dense", "batch_norm", "layer_norm",
                                                                             "dropout")

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__,) + tuple(sorted(vars(self).items())))


class Dense(Layer):
    kind = "dense"
    affine = True

    def __init__(self, width):
        self.width = int(width)

    def output_shape(self, shape):
        if len(shape) == 3:
            raise ExportError(f"hinge's dense needs a flat vector (or a sequence, applied per step), and the value "
                              f"arriving here has the shape {torch_shape_text(shape)}; put a Flatten (or a global "
                              "average pooling) before it")
        # On a sequence <L, C>: the same W and b at every step, as nn.Linear on the last dimension.
        return (shape[0], self.width) if len(shape) == 2 else (self.width,)

    def fan_in(self, shape):
        return channels(shape)

    def describe(self, shape):
        return "dense "

    def cpp(self, ns):
        return f"{ns}dense<{self.width}>"


class Convolution(Layer):
    """conv1d / conv2d<F, K, S, P, D, G> (layers/convolution.hpp); groups G > 1: grouped or depthwise,
    PyTorch's weight [F, C / G, K(, K)]."""
    kind = "convolution"
    affine = True

    def __init__(self, rank, filters, kernel, stride=1, padding="same", dilation=1, groups=1):
        assert rank in (1, 2) and padding in ("same", "valid", "causal")
        self.rank, self.filters, self.kernel, self.stride = rank, int(filters), int(kernel), int(stride)
        self.padding, self.dilation, self.groups = padding, int(dilation), int(groups)

    def geometry(self, shape):
        k, s, d = self.kernel, self.stride, self.dilation
        if self.rank == 2:
            return make_geometry(shape, k, k, s, s, d, d, self.padding)
        return make_geometry(shape, 1, k, 1, s, 1, d, self.padding)

    def output_shape(self, shape):
        name = f"conv{self.rank}d"
        if len(shape) != self.rank + 1:
            wanted = "an image [C, H, W]" if self.rank == 2 else "a sequence [C, L]"
            raise ExportError(f"hinge's {name} needs {wanted}, and the value arriving here has the shape "
                              f"{torch_shape_text(shape)}")
        if self.padding == "causal" and (self.rank != 1 or self.stride != 1):
            raise ExportError(f"hinge's causal padding is for conv1d with stride 1 (one output per input step), and "
                              f"this is {name} with stride {self.stride}")
        if self.groups < 1 or channels(shape) % self.groups or self.filters % self.groups:
            raise ExportError(f"hinge's {name} with groups={self.groups} needs the input channels "
                              f"({channels(shape)}) and the filters ({self.filters}) to be multiples of groups")
        g = self.geometry(shape)
        if g.out_height == 0 or g.out_width == 0:
            raise ExportError(f"the kernel ({window_span(self.kernel, self.dilation)} positions with the dilation) "
                              f"is larger than the arriving value {torch_shape_text(shape)}")
        return (g.out_height, g.out_width, self.filters) if self.rank == 2 else (g.out_width, self.filters)

    def works_per_step(self, shape_in, shape_out):
        # layers/convolution.hpp, streams(): a causal conv1d, or one tap (a 1x1 convolution per step).
        return self.rank == 1 and self.stride == 1 and (self.padding == "causal" or self.kernel == 1)

    def fan_in(self, shape):
        return self.kernel ** self.rank * channels(shape) // self.groups

    def window_size(self):
        return self.kernel ** self.rank

    def describe(self, shape):
        return "convolution" + self.geometry(shape).text(self.groups)

    def cpp(self, ns):
        return (f"{ns}conv{self.rank}d<{self.filters}, {self.kernel}, {self.stride}, {ns}padding::{self.padding}, "
                f"{self.dilation}" + (f", {self.groups}>" if self.groups > 1 else ">"))


class Recurrent(Layer):
    """gru<Hidden, returns> and lstm<Hidden, returns> (layers/gru.hpp, lstm.hpp, recurrent.hpp):
    PyTorch's gate order and both bias vectors; returns "all_steps" (every h_t, nn.GRU's output) or
    "last_step" (h_{L-1} only)."""
    kind = "recurrent"
    recurrent = True
    accepts_activation = False  # its output is the state the next step reads (layers/recurrent.hpp)
    GATES = {"gru": 3, "lstm": 4}

    def __init__(self, cell, hidden, returns="all_steps"):
        assert cell in self.GATES and returns in ("all_steps", "last_step")
        self.cell, self.hidden, self.returns = cell, int(hidden), returns

    @property
    def gates(self):
        return self.GATES[self.cell]

    def output_shape(self, shape):
        if len(shape) != 2:
            raise ExportError(f"hinge's {self.cell} needs a sequence [L, C] (batch_first), and the value arriving "
                              f"here has the shape {torch_shape_text(shape)}")
        return (shape[0], self.hidden) if self.returns == "all_steps" else (self.hidden,)

    def fan_in(self, shape):
        return channels(shape)

    def works_per_step(self, shape_in, shape_out):
        return self.returns == "all_steps"

    def describe(self, shape):
        return f"{self.cell}({'all steps' if self.returns == 'all_steps' else 'last step'}) "

    def cpp(self, ns):
        return f"{ns}{self.cell}<{self.hidden}" + (f", {ns}returns::last_step>" if self.returns == "last_step" else ">")


class BatchNorm(Layer):
    kind = "batch_norm"
    keeps_order = True
    normalization = True
    scale_and_shift = True

    def __init__(self, momentum=0.1, epsilon=1e-5):
        self.momentum, self.epsilon = f32(momentum), f32(epsilon)
        if not 0.0 < self.momentum <= 1.0:
            raise ExportError(f"hinge's batch_norm needs a momentum in (0, 1], this one is {momentum}")
        if not self.epsilon > 0.0:
            raise ExportError(f"hinge's batch_norm needs a positive epsilon, this one is {epsilon}")

    def describe(self, shape):
        return f"batch_norm(momentum {hex_bits(self.momentum)}, epsilon {hex_bits(self.epsilon)}) "

    def cpp(self, ns):
        if self.momentum == f32(0.1) and self.epsilon == f32(1e-5):
            return f"{ns}batch_norm"
        return f"{ns}batch_norm_with<{cpp_float(self.momentum)}, {cpp_float(self.epsilon)}>"


class LayerNorm(Layer):
    """layer_norm_with<Epsilon> (layers/layer_norm.hpp): nn.LayerNorm(C) over the channels of every
    row (a vector, each step of a sequence, each position of an image); scale ("weight") and shift
    ("bias"), no running statistics."""
    kind = "layer_norm"
    keeps_order = True
    scale_and_shift = True

    def __init__(self, epsilon=1e-5):
        self.epsilon = f32(epsilon)
        if not self.epsilon > 0.0:
            raise ExportError(f"hinge's layer_norm needs a positive epsilon, this one is {epsilon}")

    def describe(self, shape):
        return f"layer_norm(epsilon {hex_bits(self.epsilon)}) "

    def cpp(self, ns):
        if self.epsilon == f32(1e-5):
            return f"{ns}layer_norm"
        return f"{ns}layer_norm_with<{cpp_float(self.epsilon)}>"


class Pool(Layer):
    kind = "pooling"

    def __init__(self, reduction, rank, window):
        assert reduction in ("max", "avg") and rank in (1, 2)
        self.reduction, self.rank, self.window = reduction, rank, int(window)

    def geometry(self, shape):
        kh = self.window if self.rank == 2 else 1
        return make_geometry(shape, kh, self.window, kh, self.window, 1, 1, "valid")

    def output_shape(self, shape):
        if len(shape) != self.rank + 1:
            wanted = "an image [C, H, W]" if self.rank == 2 else "a sequence [C, L]"
            raise ExportError(f"hinge's {self.reduction}_pool{self.rank}d needs {wanted}, and the value arriving "
                              f"here has the shape {torch_shape_text(shape)}")
        g = self.geometry(shape)
        if g.out_height == 0 or g.out_width == 0:
            raise ExportError(f"the window ({self.window}) is larger than the arriving value {torch_shape_text(shape)}")
        return (g.out_height, g.out_width, channels(shape)) if self.rank == 2 else (g.out_width, channels(shape))

    def describe(self, shape):
        return f"{self.reduction}_pool" + self.geometry(shape).text()

    def cpp(self, ns):
        return f"{ns}{self.reduction}_pool{self.rank}d<{self.window}>"


class GlobalAvgPool(Layer):
    kind = "pooling"
    modules = 2  # AdaptiveAvgPool2d(1) (or 1d), then Flatten

    def geometry(self, shape):
        return make_geometry(shape, height(shape), width(shape), height(shape), width(shape), 1, 1, "valid")

    def output_shape(self, shape):
        if len(shape) == 1:
            raise ExportError(f"global average pooling needs an image or a sequence, and the value arriving here is "
                              f"already flat {torch_shape_text(shape)}")
        return (channels(shape),)

    def describe(self, shape):
        return "avg_pool" + self.geometry(shape).text()

    def cpp(self, ns):
        return f"{ns}global_avg_pool"


class Flatten(Layer):
    kind = "flatten"

    def output_shape(self, shape):
        return (size(shape),)

    def describe(self, shape):
        return "flatten "

    def cpp(self, ns):
        return f"{ns}flatten"


class Dropout(Layer):
    kind = "dropout"
    keeps_order = True

    def __init__(self, rate):
        self.rate = f32(rate)
        if not 0.0 <= self.rate < 1.0:
            raise ExportError(f"hinge's dropout needs a rate in [0, 1), this one is {rate}")

    def describe(self, shape):
        return f"dropout({hex_bits(self.rate)}) "

    def cpp(self, ns):
        return f"{ns}dropout<{cpp_float(self.rate)}>"


# ---- graph layers (layers/merge.hpp, gated.hpp, slice.hpp) -----------------------------------
# Stages without parameters that read the network input as well as any stored value; each is one
# module in torch.nn.Sequential's numbering (io::tensor_table).

class Merge(Layer):
    """add<"x">, multiply<"x">, concat<"x">, film<"c">: the current value with the named one;
    `reads` of its stage is [current, named] (the sources, index + 1 of the producing stage, 0: the
    input)."""
    named = True

    def __init__(self, kind):
        assert kind in ("add", "multiply", "concat", "film")
        self.kind = kind
        self.keeps_order = kind != "concat"
        self.name = ""  # the named value's, given by place_markers

    @property
    def opens_network(self):
        return True

    def merged_shape(self, current, named):
        if self.kind == "film":
            if channels(named) != 2 * channels(current) or (len(named) > 1 and named[:-1] != current[:-1]):
                raise ExportError(f"hinge's film takes a scale and a shift for each channel, 2 C channels at every "
                                  f"position (or flat), and these have the shapes {torch_shape_text(current)} and "
                                  f"{torch_shape_text(named)}")
            return current
        if self.kind == "concat":
            if len(current) != len(named) or current[:-1] != named[:-1]:
                raise ExportError(f"hinge's concat joins two values along the channels at every position, and these "
                                  f"have the shapes {torch_shape_text(current)} and {torch_shape_text(named)}")
            return current[:-1] + (current[-1] + named[-1],)
        if current != named:
            raise ExportError(f"hinge's {self.kind} combines two values of the same shape element by element, and "
                              f"these have the shapes {torch_shape_text(current)} and {torch_shape_text(named)}")
        return current

    def works_per_step(self, shape_in, shape_out):
        return True

    def describe(self, shape):
        return self.kind + " "

    def cpp(self, ns):
        return f'{ns}{self.kind}<"{self.name}">'


class Gated(Layer):
    """gated<A, B> (glu = gated<identity, sigmoid>): A(first half of the channels) * B(second half)."""
    kind = "gated"

    def __init__(self, first, second):
        self.first, self.second = first, second

    @property
    def opens_network(self):
        return True

    def output_shape(self, shape):
        if channels(shape) % 2:
            raise ExportError(f"hinge's gated<A, B> splits the channels into two halves, and the value arriving here "
                              f"has {channels(shape)} channels ({torch_shape_text(shape)})")
        return shape[:-1] + (channels(shape) // 2,)

    def works_per_step(self, shape_in, shape_out):
        return True

    def describe(self, shape):
        return f"gated({self.first.describe()} {self.second.describe()}) "

    def cpp(self, ns):
        if self.first.name == "identity" and self.second.name == "sigmoid":
            return f"{ns}glu"
        return f"{ns}gated<{self.first.cpp(ns)}, {self.second.cpp(ns)}>"


class Slice(Layer):
    """slice<First, Count>: channels First .. First + Count - 1."""
    kind = "slice"

    def __init__(self, first, count):
        self.first, self.count = int(first), int(count)

    @property
    def opens_network(self):
        return True

    def output_shape(self, shape):
        if self.count < 1 or self.first + self.count > channels(shape):
            raise ExportError(f"hinge's slice<{self.first}, {self.count}> takes channels that the value arriving here "
                              f"({torch_shape_text(shape)}) does not have")
        return shape[:-1] + (self.count,)

    def works_per_step(self, shape_in, shape_out):
        return True

    def describe(self, shape):
        return f"slice({self.first} {self.count}) "

    def cpp(self, ns):
        return f"{ns}slice<{self.first}, {self.count}>"


# ---- activations (io::activation_name, io::activation_parameter) -------------------------------

@dataclass(frozen=True)
class Activation:
    name: str                  # as architecture_description writes it
    cpp_name: str              # hinge's type, without the namespace
    key: str = ""              # the constant's name in the description (slope, alpha, sigma), if any
    value: float = 0.0         # the constant (float32)
    learned_slope: bool = False

    def with_value(self, value):
        return Activation(self.name, self.cpp_name, self.key, f32(value), self.learned_slope)

    def describe(self):
        return self.name + (f"({self.key} {hex_bits(self.value)})" if self.key else "")

    def cpp(self, ns):
        return f"{ns}{self.cpp_name}" + (f"<{cpp_float(self.value)}>" if self.key else "")


# name in descriptions -> the activation (constants at hinge's defaults).
ACTIVATIONS = {a.name: a for a in [
    Activation("identity", "identity"),
    Activation("relu", "relu"),
    Activation("leaky_relu", "leaky_relu", "slope", f32(0.01)),
    Activation("prelu", "prelu", learned_slope=True),
    Activation("elu", "elu", "alpha", 1.0),
    Activation("selu", "selu"),
    Activation("gelu", "gelu"),
    Activation("gelu_tanh", "gelu_tanh"),
    Activation("silu", "silu"),
    Activation("softplus", "softplus"),
    Activation("relu6", "relu6"),
    Activation("hard_swish", "hard_swish"),
    Activation("sigmoid", "sigmoid"),
    Activation("tanh", "tanh"),
    Activation("noisy_relu", "noisy_relu", "sigma", 0.0),
]}
IDENTITY = ACTIVATIONS["identity"]


def leaky_relu(slope):
    slope = f32(slope)
    if not 0.0 <= slope < 1.0:
        raise ExportError(f"hinge's leaky_relu<Slope> needs 0 <= slope < 1 (its backward pass reads the sign of z "
                          f"from the output), this one is {slope}; a learned or larger slope is nn.PReLU (hinge's "
                          "prelu)")
    return ACTIVATIONS["leaky_relu"].with_value(slope)


def elu(alpha):
    alpha = f32(alpha)
    if not alpha >= 0.0:
        raise ExportError(f"hinge's elu<Alpha> needs alpha >= 0 (its backward pass reads the sign of z from the "
                          f"output), this one is {alpha}")
    return ACTIVATIONS["elu"].with_value(alpha)


# ---- tensors and stages ------------------------------------------------------------------------

DTYPE_SIZE = {"F32": 4, "F64": 8}
DTYPE_CODE = {"F32": "<f", "F64": "<d"}
BITS_CODE = {"F32": "<I", "F64": "<Q"}


@dataclass
class Tensor:
    """A tensor as it travels to a file: PyTorch's shape and order, raw little-endian bytes."""
    shape: tuple
    dtype: str  # "F32" or "F64"
    data: bytes

    @property
    def count(self):
        return size(self.shape) if self.shape else 1

    def values(self):
        return list(struct.unpack("<%d%s" % (self.count, DTYPE_CODE[self.dtype][1]), self.data))

    def bits(self):
        return list(struct.unpack("<%d%s" % (self.count, BITS_CODE[self.dtype][1]), self.data))

    @staticmethod
    def from_values(shape, dtype, values):
        shape = tuple(shape)
        return Tensor(shape, dtype, struct.pack("<%d%s" % (len(values), DTYPE_CODE[dtype][1]), *values))

    def astype(self, dtype):
        return self if dtype == self.dtype else Tensor.from_values(self.shape, dtype, self.values())


@dataclass
class Stage:
    layer: Layer
    activation: Activation
    input_shape: tuple
    output_shape: tuple
    origin: str = ""              # where it came from, for comments and messages ("'0' nn.Linear(784, 256)")
    activation_origin: str = ""
    tensors: dict = field(default_factory=dict)  # role -> Tensor: weight, bias, scale, shift, running_mean,
    #                                              running_variance, slope, and weight_ih, weight_hh, bias_ih,
    #                                              bias_hh (recurrent); plus "num_batches_tracked" (int)
    # Recurrent stages: the layer's index inside a multi-layer nn.GRU / nn.LSTM (its tensors are
    # "<k>.weight_ih_l<torch_layer>" of that module, io::multilayer_recurrent_names); 0 otherwise.
    torch_layer: int = 0
    # A graph: the values the stage reads when it is not just the stage before (index + 1 of the
    # producing stage, 0: the network input; a merge's current value, then the named one), as
    # io::architecture_description writes them ("add reads 3 1 ..."); None: the stage before.
    reads: list = None
    # The markers written before the stage's layer in the C++ type (tap<"v2">, from<"v0">).
    markers: list = field(default_factory=list)


@dataclass
class Slot:
    """One entry of io::tensor_table<Net, T>()."""
    name: str          # hinge's: "stage0.weight"
    torch_name: str    # torch.nn.Sequential's: "0.weight"
    role: str
    stage: int
    module: int
    shape: tuple
    trainable: bool
    offset: int
    fan_in: int
    panel: int
    order: tuple       # (positions, channels): PyTorch's index -> hinge's inside a row
    # Recurrent tensors: PyTorch's row o (gate o // gate_rows, unit o % gate_rows) is column
    # o // gate_rows * gate_stride + o % gate_rows (each gate padded to panels); 0: o itself.
    gate_rows: int = 0
    gate_stride: int = 0

    @property
    def count(self):
        return size(self.shape)

    def hinge_index(self, k):
        p, c = self.order
        return k % p * c + k // p

    def column(self, o):
        return o if self.gate_rows == 0 else o // self.gate_rows * self.gate_stride + o % self.gate_rows

    def element(self, k):
        if self.fan_in == 0:
            return self.offset + (self.hinge_index(k) if self.gate_rows == 0 else self.column(k))
        o, i = divmod(k, self.fan_in)
        o, i = self.column(o), self.hinge_index(i)
        return self.offset + o // self.panel * (self.fan_in * self.panel) + i * self.panel + o % self.panel


def round_up(n, multiple):
    return (n + multiple - 1) // multiple * multiple


class Network:
    def __init__(self, input_shape, stages):
        self.input_shape = tuple(input_shape)
        self.stages = stages
        # How PyTorch holds a sequence input (torch_mapping.py): "channels_first" [N, C, L] or
        # "channels_last" [N, L, C]; None when unknown or not a sequence.
        self.torch_input_order = None
        self.torch_output_order = None  # the same for a sequence output
        # PyTorch's per-sample input shape when the model flattens its input first (so hinge's flat
        # input is PyTorch's flattening of it), else None.
        self.torch_flattened_input = None
        # A forward with several inputs: [(name, PyTorch's shape without the batch)], whose channels
        # side by side are hinge's input; None otherwise.
        self.torch_inputs = None

    @property
    def output_shape(self):
        return self.stages[-1].output_shape if self.stages else self.input_shape

    # io::architecture_description<Net>
    def description(self):
        text = "input " + shape_text(self.input_shape)
        for s in self.stages:
            reads = "reads " + " ".join(str(r) for r in s.reads) + " " if s.reads is not None else ""
            text += (" | " + s.layer.describe(s.input_shape) + reads + shape_text(s.input_shape) + "->" +
                     shape_text(s.output_shape) + " " + s.activation.describe())
        return text

    def layer_list(self, ns="hinge::"):
        items = [f"{ns}input<{', '.join(str(d) for d in self.input_shape)}>"]
        for s in self.stages:
            items += [f"{ns}{marker}" for marker in s.markers]
            items.append(s.layer.cpp(ns))
            if s.activation != IDENTITY:
                items.append(s.activation.cpp(ns))
        return items

    def cpp_type(self, ns="hinge::"):
        return f"{ns}network<" + ", ".join(self.layer_list(ns)) + ">"

    def parameter_count(self):
        return sum(t.count for t in self.tensor_table(4))

    # core/layout.hpp: trainable tensors stage by stage (weight or scale, bias or shift, slope;
    # recurrent: W_ih, W_hh, b_ih, b_hh, gate-major with each gate padded to panels), then the
    # running statistics of every batch_norm stage. A grouped convolution's weight has K C / G rows.
    def layout(self, itemsize):
        panel = 64 // itemsize
        offsets, trainable = [], 0
        for s in self.stages:
            o = {}
            padded = round_up(channels(s.output_shape), panel)
            if s.layer.recurrent:
                gate_width = s.layer.gates * padded
                o["weight_ih"] = trainable
                trainable += channels(s.input_shape) * gate_width
                o["weight_hh"] = trainable
                trainable += s.layer.hidden * gate_width
                o["bias_ih"] = trainable
                trainable += gate_width
                o["bias_hh"] = trainable
                trainable += gate_width
            elif s.layer.affine:
                o["weight"] = trainable
                trainable += s.layer.fan_in(s.input_shape) * padded
            elif s.layer.scale_and_shift:
                o["scale"] = trainable
                trainable += padded
            if s.layer.affine or s.layer.scale_and_shift:
                o["bias" if s.layer.affine else "shift"] = trainable
                trainable += padded
            if s.activation.learned_slope:
                o["slope"] = trainable
                trainable += padded
            offsets.append(o)
        total = trainable
        for s, o in zip(self.stages, offsets):
            if s.layer.normalization:
                padded = round_up(channels(s.output_shape), panel)
                o["running_mean"], o["running_variance"] = total, total + padded
                total += 2 * padded
        return offsets, trainable, total

    def storage_size(self, itemsize):
        return self.layout(itemsize)[2]

    def multilayer_stacks(self):
        """(first stage, layers) of every multi-layer nn.GRU / nn.LSTM: the arguments of
        io::multilayer_recurrent_names<Net, First, Layers>, which names the file's tensors."""
        stacks = []
        for i, s in enumerate(self.stages):
            if s.torch_layer > 0:
                if s.torch_layer == 1:
                    stacks.append([i - 1, 1])
                stacks[-1][1] += 1
        return [tuple(x) for x in stacks]

    def multilayer_metadata(self):
        """The metadata value that records multilayer_stacks() in a file ("first,layers;..."), or None."""
        stacks = self.multilayer_stacks()
        return ";".join(f"{first},{layers}" for first, layers in stacks) if stacks else None

    def apply_multilayer_metadata(self, text, source="the file"):
        """Marks the stages that a file's "hinge.multilayer_recurrent" metadata names as one module's layers."""
        for part in (text or "").split(";"):
            if not part:
                continue
            try:
                first, layers = (int(x) for x in part.split(","))
            except ValueError:
                raise ExportError(f"{source}: the metadata hinge.multilayer_recurrent = '{text}' is not "
                                  "'first,layers;...'") from None
            stages = self.stages[first:first + layers]
            if layers < 2 or len(stages) != layers or not all(s.layer.recurrent and s.layer.cell == stages[0].layer.cell
                                                              for s in stages):
                raise ExportError(f"{source}: the metadata hinge.multilayer_recurrent = '{text}' does not name "
                                  "consecutive recurrent stages of one kind")
            for k, s in enumerate(stages):
                s.torch_layer = k

    def streams(self):
        """Whether hinge::stream<Net> runs it (runtime/stream.hpp: a sequence input, every stage per step)."""
        return len(self.input_shape) == 2 and all(s.layer.works_per_step(s.input_shape, s.output_shape)
                                                  for s in self.stages)

    # io::tensor_table<Net, T>(), with the names of io::multilayer_recurrent_names for the layers
    # of a multi-layer nn.GRU / nn.LSTM ("<k>.weight_ih_l1", later modules numbered down).
    def tensor_table(self, itemsize):
        panel = 64 // itemsize
        offsets = self.layout(itemsize)[0]
        table, module = [], 0
        order = [(1, 1)] * (len(self.stages) + 1)  # of each stage's output, [0]: the network input
        for i, s in enumerate(self.stages):
            out = channels(s.output_shape)
            arriving = order[s.reads[0] if s.reads is not None else i]
            if s.layer.kind == "flatten":
                order[i + 1] = (positions(s.input_shape), channels(s.input_shape)) if len(s.input_shape) > 1 \
                    else arriving
            elif s.layer.keeps_order:
                order[i + 1] = arriving
            leaving = order[i + 1]

            def vector(role, torch_name, trainable=True):
                table.append(Slot(f"stage{i}.{role}", torch_name, role, i, module, (out,), trainable,
                                  offsets[i][role], 0, 1, leaving))

            if s.layer.recurrent:
                rows = s.layer.gates * out
                first = module - 1 if s.torch_layer > 0 else module
                stride = round_up(out, panel)
                for role, fan_in in (("weight_ih", channels(s.input_shape)), ("weight_hh", out)):
                    table.append(Slot(f"stage{i}.{role}", f"{first}.{role}_l{s.torch_layer}", role, i, first,
                                      (rows, fan_in), True, offsets[i][role], fan_in, panel, (1, 1), out, stride))
                for role in ("bias_ih", "bias_hh"):
                    table.append(Slot(f"stage{i}.{role}", f"{first}.{role}_l{s.torch_layer}", role, i, first,
                                      (rows,), True, offsets[i][role], 0, 1, (1, 1), out, stride))
                if s.torch_layer > 0:
                    continue  # the same nn.GRU / nn.LSTM module as the stage before: no number of its own
            elif s.layer.affine:
                fan_in = s.layer.fan_in(s.input_shape)
                if s.layer.kind == "convolution":
                    g = s.layer.geometry(s.input_shape)
                    c = channels(s.input_shape) // s.layer.groups  # a window holds one group's channels
                    shape = (out, c, g.kernel_height, g.kernel_width) if s.layer.rank == 2 \
                        else (out, c, g.kernel_width)
                    weight_order = (s.layer.window_size(), c)
                else:
                    shape, weight_order = (out, fan_in), arriving
                table.append(Slot(f"stage{i}.weight", f"{module}.weight", "weight", i, module, shape, True,
                                  offsets[i]["weight"], fan_in, panel, weight_order))
                vector("bias", f"{module}.bias")
            elif s.layer.scale_and_shift:
                vector("scale", f"{module}.weight")
                vector("shift", f"{module}.bias")
            if s.activation.learned_slope:
                vector("slope", f"{module + 1}.weight")
            if s.layer.normalization:
                vector("running_mean", f"{module}.running_mean", False)
                vector("running_variance", f"{module}.running_var", False)
            module += s.layer.modules + (0 if s.activation == IDENTITY else 1)
        return table

    def storage_bits(self, dtype):
        """The parameter block of parameters<Net, T> as the bit patterns of its values (zero padding
        included), from the stages' tensors."""
        itemsize = DTYPE_SIZE[dtype]
        block = [0] * self.storage_size(itemsize)
        for slot in self.tensor_table(itemsize):
            tensor = self.stages[slot.stage].tensors[slot.role].astype(dtype)
            bits = tensor.bits()
            if len(bits) == 1 and slot.count != 1 and slot.role == "slope":
                bits = bits * slot.count  # nn.PReLU() shares one slope: broadcast, as load_safetensors does
            if len(bits) != slot.count:
                raise ExportError(f"internal: tensor {slot.torch_name} has {len(bits)} values, expected {slot.count}")
            for k, b in enumerate(bits):
                block[slot.element(k)] = b
        return block

    def safetensors_entries(self, dtype):
        """(name, Tensor) in table order, as save_safetensors writes them: a shared PReLU slope
        broadcast, and "<k>.num_batches_tracked" after each batch_norm's running variance (so that a
        strict load_state_dict of the equivalent nn.Sequential accepts the file)."""
        out = []
        for slot in self.tensor_table(DTYPE_SIZE[dtype]):
            stage = self.stages[slot.stage]
            t = stage.tensors[slot.role].astype(dtype)
            if t.count == 1 and slot.count != 1:
                t = Tensor(slot.shape, dtype, t.data * slot.count)
            out.append((slot.torch_name, t))
            if slot.role == "running_variance":
                count = int(stage.tensors.get("num_batches_tracked", 0))
                out.append((f"{slot.module}.num_batches_tracked", Tensor((), "I64", struct.pack("<q", count))))
        return out


# ---- folding batch normalisation (layers/fold_batch_norm.hpp, also after convolutions) ----------------------

def fold_batch_norm(network, notes):
    """Every batch_norm stage directly after a dense or convolution stage (no activation between
    them), folded into it with the running statistics: W' = s W, b' = s (b - mean) + beta,
    s = gamma / sqrt(var + eps), computed in double and rounded once. Only for inference."""
    if any(s.reads is not None for s in network.stages):
        # Folding removes stages, and a graph's stages name each other by index.
        raise ExportError("folding batch norm (--fold-batch-norm) is for chains of layers, and this network is a "
                          "graph; export it without folding")
    stages, i = [], 0
    while i < len(network.stages):
        s = network.stages[i]
        after = network.stages[i + 1] if i + 1 < len(network.stages) else None
        if s.layer.affine and s.activation == IDENTITY and after is not None and after.layer.normalization:
            t, bn = s.tensors, after.tensors
            gamma, beta = bn["scale"].values(), bn["shift"].values()
            mean, var = bn["running_mean"].values(), bn["running_variance"].values()
            scale = [g / math.sqrt(v + after.layer.epsilon) for g, v in zip(gamma, var)]
            weight = t["weight"].values()
            row = len(weight) // len(scale)
            dtype = t["weight"].dtype
            tensors = {"weight": Tensor.from_values(t["weight"].shape, dtype,
                                                    [w * scale[k // row] for k, w in enumerate(weight)]),
                       "bias": Tensor.from_values(t["bias"].shape, dtype,
                                                  [(b - m) * c + e for b, m, c, e in
                                                   zip(t["bias"].values(), mean, scale, beta)])}
            if "slope" in bn:
                tensors["slope"] = bn["slope"]
            stages.append(Stage(s.layer, after.activation, s.input_shape, after.output_shape,
                                f"{s.origin} + {after.origin} (folded)", after.activation_origin, tensors))
            notes.append(f"folded {after.origin} into {s.origin} (inference only: its running statistics are now "
                         "part of the weights)")
            i += 2
        else:
            if s.layer.normalization:
                notes.append(f"{s.origin} does not directly follow a Linear or Conv layer, so it is kept as batch_norm")
            stages.append(s)
            i += 1
    network.stages = stages
    return network


# ---- building a network item by item -----------------------------------------------------------

class Builder:
    """Threads the shape through layers and activations and groups them into stages the way
    core/plan.hpp does, raising ExportError where hinge's planner would reject the network.

    Graphs: `current` is the value the next layer reads (index + 1 of the stage that produced it,
    0: the network input), as the planner's cursor; `use` moves it to any value made earlier (a
    from<> in the type), and a merge reads the current value and a named one. Which values need a
    tap<> and a from<> is decided when the network is finished (`network`), from what every stage
    reads: a value gets the name "v<stage>" ("input" for the input)."""

    def __init__(self, input_shape):
        self.input_shape = tuple(input_shape)
        self.shape = self.input_shape
        self.current = 0
        self.stages = []
        self.last_activation_origin = ""

    def shape_of(self, source):
        return self.input_shape if source == 0 else self.stages[source - 1].output_shape

    def use(self, source):
        """The next layer reads the value that stage source - 1 made (0: the network input)."""
        self.current, self.shape = source, self.shape_of(source)

    def _check_reads_input(self, layer, origin):
        if self.current == 0 and not layer.opens_network:
            # core/network.hpp rejects it too; say it in PyTorch's terms.
            raise ExportError(f"{origin + ': ' if origin else ''}hinge networks start with a dense, convolution or "
                              "recurrent layer (pooling, flatten, dropout and batch_norm of the raw input are not "
                              "supported: do them to the data beforehand)")

    def add_layer(self, layer, origin="", tensors=None):
        self._check_reads_input(layer, origin)
        try:
            out = layer.output_shape(self.shape)
        except ExportError as e:
            raise ExportError(f"{origin}: {e}" if origin else str(e)) from None
        reads = None if self.current == len(self.stages) else [self.current]
        self.stages.append(Stage(layer, IDENTITY, self.shape, out, origin, "", dict(tensors or {}), reads=reads))
        self.current, self.shape = len(self.stages), out
        return self.stages[-1]

    def add_merge(self, layer, named, origin=""):
        """A merge of the current value with the value of source `named` (layers/merge.hpp)."""
        where = f"{origin}: " if origin else ""
        if named == self.current:
            # core/plan.hpp, check_distinct_inputs: the gradient of both reads would go to one place.
            raise ExportError(f"{where}it combines a value with itself, and a hinge merge reads two different values "
                              "(x + x is a layer with twice the weights; x * x has no hinge layer)")
        try:
            out = layer.merged_shape(self.shape, self.shape_of(named))
        except ExportError as e:
            raise ExportError(where + str(e)) from None
        self.stages.append(Stage(layer, IDENTITY, self.shape, out, origin, "", {}, reads=[self.current, named]))
        self.current, self.shape = len(self.stages), out
        return self.stages[-1]

    def add_activation(self, activation, origin="", tensors=None):
        where = f"{origin}: " if origin else ""
        if not self.stages or self.current == 0:
            raise ExportError(f"{where}the network starts with an activation; hinge fuses every activation into "
                              "the layer before it, so the first module must be a layer (Linear, Conv, BatchNorm, ...)")
        if self.current != len(self.stages):
            last = self.stages[self.current - 1]
            raise ExportError(f"{where}an activation of the output of {last.origin or last.layer.kind} after later "
                              f"layers were computed; hinge fuses every activation into the stage that makes its "
                              "input, right after it, so the activation must be computed directly after that layer")
        last = self.stages[-1]
        if last.activation != IDENTITY:
            raise ExportError(f"{where}a second activation directly after {last.activation_origin or last.activation.name}; "
                              "hinge fuses exactly one activation into each layer, so two in a row need a layer "
                              "between them")
        if not last.layer.accepts_activation:
            raise ExportError(f"{where}an activation directly after {last.origin or last.layer.cell}; the output of "
                              f"hinge's {last.layer.cell} is its hidden state, which the next step reads, so an "
                              "activation cannot be fused into it: put a layer between them (a Linear, which hinge "
                              "applies per step), or leave the activation out")
        if last.layer.kind == "flatten":
            raise ExportError(f"{where}an activation directly after Flatten ({last.origin}); hinge's flatten is a copy "
                              "that carries no activation: put the activation before the Flatten (an element-wise "
                              "function commutes with it)")
        last.activation = activation
        last.activation_origin = origin
        if tensors:
            last.tensors.update(tensors)

    def network(self):
        if not self.stages:
            raise ExportError("the network has no layers")
        if self.current != len(self.stages):
            raise ExportError("internal: the network's output is not its last stage's")
        place_markers(self.stages)
        return Network(self.input_shape, self.stages)


def value_name(source):
    """The name a graph's value gets in the C++ type: "input", or "v<stage>" of the stage that makes it."""
    return "input" if source == 0 else f"v{source - 1}"


def place_markers(stages):
    """The tap<> and from<> markers of a graph, from what each stage reads (Stage.reads): a value
    read other than by the stage right after it is tapped where it is made, and a stage that reads
    a value other than the one before it starts with from<>. Every value but the output must be
    read (core/network.hpp), which the mapping guarantees; checked here."""
    tapped, read = set(), set()
    for i, s in enumerate(stages):
        s.markers = []
        if s.reads is None:
            read.add(i)
            continue
        current, named = s.reads[0], s.reads[1:]
        read.update(s.reads)
        if current != i:
            tapped.add(current)
        tapped.update(named)
    for i, s in enumerate(stages):
        if s.layer.named:
            s.layer.name = value_name(s.reads[1])
        if i in tapped and i > 0:
            s.markers.append(f'tap<"{value_name(i)}">')
        if s.reads is not None and s.reads[0] != i:
            s.markers.append(f'from<"{value_name(s.reads[0])}">')
    unread = [k for k in range(1, len(stages)) if k not in read]
    if unread:
        s = stages[unread[0] - 1]
        raise ExportError(f"internal: the value of stage {unread[0] - 1} ({s.origin}) is read by no later stage")
