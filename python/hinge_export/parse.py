"""Networks read back from text: hinge's architecture descriptions (a file's metadata) and C++
type spellings (hinge::network<...>), for regenerating a header from a parameter file and for
`describe --against`."""

import re

from .network import (ACTIVATIONS, IDENTITY, BatchNorm, Builder, Convolution, Dense, Dropout, ExportError, Flatten,
                      Gated, GlobalAvgPool, LayerNorm, Merge, Pool, Recurrent, Slice, bits_f32, shape_text)

__all__ = ["network_from_description", "network_from_cpp"]


# ---- from an architecture description ----------------------------------------------------------

_SHAPE = r"(\d+|<[\d,]+>)"


def _geometry(prefix, groups=False):
    return (r"\(kernel (?P<{0}kh>\d+)x(?P<{0}kw>\d+) stride (?P<{0}sh>\d+)x(?P<{0}sw>\d+) "
            r"dilation (?P<{0}dh>\d+)x(?P<{0}dw>\d+) pad (?P<{0}pt>\d+)x(?P<{0}pl>\d+)"
            + (r"(?: groups (?P<{0}g>\d+))?" if groups else "") + r"\) ").format(prefix)


_HEX = r"0x[0-9a-f]{8}"
_STAGE = re.compile(
    r"^(?P<kind>dense |convolution" + _geometry("c", groups=True) +
    r"|batch_norm\(momentum (?P<momentum>" + _HEX + r"), epsilon (?P<epsilon>" + _HEX + r")\) "
    r"|layer_norm\(epsilon (?P<ln_epsilon>" + _HEX + r")\) "
    r"|(?P<reduction>max|avg)_pool" + _geometry("p") +
    r"|(?P<cell>gru|lstm)\((?P<returns>all steps|last step)\) "
    r"|flatten |dropout\((?P<rate>" + _HEX + r")\) "
    r"|(?P<merge>add|multiply|concat|film) |gated\((?P<gate_a>\w+) (?P<gate_b>\w+)\) "
    r"|slice\((?P<slice_first>\d+) (?P<slice_count>\d+)\) )"
    r"(?:reads (?P<reads>\d+(?: \d+)*) )?"
    r"(?P<shape_in>\d+|<[\d,]+>)->(?P<shape_out>\d+|<[\d,]+>) "
    r"(?P<activation>\w+)(?:\((?P<key>\w+) (?P<value>" + _HEX + r")\))?$")


def _parse_shape(text):
    return (int(text),) if not text.startswith("<") else tuple(int(d) for d in text[1:-1].split(","))


def activation_from(name, key="", bits_text=""):
    if name not in ACTIVATIONS:
        raise ExportError(f"the activation '{name}' is not one of hinge's ({', '.join(ACTIVATIONS)}); a network "
                          "with an activation of your own cannot be regenerated from its description")
    a = ACTIVATIONS[name]
    if a.key != (key or ""):
        raise ExportError(f"the activation '{name}' should carry '{a.key}', found '{key}'")
    return a.with_value(bits_f32(int(bits_text, 16))) if key else a


