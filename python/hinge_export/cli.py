"""The command line: `python3 -m hinge_export MODEL -o model.hpp`, `python3 -m hinge_export describe FILE` and
`python3 -m hinge_export nam MODEL.nam --out model.hpp`."""

import argparse
import importlib
import importlib.util
import os
import re
import sys

from . import __version__, cpp
from .describe import describe_text, first_mismatch
from .files import read_parameter_file, safetensors_bytes, write_atomically
from .network import DTYPE_SIZE, ExportError, fold_batch_norm
from .parse import network_from_cpp, network_from_description

USAGE = """\
python3 -m hinge_export MODEL -o HEADER [options]     write HEADER with the hinge::network type of MODEL,
                                                      the weights as safetensors, and (--embed) compiled in
python3 -m hinge_export describe FILE [--against SPEC]
                                                      what a safetensors or hinge file holds, and whether it
                                                      loads into the network SPEC
python3 -m hinge_export nam MODEL.nam --out HEADER [--namespace NS] [--fast-tanh]
                                                      write HEADER with the hinge type of a Neural Amp Modeler
                                                      file, its weights compiled in (docs/nam.md)

MODEL is one of
  model.pt, model.pth    an nn.Module saved with torch.save(model, path)
  package.module:name    a function (no arguments) returning the nn.Module, or the nn.Module itself;
  path/to/file.py:name   the same, from a file; --state-dict then loads trained weights into it
  model.safetensors      a file written by hinge or hinge_export (its metadata holds the architecture)
  model.hinge            a file in hinge's own format
"""


def _parse_shape(text):
    """1,28,28; for a forward with several inputs, theirs joined by +: 1,256+1,256."""
    if "+" in text:
        return tuple(_parse_shape(part) for part in text.split("+"))
    try:
        return tuple(int(d) for d in re.split(r"[,x ]+", text.strip("[]() ")) if d)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 1,28,28") from None


def _is_parameter_file(path):
    return path.endswith((".safetensors", ".hinge"))


def _load_torch_object(spec, python_path):
    for p in python_path:
        sys.path.insert(0, os.path.abspath(p))
    import torch  # only here: the file paths of the exporter never need PyTorch

    if ":" in spec and not os.path.exists(spec):
        where, name = spec.rsplit(":", 1)
        if where.endswith(".py"):
            if not os.path.exists(where):
                raise ExportError(f"{where}: no such file")
            sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
            module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(where))[0], where)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_spec.name] = module  # so that torch.load finds classes defined there
            module_spec.loader.exec_module(module)
        else:
            sys.path.insert(0, os.getcwd())
            module = importlib.import_module(where)
        if not hasattr(module, name):
            raise ExportError(f"{spec}: {where} has no '{name}'")
        obj = getattr(module, name)
        model = obj if isinstance(obj, torch.nn.Module) else obj()
        if not isinstance(model, torch.nn.Module):
            raise ExportError(f"{spec} returned a {type(model).__name__}, not an nn.Module")
        return model
    if not os.path.exists(spec):
        raise ExportError(f"{spec}: no such file")
    sys.path.insert(0, os.path.dirname(os.path.abspath(spec)))
    try:
        obj = torch.load(spec, map_location="cpu")
    except (AttributeError, ModuleNotFoundError) as e:
        raise ExportError(f"{spec}: torch.load cannot rebuild the model: {e} (a model of your own classes needs "
                          "them importable: --python-path DIR, or name the function that builds it, "
                          "module:function)") from None
    if isinstance(obj, dict):
        raise ExportError(f"{spec} holds a state_dict (tensor names and values), which does not say which "
                          "activations sit between the layers: save the module itself (torch.save(model, path)), or "
                          "name the function that builds it and pass this file with --state-dict")
    return obj


