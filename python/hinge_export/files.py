"""The two parameter file formats of include/hinge/io/, read and written with the standard library only.

  safetensors  (io/safetensors.hpp): u64 little-endian header length, a JSON header
               {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, the raw data.
  hinge format (io/save.hpp, version 2): "HINGEPRM", u32 version, u32 scalar type, u64
               fingerprint, the architecture description, the tensor table, the values in
               PyTorch's order, a CRC-32 of everything before it.
"""

import json
import os
import struct
import zlib

from .network import DTYPE_SIZE, ExportError, Tensor

SAFETENSORS_DTYPE_SIZE = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
                          "I16": 2, "U16": 2, "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1}


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def safetensors_bytes(tensors, metadata=None):
    """tensors: (name, Tensor) pairs; a Tensor of dtype I64 with shape () holds one integer."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        header[name] = {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(t.data)]}
        blobs.append(t.data)
        offset += len(t.data)
    if metadata:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # the data starts 8-byte aligned, as the reference writer does
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def int64_scalar(value):
    return Tensor((), "I64", struct.pack("<q", int(value)))


class SafetensorsFile:
    def __init__(self, path, tensors, metadata):
        self.path, self.tensors, self.metadata = path, tensors, metadata
        self.format = "safetensors"

    @property
    def architecture(self):
        return self.metadata.get("hinge.architecture", "")


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ExportError(f"{path}: truncated: a safetensors file starts with an 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ExportError(f"{path}: the header length is {n} bytes, but only {len(raw) - 8} follow (not a "
                          "safetensors file?)")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise ExportError(f"{path}: the header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ExportError(f"{path}: the header is not a JSON object")
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ExportError(f"{path}: tensor '{name}': expected dtype, shape and data_offsets") from None
        count = 1
        for d in shape:
            count *= d
        if dtype not in SAFETENSORS_DTYPE_SIZE or not 0 <= begin <= end <= len(data) or \
                end - begin != count * SAFETENSORS_DTYPE_SIZE[dtype]:
            raise ExportError(f"{path}: tensor '{name}': dtype {dtype}, shape {list(shape)} and data_offsets "
                              f"[{begin}, {end}] do not fit the {len(data)} bytes of data")
        tensors[name] = Tensor(shape, dtype, data[begin:end])
    return SafetensorsFile(path, tensors, metadata)


class HingeFile:
    def __init__(self, path):
        self.path = path
        self.format = "hinge"
        with open(path, "rb") as f:
            raw = f.read()
        pos = 0

        def take(n, what):
            nonlocal pos
            if pos + n > len(raw):
                raise ExportError(f"{path}: truncated: the file ends inside {what}")
            pos += n
            return raw[pos - n:pos]

        def u32(what):
            return struct.unpack("<I", take(4, what))[0]

        magic = take(min(8, len(raw)), "the magic")
        if magic != b"HINGEPRM":
            raise ExportError(f"{path}: not a hinge parameter file (the magic is {magic!r}, expected b'HINGEPRM')")
        self.version = u32("the version")
        if self.version not in (1, 2):
            raise ExportError(f"{path}: unsupported format version {self.version} (1 and 2 exist)")
        scalar = u32("the scalar type")
        if scalar not in (1, 2):
            raise ExportError(f"{path}: unknown scalar type code {scalar}")
        self.dtype = "F32" if scalar == 1 else "F64"
        self.fingerprint = struct.unpack("<Q", take(8, "the fingerprint"))[0]
        self.architecture = take(u32("the description's length"), "the description").decode("utf-8", "replace")
        declared = []
        for _ in range(u32("the tensor count")):
            name = take(u32("a tensor name's length"), "a tensor name").decode("utf-8", "replace")
            rank = u32("a rank")
            if rank > 8:
                raise ExportError(f"{path}: tensor '{name}' has rank {rank}: the header is corrupt")
            declared.append((name, tuple(struct.unpack("<%dQ" % rank, take(8 * rank, "a shape")))))
        self.tensors = {}
        for name, shape in declared:
            count = 1
            for d in shape:
                count *= d
            self.tensors[name] = Tensor(shape, self.dtype, take(count * DTYPE_SIZE[self.dtype], f"tensor '{name}'"))
        stored = struct.unpack("<I", take(4, "the checksum"))[0]
        self.trailing = len(raw) - pos
        self.checksum_ok = zlib.crc32(raw[:pos - 4]) & 0xFFFFFFFF == stored and self.trailing == 0
        self.metadata = {}


def read_parameter_file(path):
    """A safetensors or hinge file, told apart by the magic."""
    with open(path, "rb") as f:
        head = f.read(8)
    return HingeFile(path) if head == b"HINGEPRM" else read_safetensors(path)