def network_from_description(description, source="the description"):
    """The Network that architecture_description would describe this way (no tensors)."""
    parts = description.split(" | ")
    m = re.fullmatch("input " + _SHAPE, parts[0])
    if not m:
        raise ExportError(f"{source}: '{parts[0]}' is not an input (expected 'input 784' or 'input <28,28,1>')")
    builder = Builder(_parse_shape(m.group(1)))
    for i, part in enumerate(parts[1:]):
        if part.startswith(("projection", "residual_add")):
            raise ExportError(f"{source}: stage {i} is part of a residual block ('{part}'); the exporter writes "
                              "chains of layers only, so write this network's type by hand (docs/layers.md)")
        m = _STAGE.match(part)
        if not m:
            raise ExportError(f"{source}: stage {i} ('{part}') is not a stage hinge describes")
        kind = m.group("kind")
        shape_in, shape_out = _parse_shape(m.group("shape_in")), _parse_shape(m.group("shape_out"))
        # A graph's stage names the values it reads (index + 1 of their stages, 0: the input).
        reads = [int(r) for r in m.group("reads").split()] if m.group("reads") else []
        if any(r > i for r in reads) or len(reads) != (2 if m.group("merge") else len(reads[:1])):
            raise ExportError(f"{source}: stage {i} ('{part}') reads values that are not there before it")
        if reads:
            builder.use(reads[0])
        if shape_in != builder.shape:
            raise ExportError(f"{source}: stage {i} takes {shape_text(shape_in)}, but the stage before gives "
                              f"{shape_text(builder.shape)}")
        if kind == "dense ":
            layer = Dense(shape_out[-1])
        elif kind.startswith("convolution"):
            kh, kw, sh, sw, dh, dw = (int(m.group("c" + k)) for k in ("kh", "kw", "sh", "sw", "dh", "dw"))
            groups = int(m.group("cg") or 1)
            rank = len(shape_in) - 1
            if rank not in (1, 2) or (rank == 2 and (kh != kw or sh != sw or dh != dw)):
                raise ExportError(f"{source}: stage {i} ('{part}') is no conv1d or conv2d hinge has")
            # The padding that reproduces the description: same and valid agree for 1x1 kernels;
            # then same, hinge's default, is written (causal pads before the sequence only).
            layer = None
            for padding in ("same", "valid", "causal"):
                candidate = Convolution(rank, shape_out[-1], kw, sw, padding, dw, groups)
                try:
                    fits = candidate.output_shape(shape_in) == shape_out
                except ExportError:
                    fits = False
                if fits and part.startswith(candidate.describe(shape_in)):
                    layer = candidate
                    break
            if layer is None:
                raise ExportError(f"{source}: stage {i} ('{part}') has a padding that is neither same, valid nor "
                                  "causal")
        elif kind.startswith("batch_norm"):
            layer = BatchNorm(bits_f32(int(m.group("momentum"), 16)), bits_f32(int(m.group("epsilon"), 16)))
        elif kind.startswith("layer_norm"):
            layer = LayerNorm(bits_f32(int(m.group("ln_epsilon"), 16)))
        elif m.group("reduction"):
            if len(shape_out) == 1 and len(shape_in) > 1:
                layer = GlobalAvgPool()
            else:
                layer = Pool(m.group("reduction"), len(shape_in) - 1, int(m.group("pkw")))
        elif m.group("cell"):
            layer = Recurrent(m.group("cell"), shape_out[-1],
                              "all_steps" if m.group("returns") == "all steps" else "last_step")
        elif kind == "flatten ":
            layer = Flatten()
        elif m.group("merge"):
            layer = Merge(m.group("merge"))
        elif m.group("gate_a"):
            layer = Gated(activation_from(m.group("gate_a")), activation_from(m.group("gate_b")))
        elif m.group("slice_first"):
            layer = Slice(int(m.group("slice_first")), int(m.group("slice_count")))
        else:
            layer = Dropout(bits_f32(int(m.group("rate"), 16)))
        if layer.named:
            stage = builder.add_merge(layer, reads[1], f"stage {i}")
        else:
            stage = builder.add_layer(layer, f"stage {i}")
        if stage.layer.describe(shape_in) != part[:len(stage.layer.describe(shape_in))] or \
                stage.output_shape != shape_out:
            raise ExportError(f"{source}: stage {i} ('{part}') is not a layer hinge would describe this way")
        activation = activation_from(m.group("activation"), m.group("key"), m.group("value"))
        if activation != IDENTITY:
            builder.add_activation(activation, f"stage {i}")
    network = builder.network()
    if network.description() != description:
        raise ExportError(f"{source}: the description does not read back to itself (internal error):\n  "
                          f"{description}\n  {network.description()}")
    return network


# ---- from a C++ type spelling ------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\"[^\"]*\")|(::)|([A-Za-z_]\w*)|([0-9.][0-9.eE+\-]*[fFlLuU]*)|(-[0-9.][0-9.eE+\-]*[fFlLuU]*)|(.))")


def _tokens(text):
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        token = m.group(0).strip()
        if token:
            out.append(token)
    return out


def _parse_template(tokens, i):
    """name (qualified; the namespace is dropped) with optional <args>; returns ((name, args), next index)."""
    parts = []
    while True:
        if i >= len(tokens):
            raise ExportError("the type ends early")
        parts.append(tokens[i])
        i += 1
        if i < len(tokens) and tokens[i] == "::":
            i += 1
            continue
        break
    name = parts[-1]
    args = None
    if i < len(tokens) and tokens[i] == "<":
        args, i = [], i + 1
        while tokens[i] != ">":
            arg, i = _parse_template(tokens, i)
            args.append(arg)
            if tokens[i] == ",":
                i += 1
            elif tokens[i] != ">":
                raise ExportError(f"unexpected '{tokens[i]}' in the type")
        i += 1
    return (name, args), i