def load_network(spec, *, input_shape=None, fold=False, dtype=None, state_dict=None, python_path=()):
    """The Network (with tensors) of a model or parameter file, and notes for the user."""
    if _is_parameter_file(spec):
        if not os.path.exists(spec):
            raise ExportError(f"{spec}: no such file")
        return network_of_file(read_parameter_file(spec), fold=fold)
    from .torch_mapping import map_model

    model = _load_torch_object(spec, python_path)
    if state_dict:
        import torch

        state = torch.load(state_dict, map_location="cpu")
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ExportError(f"{state_dict} does not fit {spec}: {str(e).strip()}") from None
    return map_model(model, input_shape, dtype, fold)


def network_of_file(file, fold=False):
    """A parameter file's network (from its architecture description) with its tensors."""
    if not file.architecture:
        raise ExportError(f"{file.path} has no hinge.architecture metadata, so it does not say which activations sit "
                          "between its layers: export the PyTorch module instead (model.pt, or module:function)")
    network = network_from_description(file.architecture, file.path)
    network.apply_multilayer_metadata(file.metadata.get("hinge.multilayer_recurrent"), file.path)
    mismatch = first_mismatch(file, network)
    if mismatch:
        raise ExportError(f"{file.path}: {mismatch}")
    if file.format == "hinge" and file.version == 1 and any(
            s.layer.kind in ("convolution", "flatten") for s in network.stages):
        raise ExportError(f"{file.path}: format version 1 held convolutional networks in another order; load it with "
                          "hinge and save it again (version 2)")
    dtype = file.dtype if file.format == "hinge" else None
    for slot in network.tensor_table(DTYPE_SIZE[dtype or "F32"]):
        tensor = file.tensors[slot.name if file.format == "hinge" else slot.torch_name]
        network.stages[slot.stage].tensors[slot.role] = tensor
    for s in network.stages:
        if s.layer.normalization:
            s.tensors.setdefault("num_batches_tracked", 0)
    notes = []
    if fold:
        network = fold_batch_norm(network, notes)
    return network, notes


def network_of_spec(spec, input_shape=None, python_path=()):
    """--against: a C++ type, a generated header, a parameter file or a model."""
    if "<" in spec and not os.path.exists(spec):
        return network_from_cpp(spec), spec
    if spec.endswith((".hpp", ".h")) and os.path.exists(spec):
        with open(spec, encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"std::string_view\s+(\w+?)_architecture\s*=\s*\"([^\"]*)\"", text)
        if m:
            return network_from_description(m.group(2), spec), m.group(1)
        m = re.search(r"using\s+(\w+)\s*=\s*((?:\w+::)*network\s*<.*?>)\s*;", text, re.S)
        if m:
            return network_from_cpp(m.group(2)), m.group(1)
        raise ExportError(f"{spec} has neither a hinge_export architecture constant nor a 'using X = "
                          "hinge::network<...>;'")
    network, _ = load_network(spec, input_shape=input_shape, python_path=python_path)
    return network, spec


def _default_type_name(path):
    name = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    return name if re.match(r"[A-Za-z_]", name) else "model_" + name


def network_dtype(network, dtype=None):
    """The dtype to write ("F32" or "F64"): the one asked for, else the one of the tensors."""
    return dtype or next((t.dtype for s in network.stages for t in s.tensors.values()
                          if hasattr(t, "dtype") and t.dtype in ("F32", "F64")), "F32")


