"""The C++ the exporter writes: a header with the network type, and optionally the parameters
compiled in (in the header, or in a .cpp so that only one translation unit parses them).

The header checks what the exporter assumed about hinge at compile time:
  - io::architecture_description<Net> equals the description the exporter computed (the same
    string sits in the safetensors file's metadata, which load_safetensors checks), and
  - core/layout.hpp puts every tensor at the offset the compiled-in block was laid out with,
so a hinge that plans differently fails to compile the header instead of loading shifted weights.

Compiled-in parameters are the bit patterns of the whole parameter block (zero padding included,
as std::uint32_t or std::uint64_t hex, exact for every value including NaN payloads), turned
into hinge::parameters<Net> by std::bit_cast in a constant expression: the object is
constant-initialised in read-only data, so using it costs no I/O, no allocation and no start-up
code.
"""

import re
import textwrap

from .network import DTYPE_SIZE, IDENTITY

KEYWORDS = {"alignas", "alignof", "and", "auto", "bool", "break", "case", "catch", "char", "class", "const", "constexpr",
            "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export", "extern", "false",
            "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "not",
            "operator", "or", "private", "protected", "public", "register", "return", "short", "signed", "sizeof",
            "static", "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typename", "union",
            "unsigned", "using", "virtual", "void", "volatile", "while", "xor", "hinge", "std"}


def check_identifier(name, what):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or "") or name in KEYWORDS:
        raise ValueError(f"{what} '{name}' is not a C++ identifier hinge_export can use")
    return name


def check_namespace(ns):
    if ns:
        for part in ns.split("::"):
            check_identifier(part, "the namespace part")
    return ns


def _comment_table(network):
    rows = []
    for i, s in enumerate(network.stages):
        rows.append((s.origin or "", f"stage {i}: {', '.join(s.markers + [s.layer.cpp('')])}"))
        if s.activation != IDENTITY:
            rows.append((s.activation_origin or "", f"stage {i}: {s.activation.cpp('')} (fused)"))
    width = min(max([len(a) for a, _ in rows] + [len("PyTorch")]), 70)
    return [f"//   {'PyTorch':<{width}}  hinge"] + [f"//   {a:<{width}}  {b}" for a, b in rows]


def _wrap(text, first_indent):
    """Comment lines of at most 110 characters, never breaking inside `code`."""
    protected = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), text)
    return [line.replace("\0", " ") for line in textwrap.wrap(protected, 110, initial_indent=first_indent,
                                                               subsequent_indent="//   ", break_long_words=False,
                                                               break_on_hyphens=False)]


def input_layout(network):
    """What the network's input is and how a PyTorch batch becomes it: a summary line, then lines that
    explain it. Every header states it (docs/interop.md), because hinge is channels last and PyTorch's
    images and nn.Conv1d sequences are not. A forward with several inputs: they are joined first."""
    lines = _one_input_layout(network)
    inputs = getattr(network, "torch_inputs", None)
    if not inputs:
        return lines
    last = len(network.input_shape) == 2 and getattr(network, "torch_input_order", None) == "channels_last"
    joined = f"torch.cat([{', '.join(name for name, _ in inputs)}], dim={-1 if last else 1})"
    return [f"the forward's {len(inputs)} inputs " + ", ".join(f"{name} {list(shape)}" for name, shape in inputs)
            + f" side by side along the channels, as one input x = `{joined}`; " + lines[0]] + lines[1:]


def _one_input_layout(network):
    shape = network.input_shape
    dims = ", ".join(str(d) for d in shape)
    if len(shape) == 3:
        h, w, c = shape
        return [f"an image, channels last: `hinge::input<{dims}>` is [H, W, C] = [{h}, {w}, {c}]; from a PyTorch "
                "batch x of [N, C, H, W]: `x.permute(0, 2, 3, 1)`",
                f"value (h * {w} + w) * {c} + c of a sample is PyTorch's x[n, c, h, w], so give hinge "
                "`x.permute(0, 2, 3, 1).contiguous()`; an input gradient comes back in the same layout"]
    if len(shape) == 2:
        length, c = shape
        head = f"a sequence, channels last: `hinge::input<{dims}>` is [L, C] = [{length}, {c}], step after step; "
        fact = f"value l * {c} + c of a sample is "
        order = getattr(network, "torch_input_order", None)
        if order == "channels_last":
            return [head + "from a PyTorch batch x of [N, L, C] (batch_first): x as it is, no permutation",
                    fact + "PyTorch's x[n, l, c], the layout nn.GRU / nn.LSTM with batch_first=True and nn.Linear "
                           "read"]
        if order == "channels_first":
            return [head + "from a PyTorch batch x of [N, C, L]: `x.permute(0, 2, 1)`",
                    fact + "PyTorch's x[n, c, l] (the layout nn.Conv1d reads), so give hinge "
                           "`x.permute(0, 2, 1).contiguous()`, i.e. `x.transpose(1, 2)`"]
        return [head + "from a PyTorch batch x of [N, L, C] (batch_first): x as it is; of [N, C, L]: "
                       "`x.permute(0, 2, 1)`",
                fact + "x[n, l, c] of a batch_first [N, L, C] batch (what nn.GRU / nn.LSTM with batch_first=True "
                       "and nn.Linear read); a batch laid out for nn.Conv1d, [N, C, L], is "
                       "`x.permute(0, 2, 1).contiguous()`, i.e. `x.transpose(1, 2)`"]
    (features,) = shape
    flattened = getattr(network, "torch_flattened_input", None)
    if flattened:
        return [f"a flat vector: `hinge::input<{dims}>` is [{features}] in PyTorch's order; from a PyTorch batch x "
                f"of [N, {', '.join(str(d) for d in flattened)}]: `x.reshape(N, -1)`",
                "the model flattens its input first, so hinge's input is PyTorch's flattening of it, not channels "
                "last: no permutation"]
    return [f"a flat vector: `hinge::input<{dims}>` is [{features}]; from a PyTorch batch x of [N, {features}]: x as "
            "it is, no permutation"]


