"""The .nam front end: a Neural Amp Modeler file to a C++ header with its hinge type and its weights
compiled in (docs/nam.md, "From a .nam file to a type").

    python3 -m hinge_export nam capture.nam --out capture.hpp [--namespace amp] [--fast-tanh]

The header holds, in the namespace: `model` (hinge::nam::a1_wavenet<...> or lstm_model<H, L>),
`sample_rate` (std::optional<double>), `metadata_json`, `weights` (NAM's flat list, every float32
printed so that it reads back exactly), `file()` (the file as hinge::nam::model_file, as
read_model_file would give it) and `load(params)`, which calls model::load on file(): the same
checks and placement as loading the .nam file at run time.

The file is checked as src/io/nam.cpp reads it (a config key it does not know is refused, as are a
post-head, a non-finite weight, a weight beyond float's range), and then against what hinge's NAM
types can be (the activations they map, condition_size 1, layer arrays fed one into the next) and
the weight count that config needs. Needs only the standard library.
"""

import json
import math
import os
import re
import struct
import textwrap
from dataclasses import dataclass

from .network import ExportError

# NAM's activation names and the hinge activation each is; with fast_tanh Tanh is NAM's fast tanh
# (NAM's plugin swaps only Tanh; ReLU and Sigmoid stay as they are).
ACTIVATIONS = {"Tanh": "hinge::tanh", "ReLU": "hinge::relu", "Sigmoid": "hinge::sigmoid"}
FAST_TANH = "hinge::nam::fast_tanh"
# a1_wavenet names each array's head sum "s00".."s99" (nam/wavenet.hpp).
MAX_LAYER_ARRAYS = 100
FLOAT_MAX = struct.unpack("<f", bytes.fromhex("ffff7f7f"))[0]

WAVENET_KEYS = ("layers", "head", "head_scale")
LAYER_ARRAY_KEYS = ("input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations",
                    "activation", "gated", "head_bias")
LSTM_KEYS = ("input_size", "hidden_size", "num_layers")


class _NonFinite:
    """NaN, Infinity or -Infinity in the file (Python's json reads them, JSON and NAM's readers do not), or
    a number beyond double's range (1e999), kept as its text for the messages."""

    def __init__(self, text):
        self.text = text