def write_export(network, notes, header_path, *, type_name=None, namespace="", dtype=None, embed=None,
                 parameters_name=None, weights=True, source_path=None, source_label="", command=None):
    """Writes the header, the weights (weights: a path, True for the header's name with .safetensors,
    False for none) and, with embed="source", the .cpp; returns the paths written."""
    dtype = network_dtype(network, dtype)
    type_name = type_name or _default_type_name(header_path)
    weights_path = None if not weights else (weights if isinstance(weights, str)
                                             else os.path.splitext(header_path)[0] + ".safetensors")
    source_path = source_path or (os.path.splitext(header_path)[0] + ".cpp" if embed == "source" else None)
    header_dir = os.path.dirname(os.path.abspath(header_path))
    weights_name = os.path.relpath(weights_path, header_dir) if weights_path else None
    text = cpp.header(network, type_name, namespace=namespace, dtype=dtype, embed=embed,
                      parameters_name=parameters_name, source=source_label, weights_file=weights_name,
                      command=command, source_file=os.path.basename(source_path) if source_path else None,
                      notes=notes)
    for path in (header_path, weights_path, source_path):
        if path and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomically(header_path, text.encode())
    if source_path:
        write_atomically(source_path, cpp.source(network, type_name, os.path.basename(header_path),
                                                 namespace=namespace, dtype=dtype, parameters_name=parameters_name,
                                                 source=source_label).encode())
    if weights_path:
        metadata = {"format": "pt", "hinge.architecture": network.description(),
                    "hinge.exporter": f"hinge_export {__version__}"}
        if network.multilayer_metadata():
            # Which stages are the layers of one nn.GRU / nn.LSTM, named "<k>.weight_ih_l1" etc., so
            # that the type can be regenerated from this file alone, and hinge's load_safetensors
            # names them so without being told (io::multilayer_recurrent_names).
            metadata["hinge.multilayer_recurrent"] = network.multilayer_metadata()
        data = safetensors_bytes(network.safetensors_entries(dtype), metadata)
        write_atomically(weights_path, data)
    return [p for p in (header_path, source_path, weights_path) if p]


def print_summary(what, written, network, notes, type_name, dtype):
    print(f"hinge_export: {what} -> {', '.join(written)}: {len(network.stages)} stages, "
          f"{network.parameter_count():,} parameters, {'float' if network_dtype(network, dtype) == 'F32' else 'double'}")
    print(f"  {type_name} = {network.cpp_type('')}")
    print(f"  input: {cpp.input_layout(network)[0]}")
    for note in notes:
        print(f"  note: {note}")


def export_command(args):
    dtype = {"float32": "F32", "float64": "F64", None: None}[args.dtype]
    network, notes = load_network(args.model, input_shape=args.input_shape, fold=args.fold_batch_norm, dtype=dtype,
                                  state_dict=args.state_dict, python_path=args.python_path)
    type_name = args.type or _default_type_name(args.output)
    command = "python3 -m hinge_export " + " ".join(os.path.basename(a) if os.path.isabs(a) else a
                                                    for a in (args.argv or []))
    written = write_export(network, notes, args.output, type_name=type_name, namespace=args.namespace, dtype=dtype,
                           embed=args.embed, parameters_name=args.parameters_name,
                           weights=False if args.no_weights else (args.weights or True), source_path=args.source,
                           source_label=os.path.basename(args.model), command=command)
    if not args.quiet:
        print_summary(args.model, written, network, notes, type_name, dtype)
    return 0


def describe_command(args):
    file = read_parameter_file(args.file)
    print(describe_text(file))
    if not args.against:
        return 0
    network, name = network_of_spec(args.against, args.input_shape, args.python_path)
    dtype = {"float32": "F32", "float64": "F64", None: None}[args.dtype]
    stacks = file.metadata.get("hinge.multilayer_recurrent")
    how = ""
    if stacks and not network.multilayer_stacks() and file.architecture == network.description():
        # A C++ type does not say which of its stages were one multi-layer nn.GRU / nn.LSTM; the file
        # does, and is loaded with the names that says (as the header the exporter wrote shows).
        network.apply_multilayer_metadata(stacks, file.path)
        how = " with " + ", ".join(f"io::multilayer_recurrent_names<Net, {first}, {layers}>()"
                                   for first, layers in network.multilayer_stacks()) + \
              " (the file's hinge.multilayer_recurrent metadata)"
    mismatch = first_mismatch(file, network, dtype)
    if mismatch is None:
        print(f"matches {name}{how}: {network.cpp_type('')}")
        return 0
    print(f"does not match {name}: {mismatch}")
    return 1


