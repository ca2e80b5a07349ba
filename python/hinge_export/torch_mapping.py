"""PyTorch's side of the exporter: an nn.Module as calls, each mapped to hinge by a table.

A model is first turned into steps: a chain, each a call on the value computed by the step
before, for an nn.Sequential (its children, nested Sequentials included) and for a module whose
forward torch.fx traces into one (`steps_of_fx`); a traced forward that branches is a graph, whose
steps are mapped one by one onto the values they read (`map_graph`, below the tables: hinge's
tap / from / add / multiply / concat / gated / slice, docs/graphs.md). The model then runs once on
a random input so that every step knows PyTorch's shapes.

Each step is mapped by the tables below:

  MODULES      nn.Module type (exact type; a subclass that overrides only forward is traced) -> mapper
  FUNCTIONS    function called in forward (F.relu, torch.flatten, ...) -> the module it equals
  METHODS      tensor method called in forward (x.relu(), x.flatten(1), x.view(...)) -> the same
  STEPS        (kind, function or method) that is no layer but changes how the running value is
               seen: indexing what an RNN returns, F.pad before a causal Conv1d, transposes
  UNSUPPORTED  module type -> why hinge has no such layer, and what to do instead

so a new layer kind is a new entry. A mapper adds hinge layers and activations to a
`network.Builder`, which threads hinge's shape and applies hinge's grouping rules; after each step
hinge's shape must equal PyTorch's. Whatever cannot be mapped exactly raises ExportError naming
the step's path, its module or function, and what hinge supports instead: the exporter never
writes a network that computes something else.

Sequences. hinge's values are channels last (a sequence is <L, C>), PyTorch's are laid out as the
model chooses: nn.Conv1d and the 1-D pooling and batch norm read [N, C, L], nn.GRU / nn.LSTM
(batch_first=True) and nn.Linear read [N, L, C], and the model transposes between them. So the
mapping keeps the layout of the running value (`Mapping.order`: "channels_first" or
"channels_last"), starting from the one its first layout-reading step implies, flipped by every
transpose (which maps to nothing in hinge); a layer that reads the other layout is refused, and
hinge's shape is compared with PyTorch's in the current layout. nn.GRU / nn.LSTM return
(output, state): the steps that pick a part of it (`out, _ = rnn(x)`, `rnn(x)[0]`, `out[:, -1]`,
`h_n[-1]`) are followed by a small state machine (`Mapping.recurrent_value`), and taking the last
step is hinge's returns::last_step. A causal convolution is F.pad(x, ((K-1)*D, 0)) (or
nn.ConstantPad1d) directly before an nn.Conv1d with padding=0. A subclass of a mapped module that
overrides nothing but forward (e.g. a GRU whose forward keeps the output, or a Conv1d that pads
before calling super().forward) is traced: its call of the base class's forward becomes the step.
"""

import dis
import inspect
import operator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from .network import (ACTIVATIONS, IDENTITY, BatchNorm, Builder, Convolution, Dense, Dropout, ExportError, Flatten,
                      Gated, GlobalAvgPool, LayerNorm, Merge, Pool, Recurrent, Slice, Tensor, channels, elu,
                      fold_batch_norm, from_torch_shape, leaky_relu, size, torch_shape_text)

# ---- the chain -----------------------------------------------------------------------------------


def module_text(m):
    cls = type(m)
    prefix = "nn." if cls.__module__.startswith("torch.nn") else cls.__module__ + "."
    # A subclass of a mapped module shows its base's settings (nn.GRU's sizes, a Conv1d's kernel).
    extra = m.extra_repr() if cls.__module__.startswith("torch.nn") or _mapped_base(cls) else ""
    return f"{prefix}{cls.__qualname__}({extra})"


class Step:
    """One call in the model's forward, on the value the step before computed."""

    def __init__(self, kind, path, target, args=(), kwargs=None, module_type=None):
        self.kind = kind        # "module", "function" or "method"
        self.path = path        # the module's qualified name, or the torch.fx node's name
        self.target = target    # the module, the function, or the method's name
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        # The type whose table entry maps a module: its own, or for a traced subclass (its call of
        # super().forward) the mapped base class.
        self.module_type = module_type or (type(target) if kind == "module" else None)
        self.torch_in = self.torch_out = None  # per-sample shapes, PyTorch's order

    def label(self):
        if self.kind == "module":
            if self.module_type is not type(self.target):
                return f"'{self.path}' {module_text(self.target)} (its nn.{self.module_type.__name__}.forward)"
            return f"'{self.path}' {module_text(self.target)}"
        if self.kind == "function" and self.target is operator.getitem and self.args:
            return f"indexing [{_index_text(self.args[0])}] at node '{self.path}'"
        if self.kind == "function":
            name = getattr(self.target, "__name__", str(self.target))
            module = getattr(self.target, "__module__", None) or "torch"
            module = "operator" if module == "_operator" else module  # a + b, a * b
            return f"{module}.{name}(...) at node '{self.path}'"
        return f"Tensor.{self.target}(...) at node '{self.path}'"

    def what(self):
        return {"module": "module", "function": "function call", "method": "method call"}[self.kind]


def _index_text(index):
    """An index as Python writes it: [:, -1], [0]."""
    def one(i):
        if isinstance(i, slice):
            text = ":".join("" if v is None else str(v) for v in (i.start, i.stop))
            return text + (f":{i.step}" if i.step is not None else "")
        return "..." if i is Ellipsis else repr(i)
    return ", ".join(one(i) for i in index) if isinstance(index, tuple) else one(index)


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
    """x.size(0), x.shape, x.shape[0], and arithmetic on them (x.shape[-1] // 2): values read from a
    tensor's shape (for a view, or the bounds of a slice: _GraphMapper.channel_slice)."""
    if node.op == "call_method" and node.target in ("size", "dim"):
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1:] == ("shape",):
        return True
    if node.op == "call_function" and node.target in _SIZE_ARITHMETIC:
        return bool(node.all_input_nodes) and all(a in size_nodes for a in node.all_input_nodes)
    return node.op == "call_function" and node.target is operator.getitem and node.args[0] in size_nodes


_SIZE_ARITHMETIC = (operator.floordiv, operator.mul, operator.add, operator.sub, operator.neg)


# What a subclass of a mapped module may define besides forward and still be traced: its forward
# then calls the base class's forward, which computes exactly what the table maps.
_HARMLESS_OVERRIDES = {"forward", "__init__", "__module__", "__qualname__", "__doc__", "__annotations__", "__dict__",
                       "__weakref__", "__firstlineno__", "__static_attributes__", "__classcell__", "extra_repr",
                       "__orig_bases__", "__parameters__"}


def _mapped_base(cls):
    """The mapped module type that cls strictly derives from (nn.GRU for a subclass of nn.GRU), or None."""
    if cls in MODULES or any(issubclass(cls, t) for t in UNSUPPORTED):
        return None
    return next((c for c in cls.__mro__[1:] if c in MODULES), None)


def _overrides(cls, base):
    """What cls (or a class between it and base) defines besides forward, __init__ and the like."""
    names = set()
    for c in cls.__mro__:
        if c is base:
            break
        names |= {n for n in vars(c) if n not in _HARMLESS_OVERRIDES}
    return sorted(names)


def _traced_base(m):
    """The base class whose forward a traced subclass calls, for a subclass that overrides only forward."""
    base = _mapped_base(type(m))
    return base if base is not None and not _overrides(type(m), base) else None


class _Proxy(torch.fx.Proxy):
    """torch.fx's Proxy with the unpacking of a traced value (`out, _ = rnn(x)`, `_, (h, c) =
    lstm(x)`) found on Python 3.11 too: torch.fx 1.13 looks the UNPACK_SEQUENCE instruction up at
    index f_lasti // 2, which the inline caches of 3.11 shift; the instruction at offset f_lasti is
    the one that runs."""

    def __iter__(self):
        frame = inspect.currentframe().f_back
        instruction = next((i for i in dis.get_instructions(frame.f_code) if i.offset == frame.f_lasti), None)
        if instruction is not None and instruction.opname == "UNPACK_SEQUENCE":
            return (self[i] for i in range(instruction.argval))
        return self.tracer.iter(self)


