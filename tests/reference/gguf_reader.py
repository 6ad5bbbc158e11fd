#!/usr/bin/python3
"""Independent GGUF reader (written from the public GGUF spec, ggml docs/gguf.md, using only
struct): prints a file's header, metadata and tensor infos as JSON so C++ tests can compare.

usage: gguf_reader.py FILE.gguf

Output: {"version", "alignment", "data_offset", "metadata": [{"key", "value"}...],
         "tensors": [{"name", "ne", "type", "offset", "abs_offset", "nbytes", "fnv1a64"}...]}
where each value is {"t": type name, "v": scalar} or {"t": "array", "et": element type, "v": [values]}.
"""
import json
import struct
import sys

VALUE_TYPES = {0: ("u8", "<B"), 1: ("i8", "<b"), 2: ("u16", "<H"), 3: ("i16", "<h"), 4: ("u32", "<I"),
               5: ("i32", "<i"), 6: ("f32", "<f"), 7: ("bool", "<B"), 8: ("string", None), 9: ("array", None),
               10: ("u64", "<Q"), 11: ("i64", "<q"), 12: ("f64", "<d")}
# ggml type id -> (name, elements per block, bytes per block)
TENSOR_TYPES = {0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20),
                6: ("q5_0", 32, 22), 7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36),
                10: ("q2_K", 256, 84), 11: ("q3_K", 256, 110), 12: ("q4_K", 256, 144), 13: ("q5_K", 256, 176),
                14: ("q6_K", 256, 210), 15: ("q8_K", 256, 292), 24: ("i8", 1, 1), 25: ("i16", 1, 2),
                26: ("i32", 1, 4), 27: ("i64", 1, 8), 28: ("f64", 1, 8), 30: ("bf16", 1, 2)}


class Parser:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"truncated at byte {self.pos}")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self):
        n = self.unpack("<Q")
        if self.pos + n > len(self.data):
            raise ValueError(f"string past end at byte {self.pos}")
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw.decode("utf-8")

    def value(self, type_id):
        name, fmt = VALUE_TYPES[type_id]
        if name == "string":
            return {"t": "string", "v": self.string()}
        if name == "array":
            element_type = self.unpack("<I")
            count = self.unpack("<Q")
            items = [self.value(element_type) for _ in range(count)]
            return {"t": "array", "et": VALUE_TYPES[element_type][0], "v": items}
        raw = self.unpack(fmt)
        if name == "bool":
            if raw not in (0, 1):
                raise ValueError("bool not 0/1")
            raw = bool(raw)
        return {"t": name, "v": raw}


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    p = Parser(data)
    if data[:4] != b"GGUF":
        raise ValueError("bad magic")
    p.pos = 4
    version = p.unpack("<I")
    if version not in (2, 3):
        raise ValueError(f"version {version}")
    n_tensors = p.unpack("<Q")
    n_kv = p.unpack("<Q")
    metadata = []
    alignment = 32
    for _ in range(n_kv):
        key = p.string()
        value = p.value(p.unpack("<I"))
        if key == "general.alignment":
            alignment = value["v"]
        metadata.append({"key": key, "value": value})
    tensors = []
    for _ in range(n_tensors):
        name = p.string()
        n_dims = p.unpack("<I")
        ne = [p.unpack("<Q") for _ in range(n_dims)]
        type_id = p.unpack("<I")
        offset = p.unpack("<Q")
        tensors.append({"name": name, "ne": ne, "type_id": type_id, "offset": offset})
    data_offset = (p.pos + alignment - 1) // alignment * alignment
    for t in tensors:
        type_name, block, type_size = TENSOR_TYPES[t.pop("type_id")]
        numel = 1
        for d in t["ne"]:
            numel *= d
        t["type"] = type_name
        t["nbytes"] = numel // block * type_size
        t["abs_offset"] = data_offset + t["offset"]
        if t["abs_offset"] + t["nbytes"] > len(data):
            raise ValueError(f"tensor {t['name']} past end")
        t["fnv1a64"] = fnv1a64(data[t["abs_offset"]:t["abs_offset"] + t["nbytes"]])
    return {"version": version, "alignment": alignment, "data_offset": data_offset, "metadata": metadata,
            "tensors": tensors}


if __name__ == "__main__":
    print(json.dumps(read(sys.argv[1])))
