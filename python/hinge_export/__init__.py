"""hinge_export: from a PyTorch model to a hinge network type, its weights, and compiled-in parameters.

Command line (docs/interop.md):

    python3 -m hinge_export model.pt -o model.hpp [--type NAME] [--embed source] [--input-shape 1,28,28]
    python3 -m hinge_export describe model.safetensors [--against 'hinge::network<...>']

From Python:

    import hinge_export
    network, notes = hinge_export.export(model, input_shape=(1, 28, 28))   # raises hinge_export.ExportError
    print(network.cpp_type())                # hinge::network<hinge::input<28, 28, 1>, ...>
    print(network.description())             # hinge::io::architecture_description of that type

The PyTorch side (torch_mapping.py) needs python3-torch; reading and writing parameter files and
regenerating a type from one need only the standard library.
"""

__version__ = "0.1"

from .network import ExportError, Network  # noqa: E402
from .parse import network_from_cpp, network_from_description  # noqa: E402


def export(model, *, input_shape=None, fold_batch_norm=False, dtype=None):
    """The hinge Network of an nn.Module, with notes for the user; raises ExportError for anything that
    does not map exactly. input_shape: one sample in PyTorch's order, e.g. (1, 28, 28) (not needed
    when the model starts with nn.Linear). dtype: "F32" or "F64" (default: the model's)."""
    from .torch_mapping import map_model

    return map_model(model, input_shape, dtype, fold_batch_norm)


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(argv)


__all__ = ["ExportError", "Network", "export", "main", "network_from_cpp", "network_from_description"]
