"""hinge_export: from a PyTorch model to a hinge network type, its weights, and compiled-in parameters.

Command line (docs/interop.md):

    python3 -m hinge_export model.pt -o model.hpp [--type NAME] [--embed source] [--input-shape 1,28,28]
    python3 -m hinge_export describe model.safetensors [--against 'hinge::network<...>']
    python3 -m hinge_export nam capture.nam --out capture.hpp [--namespace amp] [--fast-tanh]   (docs/nam.md)

From Python, e.g. at the end of the script that trains the model (its classes may be defined in
that script: the live module is mapped, nothing is pickled or imported):

    import hinge_export
    hinge_export.export(model, "model.hpp", input_shape=(1, 28, 28))   # model.hpp, model.safetensors
    network, notes = hinge_export.export(model, input_shape=(1, 28, 28))   # no files
    print(network.cpp_type())                # hinge::network<hinge::input<28, 28, 1>, ...>
    print(network.description())             # hinge::io::architecture_description of that type

Both raise hinge_export.ExportError for a model that does not map exactly. The PyTorch side
(torch_mapping.py) needs python3-torch; reading and writing parameter files and regenerating a type
from one need only the standard library.
"""

__version__ = "0.1"

import os  # noqa: E402
import sys  # noqa: E402

from .network import ExportError, Network  # noqa: E402
from .parse import network_from_cpp, network_from_description  # noqa: E402

_DTYPES = {None: None, "F32": "F32", "F64": "F64", "float32": "F32", "float64": "F64"}


def export(model, output=None, *, input_shape=None, fold_batch_norm=False, dtype=None, type_name=None,
           namespace="", embed=None, weights=True, source=None, parameters_name=None, quiet=True):
    """Maps the nn.Module `model` to a hinge network, and with `output` writes what the command line
    writes: the header `output` (the type, named `type_name`, default: the header's name), the weights
    (`weights`: True for the header's name with .safetensors, a path, or False) and, with
    embed="source" ("header"), the parameters compiled in (into `source`, default: the header's name
    with .cpp). Returns (network, notes); raises ExportError for anything that does not map exactly.

    input_shape: one sample in PyTorch's order, e.g. (1, 28, 28), or (256, 1) for 256 steps into a
    batch_first GRU (not needed when the model starts with nn.Linear). dtype: "float32" or "float64"
    (default: the model's). The model may be defined in the running script (__main__): it is mapped
    as it is, in eval mode (its mode is restored)."""
    from .torch_mapping import map_model

    if dtype not in _DTYPES:
        raise ValueError(f"dtype '{dtype}': expected float32 or float64")
    network, notes = map_model(model, input_shape, _DTYPES[dtype], fold_batch_norm)
    if output is None:
        return network, notes
    from .cli import _default_type_name, print_summary, write_export

    output = os.fspath(output)
    type_name = type_name or _default_type_name(output)
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "Python"
    cls = type(model)
    label = f"{cls.__qualname__} ({script if cls.__module__ == '__main__' else cls.__module__})"
    arguments = [repr(os.path.basename(output))] + [
        f"{k}={v!r}" for k, v in (("input_shape", None if input_shape is None else tuple(input_shape)),
                                  ("fold_batch_norm", fold_batch_norm or None), ("dtype", dtype),
                                  ("type_name", type_name), ("namespace", namespace or None), ("embed", embed))
        if v is not None]
    command = f"hinge_export.export(model, {', '.join(arguments)}) in {script}"
    written = write_export(network, notes, output, type_name=type_name, namespace=namespace, dtype=_DTYPES[dtype],
                           embed=embed, parameters_name=parameters_name,
                           weights=os.fspath(weights) if isinstance(weights, os.PathLike) else weights,
                           source_path=os.fspath(source) if source else None, source_label=label, command=command)
    if not quiet:
        print_summary(label, written, network, notes, type_name, _DTYPES[dtype])
    return network, notes


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(argv)


__all__ = ["ExportError", "Network", "export", "main", "network_from_cpp", "network_from_description"]