def nam_command(args):
    from . import nam

    model = nam.read_nam(args.model)
    namespace = cpp.check_namespace(args.namespace or _default_type_name(args.out))
    command = "python3 -m hinge_export " + " ".join(os.path.basename(a) if os.path.isabs(a) else a
                                                    for a in args.argv if a not in ("-q", "--quiet"))
    text = nam.header(model, namespace, fast_tanh=args.fast_tanh, command=command)
    if os.path.dirname(args.out):
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
    write_atomically(args.out, text.encode("utf-8"))
    if not args.quiet:
        print(f"hinge_export: {args.model} -> {args.out}: {model.description()}, {len(model.weights):,} weights")
        print(f"  {namespace}::model = {' '.join(nam.model_type(model, args.fast_tanh).split())}")
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["nam"]:
        parser = argparse.ArgumentParser(prog="python3 -m hinge_export nam", usage=USAGE)
        parser.add_argument("model", help="the .nam file")
        parser.add_argument("-o", "--out", "--output", dest="out", required=True, help="the header to write")
        parser.add_argument("--namespace", help="the namespace of the generated names (default: the header's name)")
        parser.add_argument("--fast-tanh", action="store_true",
                            help="NAM's fast tanh in place of every Tanh, as NAM's plugin plays the model")
        parser.add_argument("-q", "--quiet", action="store_true")
        command, args = nam_command, parser.parse_args(argv[1:])
        args.argv = argv
    elif argv[:1] == ["describe"]:
        parser = argparse.ArgumentParser(prog="python3 -m hinge_export describe", usage=USAGE)
        parser.add_argument("file")
        parser.add_argument("--against", help="a C++ type (hinge::network<...>), a header hinge_export wrote, "
                                              "a parameter file or a model (.pt, module:function)")
        parser.add_argument("--input-shape", type=_parse_shape)
        parser.add_argument("--dtype", choices=("float32", "float64"))
        parser.add_argument("--python-path", action="append", default=[])
        command, args = describe_command, parser.parse_args(argv[1:])
    else:
        parser = argparse.ArgumentParser(prog="python3 -m hinge_export", usage=USAGE)
        parser.add_argument("model")
        parser.add_argument("-o", "--output", required=True, help="the header to write (model.hpp)")
        parser.add_argument("--type", help="the type alias's name (default: the header's name)")
        parser.add_argument("--namespace", default="", help="a namespace for the generated names")
        parser.add_argument("--input-shape", type=_parse_shape,
                            help="the input of one sample in PyTorch's order, e.g. 1,28,28, or 256,1 for a sequence "
                                 "of 256 steps into a batch_first GRU or LSTM (needed unless the model starts with "
                                 "nn.Linear); a forward with several inputs: each one's, joined by +")
        parser.add_argument("--weights", help="the safetensors file to write (default: the header's name with "
                                              ".safetensors)")
        parser.add_argument("--no-weights", action="store_true", help="write no safetensors file")
        parser.add_argument("--embed", choices=("header", "source"),
                            help="compile the parameters in: into the header, or into a .cpp (--source)")
        parser.add_argument("--source", help="the .cpp for --embed source (default: the header's name with .cpp)")
        parser.add_argument("--parameters-name", help="the compiled-in parameters' name (default: TYPE_parameters)")
        parser.add_argument("--fold-batch-norm", action="store_true",
                            help="fold every BatchNorm that directly follows a Linear or Conv into it (inference)")
        parser.add_argument("--dtype", choices=("float32", "float64"), help="default: the model's")
        parser.add_argument("--state-dict", help="trained weights to load into the model first (strictly)")
        parser.add_argument("--python-path", action="append", default=[],
                            help="a folder to import the model's own classes from (repeatable)")
        parser.add_argument("-q", "--quiet", action="store_true")
        command, args = export_command, parser.parse_args(argv)
        args.argv = argv
    try:
        return command(args)
    except (ExportError, ValueError, OSError) as e:
        print(f"hinge_export: error: {e}", file=sys.stderr)
        return 1
