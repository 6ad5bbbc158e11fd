#!/usr/bin/python3
"""Independent safetensors reader/writer (json + struct + numpy, from the public format description:
u64 little-endian header length, JSON header, then tensor bytes at data_offsets).

usage: safetensors_reference.py dump FILE     -> JSON {"metadata", "tensors": {name: {dtype, shape,
                                                 data_offsets, sum, fnv1a64}}} ("sum": float64 sum of
                                                 the values, decoded by numpy; BF16 widened by hand)
       safetensors_reference.py write FILE    -> writes a sample with every common dtype
"""
import json
import struct
import sys

import numpy as np

NUMPY = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I8": np.int8, "I16": np.int16,
         "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def values(dtype, raw):
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return bits.view(np.float32)
    return np.frombuffer(raw, dtype=NUMPY[dtype])


def dump(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {"metadata": header.pop("__metadata__", {}), "tensors": {}}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        out["tensors"][name] = {"dtype": info["dtype"], "shape": info["shape"], "data_offsets": [begin, end],
                                "sum": float(values(info["dtype"], raw).astype(np.float64).sum()),
                                "fnv1a64": fnv1a64(raw)}
    print(json.dumps(out))


def write(path):
    tensors = {
        "model.embed_tokens.weight": ("F32", np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6)),
        "model.norm.weight": ("F16", (np.arange(5) / 7).astype(np.float16)),
        "lm_head.weight": ("BF16", np.array([[0x3F80, 0xC000], [0x3E00, 0x0000]], dtype=np.uint16)),
        "ids": ("I64", np.array([1, -2, 3], dtype=np.int64)),
        "counts": ("I32", np.array([[7], [8]], dtype=np.int32)),
        "scale": ("F64", np.array([2.5], dtype=np.float64)),
    }
    header, blobs, offset = {"__metadata__": {"format": "pt", "source": "python"}}, [], 0
    # Stored in reverse name order so offsets do not follow header order.
    for name in sorted(tensors, reverse=True):
        dtype, array = tensors[name]
        raw = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    {"dump": dump, "write": write}[sys.argv[1]](sys.argv[2])