def _number(arg, what):
    name, args = arg
    text = name.rstrip("fFlLuU")
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise ExportError(f"{what}: '{name}' is not a number") from None


def network_from_cpp(text):
    """The Network of a type spelled like hinge::network<hinge::input<784>, hinge::dense<256>, ...>."""
    tokens = _tokens(text.strip().rstrip(";"))
    try:
        (name, args), end = _parse_template(tokens, 0)
    except (ExportError, IndexError) as e:
        raise ExportError(f"'{text}' is not a C++ type hinge_export can read: {e}") from None
    if name != "network" or not args or end != len(tokens):
        raise ExportError(f"'{text}' is not a hinge::network<...> type")
    first = args[0]

    def expand(items):
        for item in items:
            n, a = item
            if n == "sequential":
                yield from expand(a or [])
            elif n == "repeat":
                for _ in range(int(_number(a[0], "repeat<N, Block>"))):
                    yield from expand(a[1:])
            else:
                yield item

    if first[0] != "input":
        raise ExportError("the network's first argument must be input<...>")
    builder = Builder(tuple(int(_number(a, "input")) for a in first[1]))
    named = {"input": 0}  # a graph's names (tap<"x">) -> the value's source

    def source_of(a, where):
        name = a[0][0].strip('"') if a and a[0][0].startswith('"') else None
        if name not in named:
            raise ExportError(f"{where}: no value is named {a[0][0] if a else '(nothing)'} here (names are given by "
                              "tap<\"x\"> before they are read)")
        return named[name]

    for n, a in expand(args[1:]):
        a = a or []
        names = ("same", "valid", "causal", "all_steps", "last_step")
        numbers = lambda: [_number(x, n) if x[0] not in names else x[0] for x in a]  # noqa: E731
        where = f"{n}<...>" if a else n
        if n in ACTIVATIONS or n in ("leaky_relu", "elu", "noisy_relu"):
            act = ACTIVATIONS[n]
            if act.key:
                act = act.with_value(numbers()[0] if a else act.value)
            builder.add_activation(act, where)
        elif n == "dense":
            v = numbers()
            stage = builder.add_layer(Dense(v[0]), where)
            if len(v) > 1 and v[1] not in (0, stage.layer.fan_in(stage.input_shape)):  # 0: any_width, as g++ prints it
                raise ExportError(f"{where}: declares {v[1]} inputs, {stage.layer.fan_in(stage.input_shape)} arrive")
        elif n in ("gru", "lstm"):
            v = numbers() + ["all_steps"]
            builder.add_layer(Recurrent(n, v[0], v[1]), where)
        elif n in ("conv1d", "conv2d"):
            v = numbers() + [None] * 6
            builder.add_layer(Convolution(int(n[4]), v[0], v[1], v[2] or 1, v[3] or "same", v[4] or 1, v[5] or 1),
                              where)
        elif n in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"):
            builder.add_layer(Pool(n[:3], int(n[-2]), numbers()[0]), where)
        elif n == "global_avg_pool":
            builder.add_layer(GlobalAvgPool(), where)
        elif n == "flatten":
            builder.add_layer(Flatten(), where)
        elif n == "batch_norm":
            builder.add_layer(BatchNorm(), where)
        elif n == "batch_norm_with":
            v = numbers() + [0.1, 1e-5][len(a):]
            builder.add_layer(BatchNorm(v[0], v[1]), where)
        elif n == "dropout":
            builder.add_layer(Dropout(numbers()[0]), where)
        elif n == "layer_norm":
            builder.add_layer(LayerNorm(), where)
        elif n == "layer_norm_with":
            builder.add_layer(LayerNorm(numbers()[0] if a else 1e-5), where)
        elif n == "tap" and a and a[0][0].startswith('"'):
            named[a[0][0].strip('"')] = builder.current
        elif n == "from":
            builder.use(source_of(a, where))
        elif n in ("add", "multiply", "concat", "film"):
            builder.add_merge(Merge(n), source_of(a, where), where)
        elif n in ("gated", "glu"):
            pair = [activation_from(x[0]) for x in a] if n == "gated" else [IDENTITY, ACTIVATIONS["sigmoid"]]
            builder.add_layer(Gated(*pair), where)
        elif n == "slice":
            builder.add_layer(Slice(*numbers()[:2]), where)
        else:
            raise ExportError(f"'{n}' in the type is not a layer hinge_export knows (residual blocks, accumulate<> "
                              "and layers of your own are not read)")
    return builder.network()