class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer, which keeps subclasses of the refused module types (and subclasses of mapped
    ones that override more than forward) whole, so that they are refused by name instead of traced
    into; traces the forward of a subclass of a mapped module with its base class's forward as one
    call_module node (node.meta["hinge_base_forward"] = the base); and unpacks tuples (_Proxy)."""

    def is_leaf_module(self, m, qualified_name):
        if _traced_base(m) is not None:
            return False
        return super().is_leaf_module(m, qualified_name) or isinstance(m, tuple(MODULES) + tuple(UNSUPPORTED))

    def call_module(self, m, forward, args, kwargs):
        base = _traced_base(m)
        if base is None:
            return super().call_module(m, forward, args, kwargs)
        path, tracer = self.path_of_module(m), self
        own, original = "forward" in vars(base), base.forward

        def base_forward(module, *a, **k):
            if module is not m:
                return original(module, *a, **k)
            proxy = tracer.create_proxy("call_module", path, a, k)
            proxy.node.meta["hinge_base_forward"] = base
            return proxy

        base.forward = base_forward  # while m's own forward runs; the class is restored below
        try:
            return forward(*args, **kwargs)
        finally:
            if own:
                base.forward = original
            else:
                del base.forward

    def proxy(self, node):
        return _Proxy(node, self)


def steps_of_fx(model):
    try:
        tracer = _Tracer()
        graph_module = torch.fx.GraphModule(model, tracer.trace(model))
        # Values computed and never used (the `_` of `out, _ = rnn(x)`) are not part of the chain.
        graph_module.graph.eliminate_dead_code()
        graph_module.recompile()
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001 (torch.fx raises many kinds)
        raise ExportError(f"the model ({module_text(model)}) is not a plain nn.Sequential, and torch.fx cannot trace "
                          f"its forward: {type(e).__name__}: {e}. The exporter maps nn.Sequential models and models "
                          "whose forward torch.fx traces into a chain of the supported modules and functions") from None
    graph = _graph_of(graph_module, list(graph_module.graph.nodes))
    if _is_chain(graph):
        return graph_module, graph.steps, None
    return graph_module, graph.steps, graph


class _Graph:
    """A traced forward: its steps in the order they run, its inputs and its result. A chain when
    each step reads the step before alone (_is_chain); otherwise mapped by map_graph."""

    def __init__(self, steps, inputs, result, size_nodes):
        self.steps, self.inputs, self.result, self.size_nodes = steps, inputs, result, size_nodes
        self.input = inputs[0] if inputs else None


def _step_of_node(graph_module, node):
    if node.op == "call_module":
        step = Step("module", node.target, graph_module.get_submodule(node.target), node.args[1:], node.kwargs,
                    node.meta.get("hinge_base_forward"))
    else:
        kind = "function" if node.op == "call_function" else "method"
        step = Step(kind, node.name, node.target, node.args[1:], node.kwargs)
    step.node = node
    return step


def _graph_of(graph_module, nodes):
    size_nodes, steps, result = set(), [], None
    for node in nodes:
        if node.op == "placeholder":
            continue
        if node.op == "output":
            result = node.args[0]
            break
        if node.op == "get_attr":
            raise ExportError(f"the forward reads the tensor '{node.target}' itself (node '{node.name}'); the exporter "
                              "maps calls of modules and functions on the running value only")
        if _is_size_node(node, size_nodes):
            size_nodes.add(node)
            continue
        steps.append(_step_of_node(graph_module, node))
    if not isinstance(result, torch.fx.Node):
        raise ExportError(f"the forward returns {result!r}; a hinge network has one output, a tensor")
    return _Graph(steps, [n for n in nodes if n.op == "placeholder"], result, size_nodes)


def _is_chain(graph):
    """Every step takes the step before's value alone (x * x and x * 2 are binary operations: not a chain)."""
    if len(graph.inputs) != 1:
        return False
    current = graph.input
    for step in graph.steps:
        node = step.node
        operands = [a for a in node.all_input_nodes if a not in graph.size_nodes]
        if not node.args or node.args[0] is not current or operands != [current] or \
                (step.kind, step.target) in GRAPH_OPERATIONS or \
                len([u for u in current.users if u not in graph.size_nodes]) > 1:
            return False
        current = node
    return graph.result is current


class _ShapeRecorder(torch.fx.Interpreter):
    def run_node(self, n):
        base = n.meta.get("hinge_base_forward")
        if base is not None:  # a traced subclass's call of its base class's forward
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            result = base.forward(self.module.get_submodule(n.target), *args, **kwargs)
        else:
            result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["hinge_shape"] = tuple(result.shape[1:])
        elif isinstance(result, int):
            n.meta["hinge_int"] = result  # a size, for the bounds of a slice
        return result


def record_shapes(model, steps, graph_module, input_shape, dtype, graph=None):
    """Runs the model once (eval mode, batch 2) so that every step knows PyTorch's shapes. A graph
    with several inputs: input_shape is a tuple of their shapes."""
    several = graph is not None and len(graph.inputs) > 1
    generator = torch.Generator().manual_seed(0)
    x = [torch.randn(2, *shape, dtype=dtype, generator=generator) for shape in input_shape] if several else \
        torch.randn(2, *input_shape, dtype=dtype, generator=generator)
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
                _ShapeRecorder(graph_module).run(*(x if several else [x]))
                previous = tuple(input_shape)
                placeholders = dict(zip(graph.inputs, input_shape if several else [input_shape])) if graph else {}
                for step in steps:
                    first = step.node.args[0] if step.node.args else None
                    if graph is not None:  # a graph: the step's first operand, not the step before
                        first = first if isinstance(first, torch.fx.Node) else None  # torch.cat's list
                        previous = tuple(placeholders[first]) if first in placeholders else \
                            first.meta.get("hinge_shape") if first is not None else None
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

    def __init__(self, builder, dtype, order="channels_first"):
        self.builder, self.dtype, self.notes = builder, dtype, []
        self.pending_global_pool = None  # an AdaptiveAvgPool(1) step waiting for its Flatten
        # PyTorch's layout of the running value when it is a sequence: "channels_first" [N, C, L]
        # (what nn.Conv1d reads) or "channels_last" [N, L, C] (nn.GRU with batch_first, nn.Linear).
        self.order = order
        self.pending_pad = None       # (step, zeros before) of an F.pad waiting for its nn.Conv1d
        # What the running value is after an nn.GRU / nn.LSTM step: "tuple" (output, state),
        # "state" (h_n, or LSTM's (h_n, c_n): "state_pair"), "h" (h_n of LSTM), "output" (the
        # output of every step, directly after the layer), or None.
        self.recurrent_value = None
        self.recurrent_step = None    # that nn.GRU / nn.LSTM step, and its number of layers
        self.recurrent_layers = 0
        self.stacked = None           # the multi-layer nn.GRU / nn.LSTM mapped (one per model)
        # After Flatten of a [N, L, C] sequence: PyTorch flattened it as l * C + c, and hinge's files
        # order the columns of the next Linear (and the tensors of a BatchNorm1d or PReLU between)
        # as PyTorch's Flatten of [N, C, L] would, c * L + l (io::tensor_table): element k of those
        # tensors is PyTorch's element column_order[k].
        self.column_order = None
        self.flattened_input = None   # hinge's shape of the input when the model flattens it first
        self.called = set()           # the paths of the modules mapped so far

    def hinge_shape(self, torch_shape):
        """PyTorch's per-sample shape in hinge's order, with the current layout for sequences."""
        if len(torch_shape) == 2 and self.order == "channels_last":
            return tuple(int(d) for d in torch_shape)
        return from_torch_shape(torch_shape)

    def order_text(self):
        return "[N, C, L]" if self.order == "channels_first" else "[N, L, C]"

    def in_columns(self, t, dim):
        """t with its dimension dim in hinge's file order after a Flatten of [N, L, C] (see column_order)."""
        if self.column_order is None or t.shape[dim] == 1:
            return t
        return t.index_select(dim, torch.tensor(self.column_order))

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
    if len(mapping.builder.shape) == 2 and mapping.order == "channels_first":
        raise unsupported(step, "nn.Linear acts on the last dimension, which is the length L of this [N, C, L] "
                                "sequence, and hinge's dense on a sequence acts on the channels of every step; "
                                "transpose it to [N, L, C] first (x.transpose(1, 2))")
    bias = m.bias if m.bias is not None else torch.zeros(m.out_features)
    if m.bias is None:
        mapping.notes.append(f"{step.label()} has no bias; hinge's dense always has one, written as zeros (the same "
                             "function; training in hinge would learn it)")
    weight = mapping.in_columns(m.weight, 1)
    mapping.column_order = None
    mapping.layer(step, Dense(m.out_features), {"weight": mapping.tensor(weight), "bias": mapping.tensor(bias)})


