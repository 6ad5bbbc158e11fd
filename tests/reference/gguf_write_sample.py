#!/usr/bin/python3
"""Writes a small GGUF file with Python's struct module alone (from the public GGUF spec), so the
C++ reader is checked against bytes it did not produce: version 2, alignment 64, every value type,
nested arrays, and F32/F16/BF16/Q8_0 tensors stored out of order with gaps between them.

usage: gguf_write_sample.py OUT.gguf
"""
import struct
import sys

import numpy as np


def s(text):
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def kv(key, type_id, payload):
    return s(key) + struct.pack("<I", type_id) + payload


def main(path):
    alignment = 64
    f32 = np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.25) - np.float32(1.0)
    f16 = (np.arange(10, dtype=np.float32) / 3).astype(np.float16)
    bf16 = (np.arange(6, dtype=np.uint16) * 977 + 3).astype(np.uint16)  # raw bfloat16 bits
    q8 = bytes((i * 37 + 11) % 256 for i in range(2 * 34))  # two Q8_0 blocks of raw bytes
    metadata = [
        kv("general.architecture", 8, s("llama")),
        kv("general.alignment", 4, struct.pack("<I", alignment)),
        kv("v.u8", 0, struct.pack("<B", 200)),
        kv("v.i8", 1, struct.pack("<b", -7)),
        kv("v.u16", 2, struct.pack("<H", 60000)),
        kv("v.i16", 3, struct.pack("<h", -12345)),
        kv("v.u32", 4, struct.pack("<I", 3000000000)),
        kv("v.i32", 5, struct.pack("<i", -123456789)),
        kv("v.f32", 6, struct.pack("<f", 1e-5)),
        kv("v.bool", 7, struct.pack("<B", 1)),
        kv("v.string", 8, s("Ġhello ▁wörld")),
        kv("v.u64", 10, struct.pack("<Q", 2**63 + 5)),
        kv("v.i64", 11, struct.pack("<q", -(2**62))),
        kv("v.f64", 12, struct.pack("<d", 2.718281828459045)),
        kv("v.strings", 9, struct.pack("<IQ", 8, 3) + s("<|eot_id|>") + s("") + s("Ċ")),
        kv("v.floats", 9, struct.pack("<IQ", 6, 2) + struct.pack("<ff", 0.1, -2.5)),
        kv("v.nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 5, 2) + struct.pack("<ii", 1, -1)
           + struct.pack("<IQ", 7, 1) + struct.pack("<B", 0)),
    ]
    # (name, ne innermost first, ggml type, data); placed in reverse order with an extra gap.
    tensors = [("w.f32", [4, 3], 0, f32.tobytes()), ("w.f16", [10], 1, f16.tobytes()),
               ("w.bf16", [3, 2], 30, bf16.tobytes()), ("w.q8_0", [32, 2], 8, q8)]
    offsets, cursor = {}, 0
    for name, _, _, data in reversed(tensors):
        offsets[name] = cursor
        cursor = (cursor + len(data) + alignment + alignment - 1) // alignment * alignment
    header = b"GGUF" + struct.pack("<IQQ", 2, len(tensors), len(metadata)) + b"".join(metadata)
    for name, ne, type_id, _ in tensors:
        header += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        header += struct.pack("<IQ", type_id, offsets[name])
    header += b"\0" * ((-len(header)) % alignment)
    body = bytearray(cursor)
    for name, _, _, data in tensors:
        body[offsets[name]:offsets[name] + len(data)] = data
    with open(path, "wb") as out:
        out.write(header + bytes(body))


if __name__ == "__main__":
    main(sys.argv[1])