def _layout_checks(network, type_name, value_type):
    offsets, _, total = network.layout(DTYPE_SIZE["F32" if value_type == "float" else "F64"])
    checks = [f"hinge::parameters<{type_name}, {value_type}>::storage_size == {total}"]
    names = {"weight": "weight_offset", "bias": "bias_offset", "shift": "bias_offset", "scale": "scale_offset",
             "slope": "slope_offset", "running_mean": "running_mean_offset",
             "running_variance": "running_variance_offset", "weight_ih": "weight_offset",
             "weight_hh": "recurrent_weight_offset", "bias_ih": "bias_offset", "bias_hh": "recurrent_bias_offset"}
    for i, o in enumerate(offsets):
        for role, offset in o.items():
            checks.append(f"hinge::layout<{type_name}, {value_type}>::stages[{i}].{names[role]} == {offset}")
    return checks


def _bits_initialiser(bits, digits):
    per_line = 8 if digits == 8 else 4
    lines = []
    for k in range(0, len(bits), per_line):
        lines.append("    " + ", ".join(f"0x{b:0{digits}x}" for b in bits[k:k + per_line]) + ",")
    return "\n".join(lines)


def header(network, type_name, *, namespace="", dtype="F32", embed=None, parameters_name=None, source="",
           weights_file=None, command=None, source_file=None, notes=()):
    """The header's text. embed: None (type only), "header" (parameters inline here) or "source"
    (an extern declaration; source() writes the definition)."""
    check_identifier(type_name, "the type name")
    check_namespace(namespace)
    value_type = "float" if dtype == "F32" else "double"
    parameters_name = check_identifier(parameters_name or f"{type_name}_parameters", "the parameters' name")
    description = network.description()
    lines = [f"// Generated by hinge_export from {source}: a hinge network type"
             + (" and its parameters" if embed else "") + ". Do not edit; regenerate it.",
             ]
    if command:
        lines.append(f"//   {command}")
    lines += ["//"] + _comment_table(network)
    summary, *details = input_layout(network)
    lines += ["//"] + _wrap(f"Input: {summary}.", "// ")
    for detail in details:
        lines += _wrap(detail[0].upper() + detail[1:] + ".", "//   ")
    if notes:
        lines += ["//", "// Notes:"] + [f"//   {note}" for note in notes]
    if weights_file:
        stacks = network.multilayer_stacks()
        if stacks:
            first, layers = stacks[0]
            lines += ["//"] + _wrap(
                f"Weights: {weights_file}, safetensors with the tensor names of io::tensor_table, where the stages "
                f"{first} to {first + layers - 1} are named as the one {layers}-layer PyTorch module they came from, "
                "as its hinge.multilayer_recurrent metadata says (so load_safetensors names them so: "
                f"`io::multilayer_recurrent_names<{type_name}, {first}, {layers}>`), and this architecture in its "
                "metadata, which load_safetensors checks:", "// ")
            lines += [f"//   hinge::io::load_safetensors(*params, \"{weights_file}\");   // params: "
                      f"hinge::parameters<{type_name}{'' if dtype == 'F32' else ', double'}>"]
        else:
            lines += ["//",
                      f"// Weights: {weights_file}, safetensors with the tensor names of io::tensor_table and this",
                      "// architecture in its metadata, which load_safetensors checks:",
                      f"//   hinge::io::load_safetensors(*params, \"{weights_file}\");   // params: "
                      f"hinge::parameters<{type_name}{'' if dtype == 'F32' else ', double'}>"]
    if embed:
        lines += ["//", f"// {parameters_name}: the same parameters compiled in (read-only data, constant-initialised):",
                  "// no file, no I/O, no allocation. Copy it to train further: "
                  f"auto p = std::make_unique<hinge::parameters<{type_name}{'' if dtype == 'F32' else ', double'}>>"
                  f"({parameters_name});"]
    lines += ["#pragma once", ""]
    includes = ["<string_view>"]
    if embed == "header":
        includes += ["<array>", "<bit>", "<cstdint>"]
    lines += [f"#include {i}" for i in includes]
    lines += ["", "#include <hinge/core/network.hpp>", "#include <hinge/core/storage.hpp>",
              "#include <hinge/io/architecture.hpp>", "#include <hinge/layers/batch_norm.hpp>",
              "#include <hinge/layers/convolution.hpp>", "#include <hinge/layers/dense.hpp>",
              "#include <hinge/layers/dropout.hpp>", "#include <hinge/layers/flatten.hpp>",
              "#include <hinge/layers/gru.hpp>", "#include <hinge/layers/layer_norm.hpp>",
              "#include <hinge/layers/lstm.hpp>", "#include <hinge/layers/pooling.hpp>"]
    kinds = {s.layer.kind for s in network.stages}
    # A graph's layers (docs/graphs.md), only where used: a chain's header stays as it was.
    lines += [f"#include <hinge/layers/{name}.hpp>" for name, used in
              (("film", "film" in kinds), ("gated", "gated" in kinds),
               ("merge", kinds & {"add", "multiply", "concat"}), ("slice", "slice" in kinds)) if used] + [""]
    if namespace:
        lines += [f"namespace {namespace} {{", ""]
    layer_lines = network.layer_list("hinge::")
    lines.append(f"using {type_name} = hinge::network<")
    lines += [f"    {item}," for item in layer_lines[:-1]] + [f"    {layer_lines[-1]}>;"]
    lines += ["",
              f"// hinge::io::architecture_description<{type_name}> as the exporter computed it (and wrote it into the",
              "// weights' metadata); if hinge describes the type otherwise, this header does not compile.",
              f"inline constexpr std::string_view {type_name}_architecture =",
              f"    \"{description}\";",
              f"static_assert(hinge::io::architecture_description<{type_name}> == {type_name}_architecture,",
              f"              \"{type_name}: hinge describes this network otherwise than hinge_export did; regenerate "
              "the header with the hinge_export of this hinge\");"]
    if embed:
        checks = _layout_checks(network, type_name, value_type)
        lines += ["// The parameter layout (core/layout.hpp) the compiled-in block was written for.",
                  "static_assert(" + "\n              && ".join(checks) + ",",
                  f"              \"{type_name}: hinge lays out the parameters otherwise than hinge_export did; "
                  "regenerate the compiled-in parameters with the hinge_export of this hinge\");"]
    if embed == "header":
        bits = network.storage_bits(dtype)
        digits = 2 * DTYPE_SIZE[dtype]
        integer = "std::uint32_t" if dtype == "F32" else "std::uint64_t"
        lines += ["", f"namespace {type_name}_detail {{",
                  f"// The parameter block's values as bit patterns ({len(bits)} of them, zero padding included).",
                  f"inline constexpr std::array<{integer}, {len(bits)}> bits = {{",
                  _bits_initialiser(bits, digits), "};", f"}}  // namespace {type_name}_detail", "",
                  f"inline constexpr hinge::parameters<{type_name}, {value_type}> {parameters_name} =",
                  f"    std::bit_cast<hinge::parameters<{type_name}, {value_type}>>({type_name}_detail::bits);"]
    elif embed == "source":
        lines += ["", f"// Defined in {source_file or type_name + '.cpp'}, constant-initialised in read-only data.",
                  f"extern const hinge::parameters<{type_name}, {value_type}> {parameters_name};"]
    if namespace:
        lines += ["", f"}}  // namespace {namespace}"]
    return "\n".join(lines) + "\n"


