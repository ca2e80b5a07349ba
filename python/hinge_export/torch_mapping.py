"""PyTorch's side of the exporter: an nn.Module as a chain of calls, each mapped to hinge by a table.

A model is first turned into a chain of steps, each a call on the value computed by the step
before: an nn.Sequential by walking its children (nested Sequentials included), any other module
by torch.fx symbolic tracing (`steps_of_fx`), which must find a chain, not a graph with branches.
The model then runs once on a random input so that every step knows PyTorch's shapes.

Each step is mapped by the tables below:

  MODULES      nn.Module type (exact type: a subclass may have another forward) -> mapper
  FUNCTIONS    function called in forward (F.relu, torch.flatten, ...) -> the module it equals
  METHODS      tensor method called in forward (x.relu(), x.flatten(1), x.view(...)) -> the same
  UNSUPPORTED  module type -> why hinge has no such layer, and what to do instead

so a new layer kind is a new entry (the sequence layers of issue 13 will be). A mapper adds
hinge layers and activations to a `network.Builder`, which threads hinge's shape and applies
hinge's grouping rules; after each step hinge's shape must equal PyTorch's. Whatever cannot be
mapped exactly raises ExportError naming the step's path, its module or function, and what hinge
supports instead: the exporter never writes a network that computes something else.
"""

import operator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from .network import (ACTIVATIONS, BatchNorm, Builder, Convolution, Dense, Dropout, ExportError, Flatten, GlobalAvgPool,
                      Pool, Tensor, channels, elu, fold_batch_norm, from_torch_shape, leaky_relu, size,
                      torch_shape_text)

# ---- the chain -----------------------------------------------------------------------------------


def module_text(m):
    cls = type(m)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else cls.__module__ + "."
    extra = m.extra_repr() if cls.__module__.startswith("torch.nn") else ""
    return f"{prefix}{cls.__qualname__}({extra})"


class Step:
    """One call in the model's forward, on the value the step before computed."""

    def __init__(self, kind, path, target, args=(), kwargs=None):
        self.kind = kind        # "module", "function" or "method"
        self.path = path        # the module's qualified name, or the torch.fx node's name
        self.target = target    # the module, the function, or the method's name
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.torch_in = self.torch_out = None  # per-sample shapes, PyTorch's order

    def label(self):
        if self.kind == "module":
            return f"'{self.path}' {module_text(self.target)}"
        if self.kind == "function":
            name = getattr(self.target, "__name__", str(self.target))
            module = getattr(self.target, "__module__", None) or "torch"
            return f"{module}.{name}(...) at node '{self.path}'"
        return f"Tensor.{self.target}(...) at node '{self.path}'"

    def what(self):
        return {"module": "module", "function": "function call", "method": "method call"}[self.kind]


def steps_of_sequential(seq, prefix=""):
    for name, m in seq.named_children():
        if type(m) is nn.Sequential:
            yield from steps_of_sequential(m, f"{prefix}{name}.")
        else:
            yield Step("module", prefix + name, m)


def is_plain_sequential(model):
    """An nn.Sequential (not a subclass, whose forward may differ) of torch.nn modules only."""
    if type(model) is not nn.Sequential:
        return False
    return all(type(s.target).__module__.startswith("torch.nn") for s in steps_of_sequential(model))


def _is_size_node(node, size_nodes):
    """x.size(0), x.shape, x.shape[0]: values read from the running tensor's shape (for a view)."""
    if node.op == "call_method" and node.target in ("size", "dim"):
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1:] == ("shape",):
        return True
    return node.op == "call_function" and node.target is operator.getitem and node.args[0] in size_nodes