def _number(text):
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _text(value):
    """A value as compact JSON text, for messages (NaN, 1e999 as the file has them)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: "\0" + (v.text if isinstance(v, _NonFinite) else repr(v)) + "\0")
    return re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", text)


def _refuse_non_finite(v):
    raise ValueError(v.text if isinstance(v, _NonFinite) else repr(v))


def _json(value, what, source):
    """A value as the JSON text hinge::nam::parse_model_file keeps (compact, keys in the file's order)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                          default=_refuse_non_finite)
        text.encode("utf-8")
    except ValueError as e:
        raise ExportError(f"{source}: {what} holds {e}, which is not a finite number (NAM's readers refuse it)") from None
    except UnicodeEncodeError:
        raise ExportError(f"{source}: {what} holds a string that is not valid Unicode") from None
    return text


def f32(x):
    """x rounded to float32 (round to nearest, as static_cast<float>(double) does)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def float_literal(x):
    """A float32 value as a C++ float literal that reads back bit for bit: the shortest decimal of the
    value as a double (exact: a double holds every float32), then f, so the nearest float is the value."""
    assert math.isfinite(x) and f32(x) == x and math.copysign(1, f32(x)) == math.copysign(1, x)
    return repr(x) + "f"


def cpp_string(text):
    """A C++ string literal: printable ASCII as is, every other byte (UTF-8) as an octal escape."""
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        out.append("\\" + c if c in '"\\' else c if 0x20 <= b < 0x7F and c != "?" else f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def raw_string(text):
    """A C++ raw string literal of text, with a delimiter that text does not contain."""
    delimiter, k = "nam", 0
    while f"){delimiter}\"" in text:
        k += 1
        delimiter = f"nam{k}"
    return f'R"{delimiter}({text}){delimiter}"'


@dataclass
class NamModel:
    source: str                # the file's name, for messages
    version: str
    architecture: str          # "WaveNet" or "LSTM"
    config: dict
    config_json: str
    weights: list              # float32 values (as Python floats), in NAM's order
    sample_rate: float = None  # None: the file has none
    metadata_json: str = "null"
    layer_arrays: list = None  # WaveNet: config.layers
    head_scale: float = None   # WaveNet: config.head_scale as float32

    def weight_count(self):
        if self.architecture == "WaveNet":
            return wavenet_weight_count(self.layer_arrays)
        return lstm_weight_count(self.config["hidden_size"], self.config["num_layers"])

    def description(self):
        if self.architecture == "WaveNet":
            arrays = "; ".join(f"{a['channels']} channels, kernel {a['kernel_size']}, dilations {a['dilations']}"
                               for a in self.layer_arrays)
            return f"WaveNet, {len(self.layer_arrays)} layer arrays ({arrays})"
        layers = self.config["num_layers"]
        return f"LSTM, hidden size {self.config['hidden_size']}, {layers} layer{'s' if layers > 1 else ''}"


def wavenet_weight_count(arrays):
    """The length of NAM's flat list for these layer arrays, head_scale included (a1_wavenet::weight_count)."""
    n, inputs = 1, 1
    for a in arrays:
        c, k, h = a["channels"], a["kernel_size"], a["head_size"]
        z = 2 * c if a["gated"] else c
        # rechannel; per layer: dilated conv + bias, mix-in, 1x1 residual + bias; head (+ bias)
        n += c * inputs + len(a["dilations"]) * (z * c * k + z + z + c * c + c) + h * c + (h if a["head_bias"] else 0)
        inputs = c
    return n


def lstm_weight_count(hidden, layers):
    """lstm_model<hidden, layers>::weight_count: per layer W [4H, in + H], b [4H], initial h and c; the head."""
    n = hidden + 1
    for layer in range(layers):
        n += 4 * hidden * ((1 if layer == 0 else hidden) + hidden) + 4 * hidden + 2 * hidden
    return n


def _member(obj, key, where, source):
    if key not in obj:
        raise ExportError(f"{source}: {where} has no key \"{key}\"")
    return obj[key]


def _count(obj, key, where, source):
    v = _member(obj, key, where, source)
    if type(v) is not int or v <= 0:
        raise ExportError(f"{source}: {where}.{key} must be a positive integer, found {_text(v)}")
    return v


def _flag(obj, key, where, source):
    v = _member(obj, key, where, source)
    if type(v) is not bool:
        raise ExportError(f"{source}: {where}.{key} must be true or false, found {_text(v)}")
    return v


def _only_known_keys(obj, known, where, source):
    """As src/io/nam.cpp: a key hinge does not know changes the model in a way it would ignore."""
    for key, value in obj.items():
        if key not in known:
            raise ExportError(f"{source}: {where} has the key \"{key}\" (value {_text(value)}), which hinge's NAM "
                              f"models do not support (known: {', '.join(known)})")


def _is_number(v):
    return type(v) in (int, float)


def _in_float_range(v, double=False):
    """v (a number read from JSON) is finite as a float (as a double)."""
    try:
        x = float(v)
    except (OverflowError, TypeError):
        return False
    return math.isfinite(x) and (double or abs(x) <= FLOAT_MAX)


def _read_wavenet(config, source):
    _only_known_keys(config, WAVENET_KEYS, "config", source)
    head = _member(config, "head", "config", source)
    if head is not None:
        raise ExportError(f"{source}: config.head is {_text(head)}; only NAM's A1 WaveNet without a post-head (null) "
                          "is supported")
    scale = _member(config, "head_scale", "config", source)
    if not _is_number(scale) or not _in_float_range(scale):
        raise ExportError(f"{source}: config.head_scale must be a number in float's range, found {_text(scale)}")
    layers = _member(config, "layers", "config", source)
    if type(layers) is not list or not layers:
        raise ExportError(f"{source}: config.layers must be a non-empty list of layer arrays, found {_text(layers)}")
    if len(layers) > MAX_LAYER_ARRAYS:
        raise ExportError(f"{source}: config.layers has {len(layers)} layer arrays; hinge::nam::a1_wavenet takes at "
                          f"most {MAX_LAYER_ARRAYS}")
    arrays, inputs = [], 1
    for k, a in enumerate(layers):
        where = f"config.layers[{k}]"
        if type(a) is not dict:
            raise ExportError(f"{source}: {where} must be an object, found {_text(a)}")
        _only_known_keys(a, LAYER_ARRAY_KEYS, where, source)
        c = {key: _count(a, key, where, source)
             for key in ("input_size", "condition_size", "head_size", "channels", "kernel_size")}
        d = _member(a, "dilations", where, source)
        if type(d) is not list or not d:
            raise ExportError(f"{source}: {where}.dilations must be a non-empty list, found {_text(d)}")
        if any(type(v) is not int or v <= 0 for v in d):
            raise ExportError(f"{source}: {where}.dilations must hold positive integers, found {_text(d)}")
        c["dilations"] = list(d)
        act = _member(a, "activation", where, source)
        if type(act) is not str:
            raise ExportError(f"{source}: {where}.activation is {_text(act)}, which hinge's NAM models do not map "
                              f"(they map the names {', '.join(ACTIVATIONS)})")
        if act not in ACTIVATIONS:
            raise ExportError(f"{source}: {where}.activation is \"{act}\", which hinge's NAM models do not map "
                              f"(they map {', '.join(ACTIVATIONS)})")
        c["activation"] = act
        c["gated"] = _flag(a, "gated", where, source)
        c["head_bias"] = _flag(a, "head_bias", where, source)
        # What a hinge::nam::layer_array is: the raw input mixed into every layer, the arrays one after another.
        if c["condition_size"] != 1:
            raise ExportError(f"{source}: {where}.condition_size is {c['condition_size']}; hinge's NAM WaveNet mixes "
                              "the audio input (condition_size 1) into every layer")
        if c["input_size"] != inputs:
            raise ExportError(f"{source}: {where}.input_size is {c['input_size']}; it must be "
                              + ("1, the audio input" if k == 0 else f"{inputs}, the channels of config.layers[{k - 1}]"))
        # NAM's array k + 1 starts its head sum from array k's head output.
        if arrays and arrays[-1]["head_size"] != c["channels"]:
            raise ExportError(f"{source}: config.layers[{k - 1}].head_size is {arrays[-1]['head_size']}; it must be "
                              f"{c['channels']}, the channels of config.layers[{k}], whose head sum starts from it")
        arrays.append(c)
        inputs = c["channels"]
    return arrays, f32(float(scale))


def _read_lstm(config, source):
    _only_known_keys(config, LSTM_KEYS, "config", source)
    c = {key: _count(config, key, "config", source) for key in LSTM_KEYS}
    if c["input_size"] != 1:
        raise ExportError(f"{source}: config.input_size is {c['input_size']}; hinge's NAM LSTM takes the audio input "
                          "alone (input_size 1)")
    return c


def parse_nam(text, source="<memory>"):
    """The model in a .nam file's JSON text; raises ExportError naming the key and value that do not fit."""
    try:
        j = json.loads(text, parse_constant=_NonFinite, parse_float=_number)
    except ValueError as e:
        raise ExportError(f"{source}: not a .nam file (invalid JSON): {e}") from None
    if type(j) is not dict:
        raise ExportError(f"{source}: not a .nam file: the top level is not a JSON object")
    version = _member(j, "version", "the file", source)
    if type(version) is not str:
        raise ExportError(f"{source}: version must be a string, found {_text(version)}")
    architecture = _member(j, "architecture", "the file", source)
    if type(architecture) is not str:
        raise ExportError(f"{source}: architecture must be a string, found {_text(architecture)}")
    config = _member(j, "config", "the file", source)
    if type(config) is not dict:
        raise ExportError(f"{source}: config must be an object, found {_text(config)}")
    model = NamModel(source=source, version=version, architecture=architecture, config=config,
                     config_json=_json(config, "config", source), weights=[])
    if architecture == "WaveNet":
        model.layer_arrays, model.head_scale = _read_wavenet(config, source)
    elif architecture == "LSTM":
        model.config = _read_lstm(config, source)
    else:
        raise ExportError(f"{source}: architecture \"{architecture}\" is not supported (supported: WaveNet, LSTM)")

    weights = _member(j, "weights", "the file", source)
    if type(weights) is not list:
        raise ExportError(f"{source}: weights must be a list of numbers, found {_text(weights)[:60]}")
    for k, w in enumerate(weights):
        if isinstance(w, _NonFinite) and w.text in ("NaN", "Infinity", "-Infinity"):
            raise ExportError(f"{source}: weights[{k}] is {w.text}, not a finite number")
        if not _is_number(w) and not isinstance(w, _NonFinite):
            raise ExportError(f"{source}: weights[{k}] is not a number: {_text(w)}")
        # NAM stores float32 values printed as doubles: rounding them back to float32 is exact. A
        # value beyond float's range is no float32 weight.
        if not _in_float_range(w):
            raise ExportError(f"{source}: weights[{k}] is {_text(w)}, beyond float's range")
        model.weights.append(f32(float(w)))
    expected = model.weight_count()
    if len(model.weights) != expected:
        raise ExportError(f"{source}: the weight count is {len(model.weights)}, the config needs {expected} "
                          f"({model.description()})")

    sample_rate = j.get("sample_rate")
    if sample_rate is not None:
        if not _is_number(sample_rate) or not _in_float_range(sample_rate, double=True):
            raise ExportError(f"{source}: sample_rate must be a finite number, found {_text(sample_rate)}")
        model.sample_rate = float(sample_rate)
    model.metadata_json = _json(j["metadata"], "metadata", source) if "metadata" in j else "null"
    return model


def read_nam(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ExportError(f"{path}: cannot read it: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExportError(f"{path}: not a .nam file (not UTF-8 text: {e.reason} at byte {e.start})") from None
    return parse_nam(text, path)


def _activation(name, fast_tanh):
    return FAST_TANH if fast_tanh and name == "Tanh" else ACTIVATIONS[name]


def model_type(model, fast_tanh=False):
    """The hinge type of the model, as the header spells it (one layer_array per line for a WaveNet)."""
    if model.architecture == "LSTM":
        c = model.config
        return f"hinge::nam::lstm_model<{c['hidden_size']}, {c['num_layers']}>" + ("::fast" if fast_tanh else "")
    arrays = [f"hinge::nam::layer_array<{a['channels']}, {a['kernel_size']}, "
              f"hinge::nam::dilations<{', '.join(str(d) for d in a['dilations'])}>, {a['head_size']}, "
              f"{'true' if a['head_bias'] else 'false'}, {_activation(a['activation'], fast_tanh)}, "
              f"{'true' if a['gated'] else 'false'}>" for a in model.layer_arrays]
    return "hinge::nam::a1_wavenet<\n    " + ",\n    ".join(arrays) + ">"


def _weights_initialiser(weights, per_line=4):
    literals = [float_literal(w) for w in weights]
    return "\n".join("    " + ", ".join(literals[i:i + per_line]) + ","
                     for i in range(0, len(literals), per_line))


def header(model, namespace, *, fast_tanh=False, command=None):
    """The header's text: the type, sample rate, metadata, weights, file() and load() in `namespace`."""
    name = os.path.basename(model.source)
    wavenet = model.architecture == "WaveNet"
    n = len(model.weights)
    rate = "no sample rate" if model.sample_rate is None else f"sample rate {model.sample_rate:g} Hz"
    tanh = "NAM's fast tanh (--fast-tanh, as NAM's plugin plays it)" if fast_tanh else "exact (NAM's default)"
    ns = namespace
    lines = [f"// Generated by hinge_export from {name}: a Neural Amp Modeler model as a hinge type, its weights",
             "// compiled in. Do not edit; regenerate it."]
    if command:
        lines.append(f"//   {command}")
    lines += ["//"] + textwrap.wrap(f"{model.description()}; {n:,} weights; {rate}; tanh: {tanh}.", 110,
                                    initial_indent="// ", subsequent_indent="// ", break_on_hyphens=False) + ["//"]
    rate_text = "48000" if model.sample_rate is None else f"{model.sample_rate:g}"
    usage = [(f"auto params = std::make_unique<hinge::parameters<{ns}::model::network<1>>>();", "")]
    if wavenet:
        usage += [(f"{ns}::load(*params);", "checks the config, places the weights"),
                  (f"hinge::stream<{ns}::model::network<1>> s;", ""),
                  (f"hinge::nam::prewarm(s, *params, {ns}::model::prewarm_samples);", "as NAM does")]
    else:
        usage += [(f"const {ns}::model::initial_state init = {ns}::load(*params);", "checks, places the weights"),
                  (f"hinge::stream<{ns}::model::network<1>> s;", ""),
                  (f"{ns}::model::start(s, init);", "the stored state; after every reset too"),
                  (f"hinge::nam::prewarm(s, *params, {ns}::model::prewarm_samples({rate_text}));", "as NAM does")]
    usage.append(("s.process(*params, block_in, block_out);", "in the audio callback"))
    width = max(len(code) for code, comment in usage if comment)
    lines += [f"//   {code:<{width}}  // {comment}" if comment else f"//   {code}" for code, comment in usage]
    lines += ["//",
              "// load() builds the file's hinge::nam::model_file from the compiled-in values (file()) and calls",
              f"// model::load on it, which checks and places them as it does when {name} is read at run time.",
              "// Nothing here reads a file: a program that includes this header needs no hinge::io.",
              "#pragma once", "",
              "#include <iterator>", "#include <optional>", "", "#include <hinge/nam/nam.hpp>", "",
              f"namespace {ns} {{", ""]
    if wavenet:
        lines += ["// One layer_array per entry of config.layers: channels, kernel size, dilations, head size, head bias,",
                  "// activation, gated."]
    lines += [f"using model = {model_type(model, fast_tanh)};", ""]
    lines += ["// The file's sample rate (std::nullopt: it has none). hinge does not resample: play the model at it.",
              "inline constexpr std::optional<double> sample_rate = "
              + ("std::nullopt" if model.sample_rate is None else repr(model.sample_rate)) + ";",
              "// The file's metadata object as JSON text (\"null\": it has none), its keys in the file's order.",
              f"inline constexpr const char* metadata_json = {raw_string(model.metadata_json)};", "",
              "// NAM's flat weight list, in the file's order: each value the file's float32, exactly.",
              "inline constexpr float weights[] = {", _weights_initialiser(model.weights), "};",
              "static_assert(std::size(weights) == model::weight_count,",
              f"              \"{ns}: hinge counts this model's weights otherwise than hinge_export did; \"",
              "              \"regenerate the header with the hinge_export of this hinge\");", "",
              "// The file as hinge::nam::read_model_file gives it, from the values compiled in.",
              "inline hinge::nam::model_file file() {",
              "    hinge::nam::model_file f;",
              f"    f.source = {cpp_string(name + ' (compiled in)')};",
              f"    f.version = {cpp_string(model.version)};",
              f"    f.architecture = {cpp_string(model.architecture)};",
              "    f.sample_rate = sample_rate;",
              f"    f.config_json = {raw_string(model.config_json)};",
              "    f.metadata_json = metadata_json;"]
    if wavenet:
        lines.append("    f.wavenet = hinge::nam::wavenet_config{.layer_arrays = {")
        for a in model.layer_arrays:
            lines.append(f"        {{.input_size = {a['input_size']}, .condition_size = {a['condition_size']}, "
                         f".head_size = {a['head_size']}, .channels = {a['channels']}, "
                         f".kernel_size = {a['kernel_size']}, .dilations = {{{', '.join(map(str, a['dilations']))}}}, "
                         f".activation = {cpp_string(a['activation'])}, .gated = {str(a['gated']).lower()}, "
                         f".head_bias = {str(a['head_bias']).lower()}}},")
        lines.append(f"    }}, .head_scale = {float_literal(model.head_scale)}}};")
    else:
        c = model.config
        lines.append(f"    f.lstm = hinge::nam::lstm_config{{.input_size = {c['input_size']}, "
                     f".hidden_size = {c['hidden_size']}, .num_layers = {c['num_layers']}}};")
    lines += ["    f.weights.assign(std::begin(weights), std::end(weights));", "    return f;", "}", ""]
    if wavenet:
        lines += ["// Checks the config against model and writes every weight into p (hinge::nam::a1_wavenet::load).",
                  "// Net: model::network<L> for any L (1 for a stream).",
                  "template <class Net, class T>",
                  "void load(hinge::parameters<Net, T>& p) {", "    model::load(file(), p);", "}"]
    else:
        lines += ["// Checks the config against model, writes every weight into p and returns the initial state the file",
                  "// stores (hinge::nam::lstm_model::load; put it into a stream with model::start).",
                  "// Net: model::network<L> for any L (1 for a stream).",
                  "template <class Net, class T>",
                  "model::initial_state load(hinge::parameters<Net, T>& p) {", "    return model::load(file(), p);",
                  "}"]
    lines += ["", f"}}  // namespace {ns}"]
    return "\n".join(lines) + "\n"
