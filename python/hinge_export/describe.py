"""What a parameter file holds, and whether it fits a network: the Python twin of io/describe.hpp.

The comparison follows the loaders' order (io/safetensors.hpp, io/save.hpp), so the first
mismatch named here is the error that loading the file into that network would give: the
architecture metadata first, then the dtype (hinge files), then every tensor the network needs
(name, shape, dtype), then tensors the network has no place for.
"""

from .network import DTYPE_SIZE

ROLES_OF_BUFFERS = ("running_mean", "running_variance")


def _split(description):
    return description.split(" | ")


def architecture_difference(expected, found):
    """Port of io::detail::architecture_difference: the stage counts when they differ, then the first part that differs."""
    e, f = _split(expected), _split(found)

    def stages(n):
        return f"{n} stage" + ("" if n == 1 else "s")

    counts = f"the file has {stages(len(f) - 1)}, the network has {len(e) - 1}; " if len(e) != len(f) else ""
    for i in range(max(len(e), len(f))):
        where = "the input" if i == 0 else f"stage {i - 1}"
        if i >= len(f):
            return f"{counts}the file ends before {where} (expected '{e[i]}')"
        if i >= len(e):
            return f"{counts}the file has an extra {where} ('{f[i]}')"
        if e[i] != f[i]:
            return f"{counts}{where} differs: expected '{e[i]}', found '{f[i]}'"
    return "the descriptions are equal"


def shape_list(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def first_mismatch(file, network, dtype=None):
    """None when `file` (files.SafetensorsFile or files.HingeFile) loads into `network`
    (parameters<Net, float> for dtype "F32", double for "F64"; default: the file's dtype),
    otherwise the first reason it does not, in the loaders' words."""
    description = network.description()
    if file.format == "hinge":
        if not file.checksum_ok:
            return "checksum mismatch or trailing bytes: the file is corrupt"
        dtype = dtype or file.dtype
        if file.dtype != dtype:
            return f"wrong scalar type: expected {dtype}, found {file.dtype}"
        if file.architecture != description:
            return "different architecture: " + architecture_difference(description, file.architecture)
        table = network.tensor_table(DTYPE_SIZE[dtype])
        if len(file.tensors) != len(table):
            return f"expected {len(table)} tensors, found {len(file.tensors)}"
        for k, (slot, (name, tensor)) in enumerate(zip(table, file.tensors.items())):
            if name != slot.name or tuple(tensor.shape) != slot.shape:
                return (f"tensor {k}: expected '{slot.name}' {shape_list(slot.shape)}, found '{name}' "
                        f"{shape_list(tensor.shape)}")
        return None
    if file.architecture and file.architecture != description:
        return "different architecture: " + architecture_difference(description, file.architecture)
    dtypes = {t.dtype for n, t in file.tensors.items() if not n.endswith("num_batches_tracked")}
    dtype = dtype or ("F64" if dtypes == {"F64"} else "F32")
    used = set()
    for slot in network.tensor_table(DTYPE_SIZE[dtype]):
        tensor = file.tensors.get(slot.torch_name)
        if tensor is None:
            return f"missing tensor '{slot.torch_name}' (hinge's {slot.name}, shape {shape_list(slot.shape)})"
        used.add(slot.torch_name)
        shared_slope = slot.role == "slope" and tuple(tensor.shape) == (1,)
        if tuple(tensor.shape) != slot.shape and not shared_slope:
            hint = " (transposed?)" if len(slot.shape) == 2 and tuple(tensor.shape) == slot.shape[::-1] else ""
            return (f"tensor '{slot.torch_name}' (hinge's {slot.name}): expected shape {shape_list(slot.shape)}, "
                    f"found {shape_list(tensor.shape)}{hint}")
        if not (tensor.dtype == dtype or (tensor.dtype == "F32" and dtype == "F64")):
            return f"tensor '{slot.torch_name}': expected dtype {dtype}, found {tensor.dtype}"
    for name, tensor in file.tensors.items():
        if name not in used and not name.endswith("num_batches_tracked"):
            return f"tensor '{name}' {shape_list(tensor.shape)} has no place in the network"
    return None


def describe_text(file):
    lines = []
    values = sum(t.count for t in file.tensors.values())
    if file.format == "hinge":
        lines.append(f"{file.path}: hinge parameter file, format version {file.version}, {file.dtype}, "
                     f"{len(file.tensors)} tensors ({values:,} values), checksum "
                     + ("ok" if file.checksum_ok else "MISMATCH (the file is damaged)"))
        lines.append(f"  architecture: {file.architecture}")
        lines.append(f"  fingerprint:  0x{file.fingerprint:016x}")
    else:
        lines.append(f"{file.path}: safetensors file, {len(file.tensors)} tensors ({values:,} values)")
        if file.architecture:
            lines.append(f"  architecture: {file.architecture}")
        else:
            lines.append("  architecture: none (no hinge.architecture metadata: not written by hinge or hinge_export)")
        for key, value in sorted(file.metadata.items()):
            if key != "hinge.architecture":
                lines.append(f"  metadata:     {key} = {value}")
    width = max((len(n) for n in file.tensors), default=4)
    lines.append(f"  {'tensor':<{width}}  dtype  shape")
    for name, t in file.tensors.items():
        lines.append(f"  {name:<{width}}  {t.dtype:<5}  {shape_list(t.shape)}")
    return "\n".join(lines)