def _convolution(m, step, mapping, rank):
    # groups > 1 (grouped, depthwise): hinge's Groups, with PyTorch's weight [F, C / G, K(, K)] as it is.
    if m.padding_mode != "zeros":
        raise unsupported(step, f"padding_mode='{m.padding_mode}': hinge pads with zeros only")
    kernel = single(m.kernel_size, step, "kernel_size")
    stride = single(m.stride, step, "stride")
    dilation = single(m.dilation, step, "dilation")
    shape = mapping.builder.shape
    if len(shape) != rank + 1:
        raise unsupported(step, f"it receives the shape {torch_shape_text(shape)}, and hinge's conv{rank}d needs "
                                f"{'an image [C, H, W]' if rank == 2 else 'a sequence [C, L]'}")
    if rank == 1:
        _expect_channels_first(step, mapping)
    bias = m.bias if m.bias is not None else torch.zeros(m.out_channels)
    tensors = {"weight": mapping.tensor(m.weight), "bias": mapping.tensor(bias)}
    if mapping.pending_pad is not None:
        # F.pad(x, ((K - 1) * D, 0)) directly before: hinge's padding::causal, if that is the padding.
        pad_step, left = mapping.pending_pad
        mapping.pending_pad = None
        span = (kernel - 1) * dilation
        problems = [f"padding={m.padding}"] if m.padding not in ("valid", 0, (0,)) else []
        if stride != 1:
            problems.append(f"stride={stride}")
        if left != span:
            problems.append(f"{left} zeros before the sequence where (kernel_size - 1) * dilation is {span}")
        if problems:
            raise unsupported(step, f"after {pad_step.label()} it is a causal convolution only with padding=0, "
                                    f"stride 1 and (kernel_size - 1) * dilation zeros before the sequence, and it has "
                                    f"{', '.join(problems)}")
        if m.bias is None:
            mapping.notes.append(f"{step.label()} has no bias; written as zeros (hinge's convolutions always have one)")
        mapping.builder.add_layer(Convolution(1, m.out_channels, kernel, 1, "causal", dilation, m.groups),
                                  f"{pad_step.label()} + {step.label()}", tensors)
        return
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
        candidate = Convolution(rank, m.out_channels, kernel, stride, padding, dilation, m.groups)
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
                                "kernel (same)" + ("; a causal convolution is F.pad(x, ((kernel-1)*dilation, 0)) "
                                                   "before an nn.Conv1d with padding=0" if rank == 1 else ""))
    if m.bias is None:
        mapping.notes.append(f"{step.label()} has no bias; written as zeros (hinge's convolutions always have one)")
    mapping.layer(step, found, tensors)


maps(nn.Conv1d)(lambda m, step, mapping: _convolution(m, step, mapping, 1))
maps(nn.Conv2d)(lambda m, step, mapping: _convolution(m, step, mapping, 2))


def _batch_norm(m, step, mapping, ranks):
    shape = mapping.builder.shape
    if len(shape) not in ranks:
        raise unsupported(step, f"it receives the shape {torch_shape_text(shape)}")
    if len(shape) == 2:
        _expect_channels_first(step, mapping)
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
        "scale": mapping.tensor(mapping.in_columns(scale, 0)), "shift": mapping.tensor(mapping.in_columns(shift, 0)),
        "running_mean": mapping.tensor(mapping.in_columns(m.running_mean, 0)),
        "running_variance": mapping.tensor(mapping.in_columns(m.running_var, 0)),
        "num_batches_tracked": int(m.num_batches_tracked) if m.num_batches_tracked is not None else 0})


maps(nn.BatchNorm1d)(lambda m, step, mapping: _batch_norm(m, step, mapping, (1, 2)))
maps(nn.BatchNorm2d)(lambda m, step, mapping: _batch_norm(m, step, mapping, (3,)))


@maps(nn.LayerNorm)
def _layer_norm(m, step, mapping):
    """nn.LayerNorm(C) on the last dimension, when that is hinge's channels: a vector [N, C] or a
    sequence held as [N, L, C] (the running layout says which). hinge's layer_norm normalises the C
    channels of every row; PyTorch's normalised_shape is the trailing dimensions it normalises over."""
    shape = mapping.builder.shape
    normalized = tuple(int(d) for d in m.normalized_shape)
    if not m.elementwise_affine or m.weight is None or getattr(m, "bias", None) is None:
        raise unsupported(step, "elementwise_affine=False (or bias=False): hinge's layer_norm has a learned scale and "
                                "shift; build the module with elementwise_affine=True (weight 1 and bias 0 compute "
                                "the same)")
    if len(shape) == 3:
        raise unsupported(step, f"it normalises the trailing dimensions {list(normalized)} of an image "
                                f"{torch_shape_text(shape)} (PyTorch's [C, H, W]), and hinge's layer_norm normalises "
                                "the C channels of each position; the exporter maps nn.LayerNorm(C) of a vector or of a "
                                "[N, L, C] sequence (per position of an image: write hinge's layer_norm after the "
                                "convolution by hand)")
    if len(shape) == 2 and mapping.order == "channels_first":
        raise unsupported(step, f"normalized_shape={list(normalized)} acts on the last dimension, which is the length "
                                "L of this [N, C, L] sequence, and hinge's layer_norm normalises the channels of every "
                                "step; transpose it to [N, L, C] first (x.transpose(1, 2))")
    if normalized != (channels(shape),):
        raise unsupported(step, f"normalized_shape={list(normalized)}: hinge's layer_norm normalises the "
                                f"{channels(shape)} channels of each {'step' if len(shape) == 2 else 'sample'} "
                                f"(nn.LayerNorm({channels(shape)}))")
    mapping.layer(step, LayerNorm(m.eps), {"scale": mapping.tensor(mapping.in_columns(m.weight, 0)),
                                           "shift": mapping.tensor(mapping.in_columns(m.bias, 0))})