class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer, which also keeps subclasses of the mapped and refused module types whole,
    so that they are refused by name instead of traced into."""

    def is_leaf_module(self, m, qualified_name):
        return super().is_leaf_module(m, qualified_name) or isinstance(m, tuple(MODULES) + tuple(UNSUPPORTED))


def steps_of_fx(model):
    try:
        tracer = _Tracer()
        graph_module = torch.fx.GraphModule(model, tracer.trace(model))
    except Exception as e:  # noqa: BLE001 (torch.fx raises many kinds)
        raise ExportError(f"the model ({module_text(model)}) is not a plain nn.Sequential, and torch.fx cannot trace "
                          f"its forward: {type(e).__name__}: {e}. The exporter maps nn.Sequential models and models "
                          "whose forward torch.fx traces into a chain of the supported modules and functions") from None
    nodes = list(graph_module.graph.nodes)
    inputs = [n for n in nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise ExportError(f"the model's forward takes {len(inputs)} inputs ({', '.join(n.name for n in inputs)}); "
                          "a hinge network has exactly one")
    current, size_nodes, steps = inputs[0], set(), []
    for node in nodes:
        if node.op == "placeholder":
            continue
        if node.op == "output":
            result = node.args[0]
            if result is not current:
                raise ExportError(f"the forward returns {result!r}, not the last value it computed ('{current.name}'): "
                                  "a hinge network has one output, the last layer's")
            break
        if node.op == "get_attr":
            raise ExportError(f"the forward reads the tensor '{node.target}' itself (node '{node.name}'); the exporter "
                              "maps calls of modules and functions on the running value only")
        if _is_size_node(node, size_nodes):
            size_nodes.add(node)
            continue
        operands = [a for a in node.all_input_nodes if a not in size_nodes]
        if not node.args or node.args[0] is not current or operands != [current]:
            others = [a.name for a in operands if a is not current]
            raise ExportError(
                f"node '{node.name}' ({node.format_node()}) "
                + (f"combines the running value with the earlier value(s) {', '.join(others)}" if others
                   else "does not take the running value as its first argument")
                + ": the exporter maps a chain in which each layer takes the previous one's output; skip "
                "connections and branches (residual blocks) are not mapped: write hinge::residual<...> by hand "
                "(docs/layers.md)")
        if len([u for u in current.users if u not in size_nodes]) > 1:
            users = ", ".join(u.name for u in current.users)
            raise ExportError(f"the value '{current.name}' is used by {users}: the forward branches, and the exporter "
                              "maps a chain of layers only (write residual blocks by hand: hinge::residual<...>)")
        if node.op == "call_module":
            steps.append(Step("module", node.target, graph_module.get_submodule(node.target)))
        else:
            kind = "function" if node.op == "call_function" else "method"
            steps.append(Step(kind, node.name, node.target, node.args[1:], node.kwargs))
        steps[-1].node = node
        current = node
    return graph_module, steps


class _ShapeRecorder(torch.fx.Interpreter):
    def run_node(self, n):
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["hinge_shape"] = tuple(result.shape[1:])
        return result


def record_shapes(model, steps, graph_module, input_shape, dtype):
    """Runs the model once (eval mode, batch 2) so that every step knows PyTorch's shapes."""
    x = torch.randn(2, *input_shape, dtype=dtype, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            if graph_module is None:
                for step in steps:
                    step.torch_in = tuple(x.shape[1:])
                    failed = step
                    x = step.target(x)
                    step.torch_out = tuple(x.shape[1:])
            else:
                failed = None
                _ShapeRecorder(graph_module).run(x)
                previous = tuple(input_shape)
                for step in steps:
                    step.torch_in, step.torch_out = previous, step.node.meta.get("hinge_shape")
                    previous = step.torch_out
    except Exception as e:  # noqa: BLE001
        where = f" at {failed.label()}" if failed else ""
        raise ExportError(f"running the model on an input of shape {list(input_shape)} (PyTorch's order, without the "
                          f"batch) failed{where}: {type(e).__name__}: {str(e).splitlines()[0]}; give the input's shape "
                          "with --input-shape") from None


# ---- the tables ----------------------------------------------------------------------------------

class Mapping:
    """The state of a mapping: the Builder, the tensors' dtype, the notes for the user."""

    def __init__(self, builder, dtype):
        self.builder, self.dtype, self.notes = builder, dtype, []
        self.pending_global_pool = None  # an AdaptiveAvgPool(1) step waiting for its Flatten

    def tensor(self, t, shape=None):
        t = t.detach().to("cpu", dtype=torch.float32 if self.dtype == "F32" else torch.float64).contiguous()
        if shape is not None:
            t = t.expand(shape).contiguous()
        return Tensor(tuple(t.shape), self.dtype, t.numpy().astype("<f4" if self.dtype == "F32" else "<f8").tobytes())

    def constant(self, value, n):
        return self.tensor(torch.full((n,), float(value)))

    def layer(self, step, layer, tensors=None):
        return self.builder.add_layer(layer, step.label(), tensors)

    def activation(self, step, activation, tensors=None):
        self.builder.add_activation(activation, step.label(), tensors)


def unsupported(step, reason):
    return ExportError(f"cannot map the {step.what()} {step.label()}: {reason}. {supported_text()}")


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def single(v, step, what):
    """The one value of a square (or 1-D) kernel, stride, ... parameter."""
    values = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(set(values)) != 1:
        raise unsupported(step, f"{what} {v} is not the same in every direction; hinge's windows are square")
    return int(values[0])


MODULES = {}


def maps(*types):
    def register(fn):
        for t in types:
            MODULES[t] = fn
        return fn
    return register


@maps(nn.Linear)
def _linear(m, step, mapping):
    bias = m.bias if m.bias is not None else torch.zeros(m.out_features)
    if m.bias is None:
        mapping.notes.append(f"{step.label()} has no bias; hinge's dense always has one, written as zeros (the same "
                             "function; training in hinge would learn it)")
    mapping.layer(step, Dense(m.out_features), {"weight": mapping.tensor(m.weight), "bias": mapping.tensor(bias)})


def _convolution(m, step, mapping, rank):
    if m.groups != 1:
        raise unsupported(step, f"grouped or depthwise convolutions (groups={m.groups}) are not in hinge")
    if m.padding_mode != "zeros":
        raise unsupported(step, f"padding_mode='{m.padding_mode}': hinge pads with zeros only")
    kernel = single(m.kernel_size, step, "kernel_size")
    stride = single(m.stride, step, "stride")
    dilation = single(m.dilation, step, "dilation")
    shape = mapping.builder.shape
    if len(shape) != rank + 1:
        raise unsupported(step, f"it receives the shape {torch_shape_text(shape)}, and hinge's conv{rank}d needs "
                                f"{'an image [C, H, W]' if rank == 2 else 'a sequence [C, L]'}")
    # PyTorch's padding before the first row/column, per dimension; hinge's must be the same, with
    # the same output size (then every window is the same, and what lies past the end is zero).
    span = (kernel - 1) * dilation
    if m.padding == "valid":
        torch_pad = 0
    elif m.padding == "same":
        torch_pad = span // 2
    else:
        torch_pad = single(m.padding, step, "padding")
    preference = ("valid", "same") if torch_pad == 0 else ("same", "valid")
    found, tried = None, []
    for padding in preference:
        candidate = Convolution(rank, m.out_channels, kernel, stride, padding, dilation)
        try:
            out = candidate.output_shape(shape)
        except ExportError:
            continue
        g = candidate.geometry(shape)
        pads = (g.pad_left,) if rank == 1 else (g.pad_top, g.pad_left)
        tried.append(f"{padding} pads {pads[0]} and gives {torch_shape_text(out)}")
        if from_torch_shape(step.torch_out) == out and all(p == torch_pad for p in pads):
            found = candidate
            break
    if found is None:
        raise unsupported(step, f"on the input {torch_shape_text(shape)} PyTorch pads {torch_pad} and gives "
                                f"{list(step.torch_out)}, which neither of hinge's paddings does ({'; '.join(tried)}); "
                                "use padding=0 (valid), or padding=(kernel-1)//2*dilation with stride 1 and an odd "
                                "kernel (same)")
    bias = m.bias if m.bias is not None else torch.zeros(m.out_channels)
    if m.bias is None:
        mapping.notes.append(f"{step.label()} has no bias; written as zeros (hinge's convolutions always have one)")
    mapping.layer(step, found, {"weight": mapping.tensor(m.weight), "bias": mapping.tensor(bias)})


maps(nn.Conv1d)(lambda m, step, mapping: _convolution(m, step, mapping, 1))
maps(nn.Conv2d)(lambda m, step, mapping: _convolution(m, step, mapping, 2))


def _batch_norm(m, step, mapping, ranks):
    shape = mapping.builder.shape
    if len(shape) not in ranks:
        raise unsupported(step, f"it receives the shape {torch_shape_text(shape)}")
    if m.momentum is None:
        raise unsupported(step, "momentum=None (a cumulative average of all batches) is not hinge's batch_norm, "
                                "whose running statistics use a momentum; give one, e.g. 0.1")
    if not m.track_running_stats or m.running_mean is None:
        raise unsupported(step, "track_running_stats=False normalises with the batch's own statistics in eval mode "
                                "too, and hinge's batch_norm uses running statistics in inference")
    n = m.num_features
    scale = m.weight if m.affine else torch.ones(n)
    shift = m.bias if m.affine else torch.zeros(n)
    if not m.affine:
        mapping.notes.append(f"{step.label()} has affine=False; hinge's batch_norm has a scale and a shift, written "
                             "as ones and zeros (the same function)")
    mapping.layer(step, BatchNorm(m.momentum, m.eps), {
        "scale": mapping.tensor(scale), "shift": mapping.tensor(shift),
        "running_mean": mapping.tensor(m.running_mean), "running_variance": mapping.tensor(m.running_var),
        "num_batches_tracked": int(m.num_batches_tracked) if m.num_batches_tracked is not None else 0})


maps(nn.BatchNorm1d)(lambda m, step, mapping: _batch_norm(m, step, mapping, (1, 2)))
maps(nn.BatchNorm2d)(lambda m, step, mapping: _batch_norm(m, step, mapping, (3,)))


def _pool(m, step, mapping, reduction, rank):
    window = single(m.kernel_size, step, "kernel_size")
    stride = window if m.stride is None or m.stride == () else single(m.stride, step, "stride")
    problems = []
    if stride != window:
        problems.append(f"stride {stride} differs from the window {window}")
    if any(p != 0 for p in pair(m.padding)):
        problems.append(f"padding {m.padding}")
    if reduction == "max" and any(d != 1 for d in pair(m.dilation)):
        problems.append(f"dilation {m.dilation}")
    if m.ceil_mode:
        problems.append("ceil_mode=True")
    if getattr(m, "return_indices", False):
        problems.append("return_indices=True")
    if getattr(m, "divisor_override", None) is not None:
        problems.append(f"divisor_override={m.divisor_override}")
    if problems:
        raise unsupported(step, "hinge pools whole, non-overlapping windows (stride = window, no padding, "
                                f"no dilation, floor mode), and this pooling has {', '.join(problems)}")
    mapping.layer(step, Pool(reduction, rank, window))


maps(nn.MaxPool1d)(lambda m, step, mapping: _pool(m, step, mapping, "max", 1))
maps(nn.MaxPool2d)(lambda m, step, mapping: _pool(m, step, mapping, "max", 2))
maps(nn.AvgPool1d)(lambda m, step, mapping: _pool(m, step, mapping, "avg", 1))
maps(nn.AvgPool2d)(lambda m, step, mapping: _pool(m, step, mapping, "avg", 2))


@maps(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
def _adaptive_avg_pool(m, step, mapping):
    sizes = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
    if any(s != 1 for s in sizes):
        raise unsupported(step, f"only an output size of 1 (global average pooling) maps, this one is {m.output_size}")
    mapping.pending_global_pool = step  # hinge's global_avg_pool is AdaptiveAvgPool(1) followed by Flatten


@maps(nn.Flatten)
def _flatten(m, step, mapping):
    if m.start_dim != 1 or m.end_dim != -1:
        raise unsupported(step, f"start_dim={m.start_dim}, end_dim={m.end_dim}: hinge's flatten flattens "
                                "everything but the batch (start_dim=1, end_dim=-1)")
    builder = mapping.builder
    if not builder.stages and mapping.pending_global_pool is None:
        # The model flattens its own input: hinge's input is then that flat vector, in PyTorch's
        # order (x.reshape(N, -1)), the same function with no stage (hinge's networks start with a
        # dense or convolution layer).
        if len(builder.shape) > 1:
            mapping.notes.append(f"{step.label()} flattens the input: hinge's input is the flat vector of "
                                 f"{size(builder.shape)} values in PyTorch's order, i.e. x.reshape(N, -1) of the "
                                 f"{torch_shape_text(builder.shape)} input (not channels last)")
            builder.input_shape = builder.shape = (size(builder.shape),)
        return
    if mapping.pending_global_pool is not None:
        pool, mapping.pending_global_pool = mapping.pending_global_pool, None
        mapping.builder.add_layer(GlobalAvgPool(), f"{pool.label()} + {step.label()}")
    else:
        mapping.layer(step, Flatten())


@maps(nn.Dropout)
def _dropout(m, step, mapping):
    mapping.layer(step, Dropout(m.p))


@maps(nn.Identity)
def _identity(m, step, mapping):
    mapping.notes.append(f"{step.label()} is the identity: nothing to map")


def _simple(name):
    return lambda m, step, mapping: mapping.activation(step, ACTIVATIONS[name])


for _type, _name in [(nn.ReLU, "relu"), (nn.SELU, "selu"), (nn.SiLU, "silu"), (nn.ReLU6, "relu6"),
                     (nn.Hardswish, "hard_swish"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh")]:
    maps(_type)(_simple(_name))


@maps(nn.LeakyReLU)
def _leaky_relu(m, step, mapping):
    try:
        mapping.activation(step, leaky_relu(m.negative_slope))
    except ExportError as e:
        raise unsupported(step, str(e)) from None


@maps(nn.ELU)
def _elu(m, step, mapping):
    try:
        mapping.activation(step, elu(m.alpha))
    except ExportError as e:
        raise unsupported(step, str(e)) from None


@maps(nn.GELU)
def _gelu(m, step, mapping):
    approximate = getattr(m, "approximate", "none")
    if approximate not in ("none", "tanh"):
        raise unsupported(step, f"approximate='{approximate}'")
    mapping.activation(step, ACTIVATIONS["gelu" if approximate == "none" else "gelu_tanh"])


@maps(nn.Softplus)
def _softplus(m, step, mapping):
    if m.beta != 1 or m.threshold != 20:
        raise unsupported(step, f"beta={m.beta}, threshold={m.threshold}: hinge's softplus is log(1 + exp(z)), "
                                "PyTorch's with beta=1 and threshold=20")
    mapping.activation(step, ACTIVATIONS["softplus"])


@maps(nn.PReLU)
def _prelu(m, step, mapping):
    c = channels(mapping.builder.shape)
    if m.num_parameters not in (1, c):
        raise unsupported(step, f"num_parameters={m.num_parameters}, and the value has {c} channels: hinge's prelu "
                                "has one slope per channel (or one shared, which is broadcast)")
    mapping.activation(step, ACTIVATIONS["prelu"], {"slope": mapping.tensor(m.weight.reshape(-1), (c,))})


# Modules hinge has no layer for, with what to do instead. When hinge::gru / hinge::lstm exist
# (issue 13), mapping them takes: a Layer in network.py (shape rule, architecture_description
# text, C++ spelling, its tensors in tensor_table and layout, e.g. weight_ih_l0, weight_hh_l0,
# bias_ih_l0, bias_hh_l0), an entry in MODULES instead of the one here, and models in
# tests/exporter. Note that PyTorch's batch_first sequences are [N, L, C] while Conv1d's are
# [N, C, L]: from_torch_shape() reads every per-sample shape channels first, so those layers
# need their own conversion when hinge's shape is compared with PyTorch's after each step.
_RECURRENT = ("recurrent layers are not mapped by the exporter yet (hinge's own gru and lstm layers are being "
              "added, issue 13; their mapping will be an entry of this table)")
UNSUPPORTED = {
    nn.LSTM: _RECURRENT, nn.GRU: _RECURRENT, nn.RNN: _RECURRENT, nn.LSTMCell: _RECURRENT, nn.GRUCell: _RECURRENT,
    nn.Softmax: "hinge networks end in logits, and softmax belongs to the loss (hinge::loss::softmax_cross_entropy); "
                "export the model without it (e.g. model[:-1]) and apply softmax to hinge's output if you need "
                "probabilities",
    nn.LogSoftmax: "hinge networks end in logits; export the model without it (e.g. model[:-1])",
    nn.Dropout2d: "it drops whole channels, and hinge's dropout drops single values; use nn.Dropout",
    nn.AlphaDropout: "hinge's dropout is inverted dropout (nn.Dropout)",
    nn.LayerNorm: "hinge normalises with batch_norm only (BatchNorm1d / BatchNorm2d)",
    nn.GroupNorm: "hinge normalises with batch_norm only (BatchNorm1d / BatchNorm2d)",
    nn.InstanceNorm1d: "hinge normalises with batch_norm only", nn.InstanceNorm2d: "hinge normalises with batch_norm only",
    nn.Embedding: "hinge has no embedding layer",
    nn.MultiheadAttention: "hinge has no attention layers",
    nn.ConvTranspose1d: "hinge has no transposed convolutions", nn.ConvTranspose2d: "hinge has no transposed convolutions",
    nn.Conv3d: "hinge's convolutions are 1-D and 2-D", nn.MaxPool3d: "hinge's pooling is 1-D and 2-D",
    nn.AdaptiveMaxPool2d: "hinge's global pooling is the average (AdaptiveAvgPool2d(1))",
    nn.Upsample: "hinge has no upsampling", nn.ZeroPad2d: "hinge pads inside its convolutions (padding::same)",
    nn.Unflatten: "hinge's values keep the shape the layers give them",
    nn.Hardtanh: "hinge's clipped activation is ReLU6 (nn.ReLU6)",
    nn.Softsign: "not one of hinge's activations", nn.Tanhshrink: "not one of hinge's activations",
    nn.Mish: "not one of hinge's activations", nn.Hardsigmoid: "not one of hinge's activations",
    nn.CELU: "not one of hinge's activations (ELU is)", nn.RReLU: "not one of hinge's activations "
             "(its random slope in training is not noisy_relu; LeakyReLU and PReLU are)",
    nn.Bilinear: "hinge's affine layers are Linear and the convolutions",
}


# ---- functions and methods called in a traced forward ---------------------------------------------
# Each maps to the module it computes, whose mapper then does the work (and the checks).

FUNCTIONS = {
    F.relu: lambda inplace=False: nn.ReLU(),
    torch.relu: lambda: nn.ReLU(),
    F.leaky_relu: lambda negative_slope=0.01, inplace=False: nn.LeakyReLU(negative_slope),
    F.elu: lambda alpha=1.0, inplace=False: nn.ELU(alpha),
    F.selu: lambda inplace=False: nn.SELU(),
    torch.selu: lambda: nn.SELU(),
    F.gelu: lambda approximate="none": nn.GELU(approximate=approximate),
    F.silu: lambda inplace=False: nn.SiLU(),
    F.softplus: lambda beta=1, threshold=20: nn.Softplus(beta, threshold),
    F.relu6: lambda inplace=False: nn.ReLU6(),
    F.hardswish: lambda inplace=False: nn.Hardswish(),
    torch.sigmoid: lambda: nn.Sigmoid(),
    F.sigmoid: lambda: nn.Sigmoid(),
    torch.tanh: lambda: nn.Tanh(),
    F.tanh: lambda: nn.Tanh(),
    torch.flatten: lambda start_dim=0, end_dim=-1: nn.Flatten(start_dim, end_dim),
    F.max_pool1d: lambda kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False:
        nn.MaxPool1d(kernel_size, stride, padding, dilation, return_indices, ceil_mode),
    F.max_pool2d: lambda kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False:
        nn.MaxPool2d(kernel_size, stride, padding, dilation, return_indices, ceil_mode),
    F.avg_pool1d: lambda *args, **kwargs: nn.AvgPool1d(*args, **kwargs),
    F.avg_pool2d: lambda *args, **kwargs: nn.AvgPool2d(*args, **kwargs),
    F.adaptive_avg_pool1d: lambda output_size: nn.AdaptiveAvgPool1d(output_size),
    F.adaptive_avg_pool2d: lambda output_size: nn.AdaptiveAvgPool2d(output_size),
}


def _dropout_function(p=0.5, training=True, inplace=False):
    if training:
        raise ValueError("F.dropout(x, p) with training=True drops values in eval mode too, which hinge's dropout "
                         "(the identity in inference) does not; write F.dropout(x, p, self.training) or use nn.Dropout")
    return nn.Dropout(p)


FUNCTIONS[F.dropout] = _dropout_function

METHODS = {
    "relu": lambda: nn.ReLU(), "relu_": lambda: nn.ReLU(), "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "flatten": lambda start_dim=0, end_dim=-1: nn.Flatten(start_dim, end_dim),
}


def _map_reshape(step, mapping):
    """x.view(x.size(0), -1) and the like: a flatten, when PyTorch's shapes say it is one."""
    if len(step.torch_out) == 1 and step.torch_out[0] == size(step.torch_in):
        _flatten(nn.Flatten(), step, mapping)
    else:
        raise unsupported(step, f"it reshapes {list(step.torch_in)} to {list(step.torch_out)}; the only reshape hinge "
                                "has is flatten (to one value per sample)")


def supported_text():
    modules = sorted({t.__name__ for t in MODULES})
    functions = sorted({getattr(f, "__name__", str(f)) for f in FUNCTIONS})
    return (f"The exporter maps the modules {', '.join(modules)} (AdaptiveAvgPool only as AdaptiveAvgPool(1) followed "
            f"by Flatten), the functions {', '.join(functions)} and the tensor methods "
            f"{', '.join(sorted(METHODS))}, view and reshape (as flatten) (docs/interop.md)")


def check_kind(step):
    """Refuses a step whose kind of module or function no table maps, before anything runs (an
    nn.LSTM returns a tuple, an nn.Embedding wants integers: running them would fail first)."""
    if step.kind == "module":
        m = step.target
        if type(m) in MODULES:
            return
        if type(m) in UNSUPPORTED:
            raise unsupported(step, UNSUPPORTED[type(m)])
        base = next((t for t in list(MODULES) + list(UNSUPPORTED) if isinstance(m, t)), None)
        if base is not None:
            raise unsupported(step, f"it is a subclass of nn.{base.__name__}, whose forward may differ, so it is not "
                                    "mapped as one")
        raise unsupported(step, "hinge has no layer for this module")
    if step.kind == "method" and step.target in ("view", "reshape"):
        return
    if (FUNCTIONS if step.kind == "function" else METHODS).get(step.target) is None:
        raise unsupported(step, "hinge has no layer for this " + ("function" if step.kind == "function" else "method"))


def map_step(step, mapping):
    if mapping.pending_global_pool is not None and not (
            (step.kind == "module" and type(step.target) is nn.Flatten) or step.kind != "module"):
        raise unsupported(mapping.pending_global_pool, "hinge's global_avg_pool is AdaptiveAvgPool(1) followed by "
                                                       f"Flatten, and {step.label()} follows it instead")
    check_kind(step)
    if step.kind == "module":
        return MODULES[type(step.target)](step.target, step, mapping)
    if step.kind == "method" and step.target in ("view", "reshape"):
        return _map_reshape(step, mapping)
    factory = (FUNCTIONS if step.kind == "function" else METHODS)[step.target]
    try:
        module = factory(*step.args, **step.kwargs)
    except (TypeError, ValueError) as e:
        raise unsupported(step, str(e)) from None
    mapper = MODULES[type(module)]
    return mapper(module, step, mapping)


# ---- the whole model -----------------------------------------------------------------------------

def _first_input_shape(step):
    m = step.target if step.kind == "module" else None
    if isinstance(m, nn.Linear):
        return (m.in_features,)
    if isinstance(m, nn.BatchNorm1d):
        return (m.num_features,)
    return None


def map_model(model, input_shape=None, dtype=None, fold=False):
    """The hinge Network of an nn.Module (in eval mode), and notes for the user.

    input_shape: the per-sample input in PyTorch's order ([784], [1, 28, 28]); needed unless the
    first layer is an nn.Linear. dtype: "F32" or "F64" (default: the model's)."""
    if isinstance(model, torch.jit.ScriptModule):
        raise ExportError("the model is a TorchScript module; the exporter maps Python nn.Modules: save the module "
                          "itself with torch.save(model, path) (or name a function that builds it)")
    if not isinstance(model, nn.Module):
        raise ExportError(f"expected an nn.Module, got {type(model).__name__}")
    parameters = list(model.parameters())
    model_dtype = parameters[0].dtype if parameters else torch.float32
    if dtype is None:
        if model_dtype not in (torch.float32, torch.float64):
            raise ExportError(f"the model's parameters are {model_dtype}; hinge's are float32 or float64: convert "
                              "with model.float(), or choose --dtype")
        dtype = "F32" if model_dtype == torch.float32 else "F64"
    was_training = model.training
    model.eval()
    try:
        if is_plain_sequential(model):
            graph_module, steps = None, list(steps_of_sequential(model))
        else:
            graph_module, steps = steps_of_fx(model)
        if not steps:
            raise ExportError("the model has no layers")
        if input_shape is None:
            input_shape = _first_input_shape(steps[0])
            if input_shape is None:
                raise ExportError(f"the model starts with {steps[0].label()}, so the input's shape cannot be read off "
                                  "it: give it in PyTorch's order without the batch, e.g. --input-shape 1,28,28")
        input_shape = tuple(int(d) for d in input_shape)
        for step in steps:
            check_kind(step)
        record_shapes(model, steps, graph_module, input_shape, model_dtype)
        mapping = Mapping(Builder(from_torch_shape(input_shape)), dtype)
        for step in steps:
            map_step(step, mapping)
            if mapping.pending_global_pool is None and step.torch_out is not None and \
                    from_torch_shape(step.torch_out) != mapping.builder.shape:
                raise unsupported(step, f"PyTorch's value has the shape {list(step.torch_out)} after it, and hinge's "
                                        f"would have {torch_shape_text(mapping.builder.shape)}")
        if mapping.pending_global_pool is not None:
            raise unsupported(mapping.pending_global_pool, "hinge's global_avg_pool is AdaptiveAvgPool(1) followed by "
                                                           "Flatten, and nothing follows it")
        network = mapping.builder.network()
        if fold:
            network = fold_batch_norm(network, mapping.notes)
        if dtype == "F64" and any(s.activation.key or s.layer.kind in ("batch_norm", "dropout")
                                  for s in network.stages):
            mapping.notes.append("double precision: hinge's layer constants (slopes, alphas, batch-norm momentum "
                                 "and epsilon) are float template arguments, so they are the float32-rounded values")
        return network, mapping.notes
    finally:
        model.train(was_training)