def source(network, type_name, header_name, *, namespace="", dtype="F32", parameters_name=None, source=""):
    """The .cpp that defines the compiled-in parameters declared by header(..., embed="source")."""
    value_type = "float" if dtype == "F32" else "double"
    parameters_name = parameters_name or f"{type_name}_parameters"
    bits = network.storage_bits(dtype)
    digits = 2 * DTYPE_SIZE[dtype]
    integer = "std::uint32_t" if dtype == "F32" else "std::uint64_t"
    lines = [f"// Generated by hinge_export from {source}: the parameters of {type_name}, compiled in. Do not edit.",
             f"#include \"{header_name}\"", "", "#include <array>", "#include <bit>", "#include <cstdint>", ""]
    if namespace:
        lines += [f"namespace {namespace} {{", ""]
    lines += ["namespace {",
              f"// The parameter block's values as bit patterns ({len(bits)} of them, zero padding included).",
              f"constexpr std::array<{integer}, {len(bits)}> bits = {{", _bits_initialiser(bits, digits), "};",
              "}  // namespace", "",
              f"constinit const hinge::parameters<{type_name}, {value_type}> {parameters_name} =",
              f"    std::bit_cast<hinge::parameters<{type_name}, {value_type}>>(bits);"]
    if namespace:
        lines += ["", f"}}  // namespace {namespace}"]
    return "\n".join(lines) + "\n"