def _pool(m, step, mapping, reduction, rank):
    if rank == 1:
        _expect_channels_first(step, mapping)
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
    if isinstance(m, nn.AdaptiveAvgPool1d):
        _expect_channels_first(step, mapping)
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
            mapping.flattened_input = builder.shape
            builder.input_shape = builder.shape = (size(builder.shape),)
        return
    if mapping.pending_global_pool is not None:
        pool, mapping.pending_global_pool = mapping.pending_global_pool, None
        mapping.builder.add_layer(GlobalAvgPool(), f"{pool.label()} + {step.label()}")
    else:
        shape = builder.shape
        if len(shape) == 2 and mapping.order == "channels_last":
            # PyTorch flattens [N, L, C] as l * C + c, which is hinge's own order; hinge's files hold
            # the next Linear's columns as PyTorch's Flatten of [N, C, L] orders them (c * L + l).
            length, width = shape
            mapping.column_order = [k % length * width + k // length for k in range(length * width)]
            mapping.notes.append(f"{step.label()} flattens a [N, L, C] sequence (l * C + c, hinge's own order): "
                                 "the columns of the next Linear are written in the order of hinge's files (those "
                                 "of a Flatten of [N, C, L]), so the file's tensors differ from the model's "
                                 "state_dict there")
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
    if m.num_parameters > 1 and len(mapping.builder.shape) == 2 and mapping.order == "channels_last":
        raise unsupported(step, "nn.PReLU's slopes apply to dimension 1, which is the length L of this [N, L, C] "
                                "sequence, and hinge's prelu has one slope per channel; use nn.PReLU() (one slope) "
                                "or transpose to [N, C, L]")
    slope = mapping.in_columns(m.weight.reshape(-1), 0)
    mapping.activation(step, ACTIVATIONS["prelu"], {"slope": mapping.tensor(slope, (c,))})


def _expect_channels_first(step, mapping):
    """nn.Conv1d, the 1-D pooling and BatchNorm1d read a sequence as [N, C, L]."""
    if len(mapping.builder.shape) == 2 and mapping.order == "channels_last":
        raise unsupported(step, "it reads a sequence as [N, C, L], and the value arriving here is [N, L, C] (as "
                                "nn.GRU and nn.Linear read it); transpose it first (x.transpose(1, 2))")


# ---- sequences ------------------------------------------------------------------------------------

@maps(nn.GRU, nn.LSTM)
def _recurrent(m, step, mapping):
    cell = "gru" if isinstance(m, nn.GRU) else "lstm"
    name = type(m).__name__ if step.module_type is type(m) else step.module_type.__name__
    problems = []
    if not m.batch_first:
        problems.append("batch_first=False: hinge's sequences are [N, L, C], PyTorch's batch_first=True (the weights "
                        f"are the same: build the module with nn.{name}(..., batch_first=True), or set its "
                        "batch_first = True before exporting, and feed it [N, L, C])")
    if m.bidirectional:
        problems.append("bidirectional=True: hinge's recurrent layers run forward in time only (a bidirectional "
                        "layer also reads the future, which a stream cannot)")
    if getattr(m, "proj_size", 0):
        problems.append(f"proj_size={m.proj_size}: hinge's lstm has no projection of h")
    if m.dropout and m.num_layers > 1:
        problems.append(f"dropout={m.dropout} between its {m.num_layers} layers: hinge stacks recurrent layers "
                        "without dropout (in eval mode PyTorch applies none either: set the module's dropout to 0 "
                        "before exporting, or stack num_layers=1 modules with nn.Dropout between them)")
    if any(a is not None for a in step.args) or step.kwargs:
        problems.append("it is called with an initial state; hinge's layers start from zeros (a hinge::stream "
                        "or a workspace with carry_state continues from where it stopped)")
    if problems:
        raise unsupported(step, "; ".join(problems))
    if mapping.builder.stages and len(mapping.builder.shape) == 2 and mapping.order == "channels_first":
        raise unsupported(step, f"with batch_first=True nn.{name} reads [N, L, C], and the value arriving here is "
                                "[N, C, L] (as nn.Conv1d writes it); transpose it first (x.transpose(1, 2))")
    if m.num_layers > 1:
        if mapping.stacked is not None:
            raise unsupported(step, f"it is the second multi-layer recurrent module (after {mapping.stacked.label()}); "
                                    "hinge names the tensors of one multi-layer module per file "
                                    "(io::multilayer_recurrent_names): build the others from num_layers=1 modules "
                                    "(the same network)")
        mapping.stacked = step
    if m.bias:
        biases = None
    else:
        biases = torch.zeros(m.weight_ih_l0.shape[0])
        mapping.notes.append(f"{step.label()} has bias=False; hinge's {cell} always has both bias vectors, written as "
                             "zeros (the same function; training in hinge would learn them)")
    for k in range(m.num_layers):
        tensors = {"weight_ih": mapping.tensor(getattr(m, f"weight_ih_l{k}")),
                   "weight_hh": mapping.tensor(getattr(m, f"weight_hh_l{k}")),
                   "bias_ih": mapping.tensor(getattr(m, f"bias_ih_l{k}") if m.bias else biases),
                   "bias_hh": mapping.tensor(getattr(m, f"bias_hh_l{k}") if m.bias else biases)}
        origin = step.label() + (f" layer {k}" if m.num_layers > 1 else "")
        stage = mapping.builder.add_layer(Recurrent(cell, m.hidden_size), origin, tensors)
        stage.torch_layer = k
    mapping.order = "channels_last"
    mapping.recurrent_step, mapping.recurrent_layers = step, m.num_layers
    mapping.recurrent_value = "tuple"


def _take_last_step(step, mapping):
    """The recurrent stage just mapped returns its last step only: hinge's returns::last_step."""
    stage = mapping.builder.stages[-1]
    stage.layer = Recurrent(stage.layer.cell, stage.layer.hidden, "last_step")
    stage.output_shape = mapping.builder.shape = stage.layer.output_shape(stage.input_shape)
    stage.origin += f" + {step.label()}"
    mapping.recurrent_value = None


_ALL = slice(None, None, None)


def _getitem(step, mapping):
    """Indexing: the parts of a recurrent layer's (output, state), and its last step."""
    index = step.args[0] if step.args else None
    value, rnn = mapping.recurrent_value, mapping.recurrent_step
    lstm = rnn is not None and isinstance(rnn.target, nn.LSTM)
    what = f"{rnn.label()}'s" if rnn is not None else "a recurrent layer's"
    if value == "tuple" and index in (0, 1):
        mapping.recurrent_value = "output" if index == 0 else ("state_pair" if lstm else "state")
        return
    if value == "state_pair" and index == 0:
        mapping.recurrent_value = "state"
        return
    if value == "state_pair" and index == 1:
        raise unsupported(step, f"it takes {what} cell state c_n, and hinge's lstm outputs its hidden state h (the "
                                "output, or h_n)")
    if value == "state" and (index == -1 or (index == 0 and mapping.recurrent_layers == 1)
                             or index == mapping.recurrent_layers - 1):
        return _take_last_step(step, mapping)  # h_n[-1]: the last layer's state after the last step
    if value == "output" and isinstance(index, tuple) and len(index) in (2, 3) and index[0] == _ALL and \
            index[1] == -1 and index[2:] in ((), (_ALL,), (Ellipsis,)):
        return _take_last_step(step, mapping)  # output[:, -1]
    if value == "state":
        raise unsupported(step, f"it indexes {what} h_n [num_layers, N, H] with [{_index_text(index)}]; hinge maps "
                                "h_n[-1] (the last layer after the last step: returns::last_step)")
    if value == "output":
        raise unsupported(step, f"it indexes {what} output with [{_index_text(index)}]; hinge maps output[:, -1] (the "
                                "last step: returns::last_step) or the whole output")
    raise unsupported(step, f"indexing with [{_index_text(index)}]: the exporter maps indexing only on what nn.GRU "
                            "and nn.LSTM return (output, _ = rnn(x), rnn(x)[0], output[:, -1], h_n[-1])")


def _squeeze(step, mapping):
    if mapping.recurrent_value == "state" and mapping.recurrent_layers == 1 and tuple(step.args) in ((0,), ()):
        return _take_last_step(step, mapping)  # h_n.squeeze(0) of a one-layer module
    raise unsupported(step, "squeeze maps only as h_n.squeeze(0) of a one-layer nn.GRU / nn.LSTM")


def _transpose(step, mapping):
    """x.transpose(1, 2), x.permute(0, 2, 1), torch.transpose(x, 1, 2) of a sequence: no hinge layer
    (its sequences are always <L, C>), only the layout in which PyTorch holds the running value."""
    if step.kind == "method" and step.target == "permute":
        dims = tuple(step.args[0]) if len(step.args) == 1 and isinstance(step.args[0], (tuple, list)) \
            else tuple(step.args)
        swaps = len(dims) == 3 and all(isinstance(d, int) for d in dims) and [d % 3 for d in dims] == [0, 2, 1]
    else:
        dims = tuple(step.args) if step.args else (step.kwargs.get("dim0"), step.kwargs.get("dim1"))
        swaps = len(dims) == 2 and all(isinstance(d, int) for d in dims) and sorted(d % 3 for d in dims) == [1, 2]
    if len(step.torch_in or ()) != 2 or not swaps:
        raise unsupported(step, f"it permutes the dimensions {list(dims)} of a value of shape "
                                f"{list(step.torch_in or ())} (without the batch); the exporter maps only the "
                                "transpose of a sequence between [N, C, L] and [N, L, C] (transpose(1, 2), "
                                "permute(0, 2, 1)), which is no layer in hinge: its sequences are always <L, C>")
    mapping.order = "channels_last" if mapping.order == "channels_first" else "channels_first"


def _contiguous(step, mapping):
    pass  # the same values in another memory layout: nothing to map


def _pad(step, mapping, pad, mode="constant", value=0.0):
    """F.pad(x, ((K - 1) * D, 0)) before an nn.Conv1d: hinge's padding::causal (with the Conv1d)."""
    pad = tuple(pad) if isinstance(pad, (tuple, list)) else (pad,)
    if len(mapping.builder.shape) != 2 or mode != "constant" or value not in (0, 0.0) or len(pad) != 2 or \
            pad[1] != 0 or not isinstance(pad[0], int) or pad[0] < 0:
        raise unsupported(step, f"padding {list(pad)} (mode {mode!r}, value {value}) of a value of shape "
                                f"{torch_shape_text(mapping.builder.shape)}: the exporter maps padding only as the "
                                "causal padding of a sequence, zeros before it and none after ((K - 1) * D, 0), "
                                "directly before an nn.Conv1d with padding=0")
    _expect_channels_first(step, mapping)
    mapping.pending_pad = (step, pad[0])


def _pad_function(step, mapping):
    _pad(step, mapping, *step.args, **step.kwargs)


@maps(nn.ConstantPad1d)
def _constant_pad(m, step, mapping):
    _pad(step, mapping, m.padding, "constant", m.value)


# Steps that are no hinge layer but change how the running value is seen: (kind, target) -> mapper.
STEPS = {
    ("function", operator.getitem): _getitem,
    ("function", F.pad): _pad_function,
    ("function", torch.transpose): _transpose,
    ("method", "transpose"): _transpose,
    ("method", "permute"): _transpose,
    ("method", "contiguous"): _contiguous,
    ("method", "squeeze"): _squeeze,
}


# Modules hinge has no layer for, with what to do instead.
UNSUPPORTED = {
    nn.RNN: "hinge's recurrent layers are gru and lstm (nn.GRU, nn.LSTM), not the Elman RNN",
    nn.LSTMCell: "a cell called step by step in Python is not a layer the exporter can trace; use nn.LSTM "
                 "(batch_first=True: the same weights, weight_ih, weight_hh, bias_ih, bias_hh, with _l0)",
    nn.GRUCell: "a cell called step by step in Python is not a layer the exporter can trace; use nn.GRU "
                "(batch_first=True: the same weights, weight_ih, weight_hh, bias_ih, bias_hh, with _l0)",
    nn.Softmax: "hinge networks end in logits, and softmax belongs to the loss (hinge::loss::softmax_cross_entropy); "
                "export the model without it (e.g. model[:-1]) and apply softmax to hinge's output if you need "
                "probabilities",
    nn.LogSoftmax: "hinge networks end in logits; export the model without it (e.g. model[:-1])",
    nn.Dropout2d: "it drops whole channels, and hinge's dropout drops single values; use nn.Dropout",
    nn.AlphaDropout: "hinge's dropout is inverted dropout (nn.Dropout)",
    nn.GroupNorm: "hinge normalises with batch_norm (BatchNorm1d / BatchNorm2d) and layer_norm (nn.LayerNorm(C))",
    nn.InstanceNorm1d: "hinge normalises with batch_norm and layer_norm only",
    nn.InstanceNorm2d: "hinge normalises with batch_norm and layer_norm only",
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
    F.glu: lambda dim=-1: nn.GLU(dim),
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
    functions = sorted({getattr(f, "__name__", str(f)) for f in FUNCTIONS} | {"pad", "transpose"})
    methods = sorted(set(METHODS) | {t for k, t in STEPS if k == "method"} | {"view", "reshape"})
    return (f"The exporter maps the modules {', '.join(modules)} (AdaptiveAvgPool only as AdaptiveAvgPool(1) followed "
            f"by Flatten; GRU and LSTM with batch_first=True, taking their output or last step), the functions "
            f"{', '.join(functions)}, the tensor methods {', '.join(methods)} (view and reshape as flatten), "
            "indexing of what GRU and LSTM return, and in a forward that branches a + b, a * b, torch.cat, chunk, "
            "split and x[:, a:b] along the channels (docs/interop.md, docs/graphs.md)")


def check_kind(step):
    """Refuses a step whose kind of module or function no table maps, before anything runs (an
    nn.Embedding wants integers: running it would fail first)."""
    if step.kind == "module":
        m = step.target
        if step.module_type in MODULES:
            return
        if type(m) in UNSUPPORTED:
            raise unsupported(step, UNSUPPORTED[type(m)])
        base = next((t for t in list(MODULES) + list(UNSUPPORTED) if isinstance(m, t)), None)
        if base is not None:
            overrides = _overrides(type(m), base) if base in MODULES else []
            raise unsupported(step, f"it is a subclass of nn.{base.__name__}" + (
                f" that overrides {', '.join(overrides)}, so nn.{base.__name__}'s mapping may not be what it "
                "computes (a subclass that overrides only forward is traced: its forward may call "
                "super().forward)" if overrides else ", whose forward may differ, so it is not mapped as one"))
        raise unsupported(step, "hinge has no layer for this module")
    if (step.kind, step.target) in STEPS:
        return
    if step.kind == "method" and step.target in ("view", "reshape"):
        return
    if (FUNCTIONS if step.kind == "function" else METHODS).get(step.target) is None:
        raise unsupported(step, "hinge has no layer for this " + ("function" if step.kind == "function" else "method"))


def check_shape(step, mapping):
    """After a step, hinge's value has PyTorch's shape (unless the step left something pending)."""
    if mapping.pending_global_pool is None and mapping.pending_pad is None and step.torch_out is not None \
            and mapping.recurrent_value not in ("tuple", "state", "state_pair") and \
            mapping.hinge_shape(step.torch_out) != mapping.builder.shape:
        raise unsupported(step, f"PyTorch's value has the shape {list(step.torch_out)} after it, and hinge's "
                                f"would have {torch_shape_text(mapping.builder.shape)}"
                                + (f" (read as {mapping.order_text()})" if len(step.torch_out) == 2 else ""))


def map_step(step, mapping):
    if mapping.pending_global_pool is not None and not (
            (step.kind == "module" and type(step.target) is nn.Flatten) or step.kind != "module"):
        raise unsupported(mapping.pending_global_pool, "hinge's global_avg_pool is AdaptiveAvgPool(1) followed by "
                                                       f"Flatten, and {step.label()} follows it instead")
    if mapping.pending_pad is not None and not (step.kind == "module" and step.module_type is nn.Conv1d):
        raise unsupported(mapping.pending_pad[0], "padding maps only as the causal padding of the nn.Conv1d directly "
                                                  f"after it (hinge's padding::causal), and {step.label()} follows it")
    if mapping.recurrent_value in ("tuple", "state", "state_pair") and not (
            (step.kind, step.target) in (("function", operator.getitem), ("method", "squeeze"))):
        rnn = mapping.recurrent_step
        raise unsupported(step, f"it receives what {rnn.label()} returns, "
                                + ("(output, h_n)" if mapping.recurrent_value == "tuple" else "its state h_n")
                                + ", and the exporter maps taking the output (output, _ = rnn(x); rnn(x)[0]), its last "
                                "step (output[:, -1]) or h_n[-1]; in an nn.Sequential, put the module in one whose "
                                "forward returns self.rnn(x)[0] (docs/interop.md)")
    check_kind(step)
    if step.kind == "module" and step.path in mapping.called and any(True for _ in step.target.parameters()):
        mapping.notes.append(f"{step.label()} is called more than once: each call is a stage of its own, with a copy "
                             "of the module's parameters (training in hinge would train the copies apart)")
    if step.kind == "module":
        mapping.called.add(step.path)
    if mapping.recurrent_value == "output" and (step.kind, step.target) != ("function", operator.getitem):
        mapping.recurrent_value = None  # the output goes on: taking its last step is no longer hinge's
    if step.kind == "module":
        if step.module_type not in (nn.GRU, nn.LSTM) and (any(a is not None for a in step.args) or step.kwargs):
            raise unsupported(step, "it is called with further arguments; the exporter maps calls on the running "
                                    "value alone")
        return MODULES[step.module_type](step.target, step, mapping)
    if (step.kind, step.target) in STEPS:
        return STEPS[(step.kind, step.target)](step, mapping)
    if step.kind == "method" and step.target in ("view", "reshape"):
        return _map_reshape(step, mapping)
    factory = (FUNCTIONS if step.kind == "function" else METHODS)[step.target]
    try:
        module = factory(*step.args, **step.kwargs)
    except (TypeError, ValueError) as e:
        raise unsupported(step, str(e)) from None
    mapper = MODULES[type(module)]
    return mapper(module, step, mapping)


# ---- graphs ----------------------------------------------------------------------------------------
# A traced forward that branches is mapped node by node in the order it runs. Every node stands for
# a hinge value (_Value: the stage that makes it, 0 for the input, with PyTorch's layout of it and
# the mapping's state that travels with it, e.g. an F.pad waiting for its Conv1d); a layer reads the
# value of its operand (a from<> in the type when that is not the stage before), and the binary
# operations are hinge's merges, whose second operand is a named value (a tap<> where it is made).
# Pieces of the channels (chunk, split, x[:, a:b]) stay pending until they are used: two halves of
# one value through plain activations, multiplied, are one gated<A, B> stage; any other use is a
# slice<First, Count> stage.

ADDS = {("function", operator.add), ("function", torch.add), ("method", "add")}
MULTIPLIES = {("function", operator.mul), ("function", torch.mul), ("method", "mul")}
CATS = {("function", torch.cat)} | ({("function", torch.concat)} if hasattr(torch, "concat") else set())
CHUNKS = {("function", torch.chunk), ("method", "chunk"), ("function", torch.split), ("method", "split")}
GRAPH_OPERATIONS = ADDS | MULTIPLIES | CATS | CHUNKS
# The plain element-wise activations a gate may apply to its halves (layers/gated.hpp).
_GATE_ACTIVATIONS = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.ReLU: "relu", nn.SiLU: "silu", nn.SELU: "selu",
                     nn.ReLU6: "relu6", nn.Hardswish: "hard_swish"}


class _Value:
    """What an fx node is in hinge: the value of source (index + 1 of its stage, 0: the input), in
    PyTorch's layout `order`, made by that stage as it was at `version` (fusing an activation into
    a stage, or taking its last step, changes the value it makes), and the mapping's pending state."""

    def __init__(self, source, order, version, state):
        self.source, self.order, self.version, self.state = source, order, version, state


class _Pieces:
    """chunk / split: the channel ranges [(first, count)] of `base` (a node), nothing mapped yet."""

    def __init__(self, base, ranges):
        self.base, self.ranges = base, ranges


class _Piece:
    """Channels first .. first + count - 1 of `base`, with a plain activation applied to them
    (`activation`, from `activation_step`), nothing mapped yet."""

    def __init__(self, base, first, count, step, activation=None, activation_step=None):
        self.base, self.first, self.count, self.step = base, first, count, step
        self.activation, self.activation_step = activation, activation_step


_STATE = ("pending_global_pool", "pending_pad", "recurrent_value", "recurrent_step", "recurrent_layers", "column_order")


def _state(mapping):
    return {k: getattr(mapping, k) for k in _STATE}


def _channel_dim(shape, order):
    """PyTorch's dimension (with the batch) of the channels of a value of hinge shape `shape`."""
    return 2 if len(shape) == 2 and order == "channels_last" else 1


class _Input:
    """The forward's input, for messages; with several inputs, the key of the one hinge input."""

    def __init__(self, node=None):
        self.node = node

    def what(self):
        return "forward's"  # "cannot map the forward's input 'knob': ..."

    def label(self):
        return f"input '{self.node.name}'" if self.node is not None else "input"


class _GraphMapper:
    def __init__(self, graph, mapping, input_order, input_channels=None):
        self.graph, self.mapping, self.builder = graph, mapping, mapping.builder
        if input_channels is None:
            self.values = {graph.input: _Value(0, input_order, 0, _state(mapping))}
        else:
            # Several inputs are the channels of hinge's one input, side by side: each a slice of it.
            self.whole = _Input()
            self.values = {self.whole: _Value(0, input_order, 0, _state(mapping))}
            for node, first, count in input_channels:
                self.values[node] = _Piece(self.whole, first, count, _Input(node))
        self.versions = {}  # source -> how often its stage changed its value
        self.done = set()  # nodes mapped with an earlier one (the add of a FiLM, and its beta)
        self.steps = {step.node: step for step in graph.steps}

    def users(self, node):
        return [u for u in node.users if u not in self.graph.size_nodes]

    def refuse(self, step, reason):
        return unsupported(step, reason)

    # -- values --

    def value(self, node, step):
        """The concrete value of node, read by step: a pending piece becomes its slice stage here."""
        if not isinstance(node, (torch.fx.Node, _Input)) or node not in self.values:
            raise self.refuse(step, f"it reads {node!r}, which is not a value the model computed from its input (a "
                                    "constant or a tensor of its own); hinge's layers read the network's values only")
        v = self.values[node]
        if isinstance(v, _Pieces):
            raise self.refuse(step, f"it takes the tuple of pieces '{node.name}' as it is; the exporter maps the "
                                    "pieces of chunk / split taken one by one (a, b = x.chunk(2, dim=1))")
        if isinstance(v, _Piece):
            v = self.values[node] = self.materialize(v)
        if self.versions.get(v.source, 0) != v.version:
            stage = self.builder.stages[v.source - 1]
            changer = stage.activation_origin or stage.origin
            raise self.refuse(step, f"it reads the value '{node.name}' as it was before {changer} changed it; hinge "
                                    "fuses an activation (or the last step of a recurrent layer) into the stage that "
                                    "makes the value, so the value without it is not kept: read the activation's "
                                    "result, or put the activation after a layer of its own branch")
        return v

    def use(self, node, step):
        """Makes node's value the one the next layer reads, with its layout and pending state."""
        v = self.value(node, step)
        self.builder.use(v.source)
        self.mapping.order = v.order
        for k, x in v.state.items():
            setattr(self.mapping, k, x)
        if self.mapping.recurrent_value in ("tuple", "state", "state_pair") and len(self.users(node)) > 1:
            readers = ", ".join(u.name for u in self.users(node))
            raise self.refuse(step, f"what '{node.name}' returns is read by {readers}; the exporter maps one use of "
                                    "what a recurrent layer returns")
        if self.mapping.recurrent_value == "output" and len(self.users(node)) > 1:
            self.mapping.recurrent_value = None  # taking its last step would change what the others read
        return v

    def record(self, node, made_stage=False):
        """node's value is what the mapping has just made (the builder's current value); made_stage:
        a merge, gate or slice stage, after which no recurrent layer's output is pending."""
        if made_stage:
            self.mapping.recurrent_value = None
        source = self.builder.current
        self.values[node] = _Value(source, self.mapping.order, self.versions.get(source, 0), _state(self.mapping))

    def clean(self, step, node):
        """A merge reads values, not pending states (an F.pad waiting for its Conv1d, an RNN's tuple)."""
        v = self.value(node, step)
        if v.state["pending_pad"] or v.state["pending_global_pool"] or v.state["column_order"] is not None or \
                v.state["recurrent_value"] in ("tuple", "state", "state_pair"):
            raise self.refuse(step, f"it combines '{node.name}', which is no value hinge keeps (a padding waiting "
                                    "for its Conv1d, AdaptiveAvgPool waiting for its Flatten, a Flatten of [N, L, C] "
                                    "waiting for its Linear, or what a recurrent layer returns as a whole)")
        return v

    # -- steps --

    def map(self, step):
        node, key = step.node, (step.kind, step.target)
        if node in self.done:
            return
        if key in ADDS or key in MULTIPLIES:
            return self.binary(step, "add" if key in ADDS else "multiply")
        if key in CATS:
            return self.cat(step)
        if key in CHUNKS:
            return self.chunk(step)
        first = node.args[0] if node.args else None
        operands = [a for a in node.all_input_nodes if a not in self.graph.size_nodes]
        if not isinstance(first, torch.fx.Node) or operands != [first]:
            others = [a.name for a in operands if a is not first]
            raise self.refuse(step, f"it reads {', '.join(others) if others else 'no value of the model'} "
                                    "besides its first argument; the exporter maps layers of one value, and the "
                                    "binary operations +, *, torch.cat and the gate of chunk / split halves")
        pending = self.values.get(first)
        piece = self.piece(step)
        if piece is not None:
            self.values[node] = piece
            return
        if isinstance(pending, _Piece) and pending.activation is None and len(self.users(first)) == 1:
            activation = _plain_activation(step)
            if activation is not None:  # kept pending: it may be half of a gate
                self.values[node] = _Piece(pending.base, pending.first, pending.count, pending.step, activation, step)
                return
        self.use(first, step)
        stages, last = len(self.builder.stages), self._signature()
        map_step(step, self.mapping)
        if len(self.builder.stages) == stages and self.builder.current == stages and self._signature() != last:
            self.versions[stages] = self.versions.get(stages, 0) + 1  # the same stage now makes another value
        check_shape(step, self.mapping)
        self.record(node)

    def _signature(self):
        if not self.builder.stages:
            return None
        s = self.builder.stages[-1]
        return (s.layer, s.activation, s.output_shape)

    def binary(self, step, kind):
        node = step.node
        symbol = "+" if kind == "add" else "*"
        if step.kind == "function" and step.target is torch.add and node.kwargs.get("alpha", 1) != 1:
            raise self.refuse(step, f"alpha={node.kwargs['alpha']}: hinge's add adds the two values as they are")
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
        if not isinstance(a, torch.fx.Node) or not isinstance(b, torch.fx.Node):
            raise self.refuse(step, f"it computes {_operand_text(a)} {symbol} {_operand_text(b)}: hinge has no layer "
                                    f"for this function with a constant operand; its {kind}<\"x\"> combines two values "
                                    "of the model")
        # Two halves of one value through plain activations, multiplied: WaveNet's gate; the first
        # half times a value, plus the second half: FiLM.
        if kind == "multiply" and (self.gate(step, a, b) or self.film(step, a, b) or self.film(step, b, a)):
            return
        va, vb = self.clean(step, a), self.clean(step, b)
        if va.source == vb.source:
            # core/plan.hpp, check_distinct_inputs: the gradients of both reads would go to one place.
            raise self.refuse(step, f"it computes '{a.name}' {symbol} '{b.name}', one value with itself, and hinge's "
                                    f"{kind}<\"x\"> reads two different values")
        shapes = [a.meta.get("hinge_shape"), b.meta.get("hinge_shape"), node.meta.get("hinge_shape")]
        if shapes[0] != shapes[1]:
            raise self.refuse(step, f"it computes '{a.name}' {symbol} '{b.name}' of the shapes {list(shapes[0] or ())} "
                                    f"and {list(shapes[1] or ())} (PyTorch broadcasts them), and hinge's {kind} "
                                    "combines two values of the same shape element by element")
        if len(shapes[0] or ()) == 2 and va.order != vb.order:
            raise self.refuse(step, f"it combines '{a.name}', held as {_order_text(va.order)}, with '{b.name}', held "
                                    f"as {_order_text(vb.order)}: PyTorch pairs their elements across the two layouts; "
                                    "transpose one of them first")
        if vb.source == len(self.builder.stages) and va.source != vb.source:
            a, b, va, vb = b, a, vb, va  # the value just made is the current one: no from<> needed
        self.use(a, step)
        self.builder.add_merge(Merge(kind), vb.source, step.label())
        self.mapping.order = va.order
        self.record(node, made_stage=True)

    def cat(self, step):
        node = step.node
        tensors = node.args[0] if node.args else node.kwargs.get("tensors")
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        if not isinstance(tensors, (list, tuple)) or len(tensors) < 2 or \
                not all(isinstance(t, torch.fx.Node) for t in tensors):
            raise self.refuse(step, "it concatenates something else than two or more values of the model; hinge's "
                                    "concat<\"x\"> joins values of the model along the channels")
        values = [self.clean(step, t) for t in tensors]
        shape = self.builder.shape_of(values[0].source)
        channel = _channel_dim(shape, values[0].order)
        rank = len(shape) + 1
        if not isinstance(dim, int) or dim % rank != channel:
            raise self.refuse(step, f"it concatenates along dim={dim}, and hinge's concat joins values along the "
                                    f"channels, dim={channel} of these {_order_text(values[0].order, len(shape))} "
                                    "values")
        for t, v in zip(tensors[1:], values[1:]):
            if len(shape) == 2 and v.order != values[0].order:
                raise self.refuse(step, f"it concatenates '{t.name}', held as {_order_text(v.order)}, with "
                                        f"'{tensors[0].name}', held as {_order_text(values[0].order)}")
        self.use(tensors[0], step)
        for t, v in zip(tensors[1:], values[1:]):
            self.builder.add_merge(Merge("concat"), v.source, step.label())
        self.mapping.order = values[0].order
        self.record(node, made_stage=True)

    def chunk(self, step):
        node = step.node
        first = node.args[0]
        v = self.clean(step, first)
        shape = self.builder.shape_of(v.source)
        c, channel, rank = channels(shape), _channel_dim(shape, v.order), len(shape) + 1
        split = step.target in (torch.split, "split")
        what = "split_size_or_sections" if split else "chunks"
        amount = node.args[1] if len(node.args) > 1 else node.kwargs.get("split_size_or_sections",
                                                                         node.kwargs.get("split_size",
                                                                                         node.kwargs.get("chunks")))
        dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0)
        if not isinstance(dim, int) or dim % rank != channel:
            raise self.refuse(step, f"it splits along dim={dim}, and hinge takes values apart along the channels only "
                                    f"(slice<First, Count>, gated<A, B>), dim={channel} of this "
                                    f"{_order_text(v.order, len(shape))} value")
        if split and isinstance(amount, (list, tuple)) and all(isinstance(n, int) for n in amount):
            sizes = list(amount)
        elif isinstance(amount, int) and amount > 0:
            each = amount if split else -(-c // amount)
            sizes = [min(each, c - k) for k in range(0, c, each)]
        else:
            raise self.refuse(step, f"{what}={amount!r} is not a number the exporter can read")
        if sum(sizes) != c:
            raise self.refuse(step, f"the pieces {sizes} do not make the {c} channels")
        offsets = [sum(sizes[:k]) for k in range(len(sizes))]
        self.values[node] = _Pieces(first, list(zip(offsets, sizes)))

    def piece(self, step):
        """The pending piece that an indexing step takes (of chunk / split, or x[:, a:b]), or None."""
        node = step.node
        if (step.kind, step.target) != ("function", operator.getitem) or node.args[0] not in self.values:
            return None
        first, index = node.args[0], step.args[0] if step.args else None
        pending = self.values[first]
        if isinstance(pending, _Pieces):
            if not isinstance(index, int) or not -len(pending.ranges) <= index < len(pending.ranges):
                raise self.refuse(step, f"it indexes the pieces of '{first.name}' with [{_index_text(index)}]")
            first_channel, count = pending.ranges[index]
            return _Piece(pending.base, first_channel, count, step)
        if isinstance(pending, _Value) and pending.state["recurrent_value"] in (None, "output"):
            return self.channel_slice(step, first)
        return None

    def channel_slice(self, step, first):
        """x[:, a:b] (x[..., a:b] of [N, L, C]) on the channels: a pending piece, or None for other indexing."""
        index = step.args[0] if step.args else None
        v = self.values[first]
        shape = self.builder.shape_of(v.source)
        channel = _channel_dim(shape, v.order)
        parts = index if isinstance(index, tuple) else (index,)
        if Ellipsis in parts:
            k = parts.index(Ellipsis)
            parts = parts[:k] + (_ALL,) * (len(shape) + 2 - len(parts)) + parts[k + 1:]
        parts = parts + (_ALL,) * (len(shape) + 1 - len(parts))
        if len(parts) != len(shape) + 1 or any(p != _ALL for i, p in enumerate(parts) if i != channel):
            return None
        piece = parts[channel]
        if not isinstance(piece, slice) or piece.step not in (None, 1):
            return None
        given = (piece.start, piece.stop)
        bounds = [b.meta.get("hinge_int") if isinstance(b, torch.fx.Node) else b for b in given]
        if any(isinstance(b, torch.fx.Node) and v is None for b, v in zip(given, bounds)):
            return None
        piece = slice(*bounds)
        start, stop, _ = piece.indices(channels(shape))
        if stop <= start:
            return None
        return _Piece(first, start, stop - start, step)

    def gate(self, step, a, b):
        pa, pb = self.values.get(a), self.values.get(b)
        if not isinstance(pa, _Piece) or not isinstance(pb, _Piece) or pa.base is not pb.base:
            return False
        if pa.first > pb.first:
            pa, pb = pb, pa
        shape = self.builder.shape_of(self.value(pa.base, step).source)
        half = channels(shape) // 2
        if not (pa.first == 0 and pa.count == half and pb.first == half and pb.count == half and
                channels(shape) == 2 * half) or len(self.users(a)) != 1 or len(self.users(b)) != 1:
            return False
        self.clean(step, pa.base)
        self.use(pa.base, step)
        parts = [p.step.label() for p in (pa, pb)] + [p.activation_step.label() for p in (pa, pb) if p.activation_step]
        self.builder.add_layer(Gated(pa.activation or IDENTITY, pb.activation or IDENTITY),
                               f"{' + '.join(parts)} + {step.label()}")
        self.record(step.node, made_stage=True)
        return True

    def film(self, step, x, gamma):
        """gamma * x + beta with [gamma, beta] the halves of one value c: film<"c"> (layers/film.hpp);
        the add is mapped here too (self.done)."""
        node, pg = step.node, self.values.get(gamma)
        users = self.users(node)
        if not isinstance(pg, _Piece) or pg.activation is not None or len(self.users(gamma)) != 1 or \
                len(users) != 1 or (users[0].op, users[0].target) not in (("call_function", operator.add),
                                                                           ("call_function", torch.add),
                                                                           ("call_method", "add")) or \
                users[0].kwargs.get("alpha", 1) != 1 or len(users[0].args) != 2:
            return False
        add = users[0]
        beta = add.args[1] if add.args[0] is node else add.args[0]
        # beta is often taken after the product (film[..., :C] * x + film[..., C:]): its piece now.
        pb = self.values.get(beta, self.piece(self.steps[beta]) if beta in self.steps else None)
        if not isinstance(pb, _Piece) or pb.base is not pg.base or pb.activation is not None or \
                len(self.users(beta)) != 1 or x is pg.base:
            return False
        c = self.builder.shape_of(self.value(pg.base, step).source)
        half = channels(c) // 2
        if not (pg.first == 0 and pg.count == half and pb.first == half and pb.count == half and
                channels(c) == 2 * half) or x.meta.get("hinge_shape") != gamma.meta.get("hinge_shape"):
            return False
        vx, vc = self.clean(step, x), self.clean(step, pg.base)
        if vx.source == vc.source or (len(c) == 2 and vx.order != vc.order):
            return False
        self.use(x, step)
        parts = [pg.step.label(), pb.step.label(), step.label(), _step_of_node(None, add).label()]
        self.builder.add_merge(Merge("film"), vc.source, " + ".join(parts))
        self.mapping.order = vx.order
        self.record(node, made_stage=True)
        self.values[add] = self.values[node]
        self.done.update((add, beta))
        return True

    def materialize(self, piece):
        """A pending piece as a slice<First, Count> stage (and the activation after it)."""
        v = self.value(piece.base, piece.step)
        shape = self.builder.shape_of(v.source)
        if piece.first == 0 and piece.count == channels(shape) and piece.activation is None:
            return v  # all the channels: the value itself
        self.clean(piece.step, piece.base)
        self.use(piece.base, piece.step)
        self.builder.add_layer(Slice(piece.first, piece.count), piece.step.label())
        if piece.activation is not None:
            self.builder.add_activation(piece.activation, piece.activation_step.label())
        self.mapping.recurrent_value = None
        source = self.builder.current
        return _Value(source, v.order, self.versions.get(source, 0), _state(self.mapping))

    def finish(self):
        result = self.graph.result
        v = self.value(result, _ResultStep(result))
        if v.source != len(self.builder.stages) or v.source == 0:
            raise ExportError(f"the forward returns '{result.name}', which is not the last value it computes; hinge's "
                              "output is the output of its last stage")
        self.use(result, _ResultStep(result))


class _ResultStep:
    """The forward's result, for messages."""

    def __init__(self, node):
        self.node = node

    def what(self):
        return "result"

    def label(self):
        return f"'{self.node.name}' (what forward returns)"


def _operand_text(x):
    return f"'{x.name}'" if isinstance(x, torch.fx.Node) else repr(x)


def _order_text(order, rank=2):
    if rank != 2:
        return {1: "[N, C]", 3: "[N, C, H, W]"}.get(rank, "")
    return "[N, C, L]" if order == "channels_first" else "[N, L, C]"


def _plain_activation(step):
    """The hinge activation of a plain element-wise activation step (a gate's halves), or None."""
    if step.kind == "module":
        module = step.target
    else:
        factory = (FUNCTIONS if step.kind == "function" else METHODS).get(step.target)
        if factory is None:
            return None
        try:
            module = factory(*step.args, **step.kwargs)
        except (TypeError, ValueError):
            return None
    name = _GATE_ACTIVATIONS.get(type(module))
    return ACTIVATIONS[name] if name else None


def map_graph(graph, mapping, input_order, input_channels=None):
    """Maps a traced forward that branches (see above) into mapping.builder; input_channels: for a
    forward with several inputs, (node, first channel, channels) of each in hinge's one input."""
    mapper = _GraphMapper(graph, mapping, input_order, input_channels)
    for step in graph.steps:
        mapper.map(step)
    mapper.finish()


@maps(nn.GLU)
def _glu(m, step, mapping):
    shape = mapping.builder.shape
    channel = _channel_dim(shape, mapping.order)
    rank = len(shape) + 1
    if m.dim % rank != channel:
        raise unsupported(step, f"dim={m.dim}: hinge's glu halves the channels, dim={channel} (or {channel - rank}) of "
                                f"this {_order_text(mapping.order, len(shape))} value")
    mapping.layer(step, Gated(IDENTITY, ACTIVATIONS["sigmoid"]))


# ---- the whole model -----------------------------------------------------------------------------

def _first_input_shape(step):
    m = step.target if step.kind == "module" else None
    if isinstance(m, nn.Linear):
        return (m.in_features,)
    if isinstance(m, nn.BatchNorm1d):
        return (m.num_features,)
    return None


_READS_CHANNELS_FIRST = (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.BatchNorm1d, nn.ConstantPad1d)
_CHANNELS_FIRST_FUNCTIONS = (F.pad, F.max_pool1d, F.avg_pool1d, F.adaptive_avg_pool1d)


def _reads_order(step):
    """The layout in which a step reads a sequence ([N, C, L] or [N, L, C]), or None when its
    result does not depend on it (element-wise) or it reads no sequence."""
    if len(step.torch_in or ()) != 2:
        return None
    if step.kind == "module":
        if step.module_type in (nn.GRU, nn.LSTM, nn.Linear, nn.LayerNorm):
            return "channels_last"
        return "channels_first" if step.module_type in _READS_CHANNELS_FIRST else None
    if step.kind == "function" and step.target in _CHANNELS_FIRST_FUNCTIONS:
        return "channels_first"
    return None


def _input_order(steps):
    """The layout of a sequence input: the one that the first step reading a layout implies,
    counting the transposes before it ([N, C, L] when no step says)."""
    flipped = False
    for step in steps:
        if STEPS.get((step.kind, step.target)) is _transpose:
            flipped = not flipped
            continue
        order = _reads_order(step)
        if order is not None:
            return order if not flipped else ("channels_first" if order == "channels_last" else "channels_last")
    return "channels_first"


def _input_shapes(graph, input_shape):
    """The shapes of a forward's several inputs, one per input, as input_shape gives them."""
    names = ", ".join(n.name for n in graph.inputs)
    if not input_shape or not all(isinstance(s, (tuple, list)) for s in input_shape) or \
            len(input_shape) != len(graph.inputs):
        raise ExportError(f"the model's forward takes {len(graph.inputs)} inputs ({names}): give the shape of each, in "
                          "PyTorch's order without the batch (--input-shape 1,256+1,256; input_shape=((1, 256), "
                          "(1, 256))); hinge takes them as the channels of one input, side by side")
    shapes = [tuple(int(d) for d in s) for s in input_shape]
    if len({len(s) for s in shapes}) != 1:
        raise ExportError(f"the model's inputs {names} have the shapes {', '.join(str(list(s)) for s in shapes)}, of "
                          "different ranks; hinge takes several inputs as the channels of one input")
    return tuple(shapes)


def map_model(model, input_shape=None, dtype=None, fold=False):
    """The hinge Network of an nn.Module (in eval mode), and notes for the user.

    input_shape: the per-sample input in PyTorch's order ([784], [1, 28, 28], [C, L] for a model
    that starts with nn.Conv1d, [L, C] for one that starts with a batch_first nn.GRU); needed
    unless the first layer is an nn.Linear. dtype: "F32" or "F64" (default: the model's).

    The Network's torch_input_order says how PyTorch holds a sequence input: "channels_first"
    ([N, C, L]: hinge's input is x.transpose(1, 2)) or "channels_last" ([N, L, C], as hinge's)."""
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
        graph = None
        if is_plain_sequential(model):
            graph_module, steps = None, list(steps_of_sequential(model))
            bare = next((st for st in steps if st.module_type in (nn.GRU, nn.LSTM)), None)
            if bare is not None:
                check_kind(bare)
                which = "the next module cannot take" if bare is not steps[-1] else "is no tensor"
                raise unsupported(bare, f"in an nn.Sequential it returns (output, state), which {which}; "
                                        "put it in a module whose forward returns self.rnn(x)[0] (every step) or "
                                        "self.rnn(x)[0][:, -1] (the last step), or subclass it with such a forward "
                                        "(docs/interop.md)")
        else:
            graph_module, steps, graph = steps_of_fx(model)
        if not steps:
            raise ExportError("the model has no layers")
        several = graph is not None and len(graph.inputs) > 1
        if several:
            input_shape = _input_shapes(graph, input_shape)
        if input_shape is None:
            input_shape = _first_input_shape(steps[0])
            if input_shape is None:
                sequence = steps[0].kind == "module" and steps[0].module_type in (nn.GRU, nn.LSTM, nn.Conv1d)
                raise ExportError(f"the model starts with {steps[0].label()}, so the input's shape cannot be read off "
                                  "it: give it in PyTorch's order without the batch, e.g. --input-shape "
                                  + ("256,1 (a sequence of 256 steps of 1 channel, [L, C] for a batch_first nn.GRU "
                                     "or nn.LSTM, [C, L] for nn.Conv1d)" if sequence else "1,28,28"))
        if not several:
            if input_shape and isinstance(input_shape[0], (tuple, list)):
                raise ExportError(f"{len(input_shape)} input shapes are given, and the model's forward takes one input")
            input_shape = tuple(int(d) for d in input_shape)
        for step in steps:
            if graph is None or (step.kind, step.target) not in GRAPH_OPERATIONS:
                check_kind(step)
        record_shapes(model, steps, graph_module, input_shape, model_dtype, graph)
        rank = len(input_shape[0]) if several else len(input_shape)
        order = _input_order(steps) if rank == 2 else None
        mapping = Mapping(None, dtype, order or "channels_first")
        if several:
            shapes = [mapping.hinge_shape(shape) for shape in input_shape]
            if any(shape[:-1] != shapes[0][:-1] for shape in shapes):
                raise ExportError(f"the model's inputs {', '.join(n.name for n in graph.inputs)} have the shapes "
                                  f"{', '.join(str(list(s)) for s in input_shape)}, which are not at the same positions"
                                  + (f" (read as {mapping.order_text()})" if rank == 2 else "")
                                  + "; hinge takes several inputs as the channels of one input, side by side at every "
                                  "position")
            firsts = [sum(channels(s) for s in shapes[:k]) for k in range(len(shapes))]
            mapping.builder = Builder(shapes[0][:-1] + (sum(channels(s) for s in shapes),))
            map_graph(graph, mapping, order or "channels_first",
                      [(n, f, channels(s)) for n, f, s in zip(graph.inputs, firsts, shapes)])
        else:
            mapping.builder = Builder(mapping.hinge_shape(input_shape))
        if graph is not None and not several:
            map_graph(graph, mapping, order or "channels_first")
        for step in steps if graph is None else ():
            map_step(step, mapping)
            check_shape(step, mapping)
        if mapping.pending_global_pool is not None:
            raise unsupported(mapping.pending_global_pool, "hinge's global_avg_pool is AdaptiveAvgPool(1) followed by "
                                                           "Flatten, and nothing follows it")
        if mapping.pending_pad is not None:
            raise unsupported(mapping.pending_pad[0], "padding maps only as the causal padding of the nn.Conv1d "
                                                      "directly after it, and nothing follows it")
        if mapping.recurrent_value in ("tuple", "state", "state_pair"):
            raise unsupported(mapping.recurrent_step, "the model returns what it returns, "
                                                      + ("(output, h_n)" if mapping.recurrent_value == "tuple"
                                                         else "its state h_n")
                                                      + "; a hinge network returns one tensor: the output "
                                                      "(rnn(x)[0]), its last step (rnn(x)[0][:, -1]) or h_n[-1]")
        network = mapping.builder.network()
        network.torch_input_order = order if len(network.input_shape) == 2 else None
        if several:
            network.torch_inputs = [(n.name, tuple(s)) for n, s in zip(graph.inputs, input_shape)]
        network.torch_output_order = mapping.order if len(network.output_shape) == 2 else None
        if mapping.flattened_input is not None:
            network.torch_flattened_input = tuple(int(d) for d in input_shape)
        # The input's layout and its permutation from PyTorch's are in every header (cpp.input_layout).
        if fold:
            network = fold_batch_norm(network, mapping.notes)
        if dtype == "F64" and any(s.activation.key or s.layer.kind in ("batch_norm", "layer_norm", "dropout")
                                  for s in network.stages):
            mapping.notes.append("double precision: hinge's layer constants (slopes, alphas, batch-norm momentum "
                                 "and epsilon, layer-norm epsilon) are float template arguments, so they are the "
                                 "float32-rounded values")
        return network, mapping.notes
    finally:
        model.train(was_training)
