#!/usr/bin/python3
"""Independent check that a GGUF file meets what llama.cpp's loader requires of a `llama` model
with a byte-level BPE (`gpt2`) tokenizer. llama.cpp cannot be installed here, so its rules are
restated from its source (github.com/ggml-org/llama.cpp, read November 2026):

  ggml/src/gguf.cpp, gguf_init_from_file_impl
    G1 magic "GGUF", version 2 or 3; no duplicate metadata keys; no duplicate tensor names,
       names shorter than GGML_MAX_NAME (64); at most GGML_MAX_DIMS (4) dimensions
    G2 general.alignment, when present, a u32 power of two (default 32)
    G3 ne[0] a multiple of the type's block size
    G4 the data section starts at the header end rounded up to the alignment, and every tensor's
       offset equals the sum of the earlier tensors' sizes each padded to the alignment
       ("tensor '%s' has offset %zu, expected %zu")
  src/llama-model-loader.cpp
    L1 GGUFMeta get_key: a key's GGUF type must be exactly the one the loader reads
       ("key %s has wrong type %s but expected type %s"): u32 for lengths/counts/ids, f32 for
       eps/rope base, bool for add_*_token, string/array-of-string for the tokenizer lists
    L2 every tensor's data lies inside the file ("data is not within the file bounds")
    L3 done_getting_tensors: every tensor in the file is one the architecture asked for
       ("wrong number of tensors; expected %d, got %d")
  src/llama-model.cpp, load_hparams / load_tensors for LLM_ARCH_LLAMA
    M1 required: {arch}.context_length, .embedding_length, .block_count,
       .attention.head_count, .feed_forward_length, .attention.layer_norm_rms_epsilon;
       optional: .attention.head_count_kv (default head_count), .attention.key_length /
       value_length (default embedding_length / head_count), .rope.freq_base (f32),
       .rope.dimension_count (must equal the head size: "invalid n_rot"), .vocab_size
    M2 tensors (ggml ne order, innermost first): token_embd {n_embd, n_vocab};
       output_norm {n_embd}; output {n_embd, n_vocab} optional (absent: tied to token_embd);
       per layer blk.i.: attn_norm {n_embd}, attn_q {n_embd, head_k*n_head},
       attn_k {n_embd, head_k*n_head_kv}, attn_v {n_embd, head_v*n_head_kv},
       attn_output {head_k*n_head, n_embd}, ffn_norm {n_embd}, ffn_gate {n_embd, n_ff},
       ffn_down {n_ff, n_embd}, ffn_up {n_embd, n_ff}; rope_freqs {n_rot/2} optional
       ("tensor '%s' has wrong shape; expected %s, got %s"); n_vocab = len(tokenizer.ggml.tokens)
  src/llama-vocab.cpp, llama_vocab::impl::load
    V1 tokenizer.ggml.model "gpt2" needs tokenizer.ggml.merges ("cannot find tokenizer merges
       in model file"); each merge is "left right" split at the first space after position 0
    V2 tokenizer.ggml.pre one of the names that select the intended pre-tokenizer: "llama-bpe"
       (also "llama3", "llama-v3": LLAMA3 regex, ignore_merges, add_bos) or "gpt-2" (GPT2
       regex); anything else falls back to 'default' with a warning, i.e. different splitting
    V3 tokenizer.ggml.tokens present ("cannot find tokenizer vocab"), each non-empty, all
       distinct (GGML_ASSERT(id_to_token.size() == token_to_id.size()))
    V4 tokenizer.ggml.scores / token_type, when present, f32 / i32 arrays of n_vocab entries
       (read as raw arrays of that length); token types 1..6 as LLAMA_TOKEN_TYPE_*
    V5 special ids (bos/eos/eot/padding...) u32 and < n_vocab ("bad special token")
    V6 byte-level BPE needs the GPT-2 byte alphabet: byte_to_token() looks each of the 256 byte
       characters up with token_to_id.at(); "\\n" must tokenize (the linefeed token)
    V7 "<|eot_id|>" is auto-detected as EOT and must be CONTROL (type 3), else llama.cpp warns
       "control-looking token ... was not control-type"
  Beyond the loader (convert_hf_to_gguf.py's convention, so every backend op accepts the file):
    C1 1-D tensors (norms, rope_freqs) are F32
    C2 each merge's left+right is itself a token (otherwise the merge can never apply)

usage: llama_cpp_gguf_check.py MODEL.gguf      -> prints "ok: ..." and exits 0, or one line per
                                                   problem ("[rule] what") and exits 1
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reader  # noqa: E402

BLOCK = {"f32": 1, "f16": 1, "bf16": 1, "q4_0": 32, "q4_1": 32, "q5_0": 32, "q5_1": 32, "q8_0": 32,
         "q2_K": 256, "q3_K": 256, "q4_K": 256, "q5_K": 256, "q6_K": 256}
PRE_NAMES = {"llama3", "llama-v3", "llama-bpe", "gpt-2"}


def byte_alphabet():
    """GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100.."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def check(path):
    problems = []

    def bad(rule, why):
        problems.append(f"[{rule}] {why}")

    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] != b"GGUF":
        return [f"[G1] bad magic {head[:4]!r}"]
    g = gguf_reader.read(path)
    file_size = os.path.getsize(path)
    if g["version"] not in (2, 3):
        bad("G1", f"version {g['version']}")

    meta = {}
    for kv in g["metadata"]:
        if kv["key"] in meta:
            bad("G1", f"duplicate key {kv['key']}")
        meta[kv["key"]] = kv["value"]

    def typed(key, want, required=True):
        """The value of `key` when its GGUF type is `want` (e.g. "u32", "array:string")."""
        v = meta.get(key)
        if v is None:
            if required:
                bad("M1" if key.startswith("llama.") else "V1", f"missing required key {key}")
            return None
        got = v["t"] if v["t"] != "array" else "array:" + v["et"]
        if got != want:
            bad("L1", f"key {key} has type {got}, llama.cpp reads {want}")
            return None
        return v["v"]

    alignment = 32
    if "general.alignment" in meta:
        a = typed("general.alignment", "u32")
        if a is not None and (a == 0 or a & (a - 1)):
            bad("G2", f"general.alignment {a} is not a power of two")
        alignment = a or 32
    if typed("general.architecture", "string") != "llama":
        bad("L1", f"general.architecture is {meta.get('general.architecture')}, expected llama")
    typed("general.name", "string", required=False)
    typed("general.file_type", "u32", required=False)

    # Tokenizer (llama-vocab.cpp).
    tokens = typed("tokenizer.ggml.tokens", "array:string") or []
    tokens = [t["v"] for t in tokens]
    n_vocab = len(tokens)
    model = typed("tokenizer.ggml.model", "string")
    if model is not None and model != "gpt2":
        bad("V1", f"tokenizer.ggml.model is {model!r}, expected 'gpt2' (byte-level BPE)")
    pre = typed("tokenizer.ggml.pre", "string", required=False)
    if pre not in PRE_NAMES:
        bad("V2", f"tokenizer.ggml.pre {pre!r} is not one llama.cpp maps to the llama3 or gpt-2 splitter")
    if any(t == "" for t in tokens):
        bad("V3", f"empty token at index {tokens.index('')}")
    if len(set(tokens)) != n_vocab:
        seen, dup = set(), None
        for t in tokens:
            if t in seen:
                dup = t
                break
            seen.add(t)
        bad("V3", f"duplicate token {dup!r}: GGML_ASSERT(id_to_token.size() == token_to_id.size()) aborts")
    types = typed("tokenizer.ggml.token_type", "array:i32", required=False)
    types = [t["v"] for t in types] if types is not None else None
    if types is not None:
        if len(types) != n_vocab:
            bad("V4", f"token_type has {len(types)} entries, tokens {n_vocab}")
        elif any(t < 1 or t > 6 for t in types):
            bad("V4", "token_type outside LLAMA_TOKEN_TYPE 1..6")
    scores = typed("tokenizer.ggml.scores", "array:f32", required=False)
    if scores is not None and len(scores) != n_vocab:
        bad("V4", f"scores has {len(scores)} entries, tokens {n_vocab}")
    merges = typed("tokenizer.ggml.merges", "array:string")
    index = {t: i for i, t in enumerate(tokens)}
    for i, m in enumerate(m["v"] for m in (merges or [])):
        pos = m.find(" ", 1)
        if pos < 0:
            bad("V1", f"merge {i} {m!r} has no separating space")
            break
        left, right = m[:pos], m[pos + 1:]
        if left not in index or right not in index or left + right not in index:
            bad("C2", f"merge {i} {m!r}: {left!r}, {right!r} or their concatenation is not a token")
            break
    for key in ("bos", "eos", "eot", "eom", "unk", "sep", "padding", "mask"):
        v = typed(f"tokenizer.ggml.{key}_token_id", "u32", required=False)
        if v is not None and v >= n_vocab:
            bad("V5", f"tokenizer.ggml.{key}_token_id {v} >= vocabulary size {n_vocab}")
    for key in ("add_bos_token", "add_eos_token", "add_space_prefix"):
        typed(f"tokenizer.ggml.{key}", "bool", required=False)
    typed("tokenizer.chat_template", "string", required=False)
    alphabet = byte_alphabet()
    missing = [b for b, ch in alphabet.items() if ch not in index]
    if missing:
        bad("V6", f"{len(missing)} byte tokens missing (first: byte 0x{missing[0]:02x} = {alphabet[missing[0]]!r})")
    if "<|eot_id|>" in index and types is not None and types[index["<|eot_id|>"]] != 3:
        bad("V7", "<|eot_id|> is not CONTROL (type 3)")

    # Hyperparameters (llama-model.cpp, LLM_ARCH_LLAMA).
    n_ctx = typed("llama.context_length", "u32")
    n_embd = typed("llama.embedding_length", "u32")
    n_layer = typed("llama.block_count", "u32")
    n_ff = typed("llama.feed_forward_length", "u32")
    n_head = typed("llama.attention.head_count", "u32")
    n_head_kv = typed("llama.attention.head_count_kv", "u32", required=False) or n_head
    typed("llama.attention.layer_norm_rms_epsilon", "f32")
    typed("llama.rope.freq_base", "f32", required=False)
    vocab_size = typed("llama.vocab_size", "u32", required=False)
    if vocab_size is not None and vocab_size != n_vocab:
        bad("M1", f"llama.vocab_size {vocab_size} != {n_vocab} tokens")
    if None in (n_ctx, n_embd, n_layer, n_ff, n_head) or n_head == 0:
        return problems + ["[M1] cannot check tensors without the hyperparameters"]
    head_k = typed("llama.attention.key_length", "u32", required=False) or n_embd // n_head
    head_v = typed("llama.attention.value_length", "u32", required=False) or n_embd // n_head
    n_rot = typed("llama.rope.dimension_count", "u32", required=False)
    if n_rot is not None and n_rot != head_k:
        bad("M1", f"invalid n_rot: {n_rot}, expected {head_k}")
    n_rot = n_rot or head_k
    if n_head_kv == 0 or n_head % n_head_kv:
        bad("M1", f"head_count {n_head} is not a multiple of head_count_kv {n_head_kv}")

    expected = {"token_embd.weight": [n_embd, n_vocab], "output_norm.weight": [n_embd]}
    optional = {"output.weight": [n_embd, n_vocab], "rope_freqs.weight": [n_rot // 2]}
    for i in range(n_layer):
        b = f"blk.{i}."
        expected.update({
            b + "attn_norm.weight": [n_embd], b + "attn_q.weight": [n_embd, head_k * n_head],
            b + "attn_k.weight": [n_embd, head_k * n_head_kv], b + "attn_v.weight": [n_embd, head_v * n_head_kv],
            b + "attn_output.weight": [head_k * n_head, n_embd], b + "ffn_norm.weight": [n_embd],
            b + "ffn_gate.weight": [n_embd, n_ff], b + "ffn_down.weight": [n_ff, n_embd],
            b + "ffn_up.weight": [n_embd, n_ff]})

    # Tensors (gguf.cpp layout, llama-model-loader.cpp bounds and count, llama-model.cpp shapes).
    names = set()
    running = 0
    for t in g["tensors"]:
        name, ne = t["name"], t["ne"]
        if name in names:
            bad("G1", f"duplicate tensor name {name}")
        names.add(name)
        if len(name.encode()) >= 64:
            bad("G1", f"tensor name {name} is too long")
        if len(ne) > 4 or len(ne) == 0:
            bad("G1", f"tensor {name} has {len(ne)} dimensions")
        if t["type"] not in BLOCK:
            bad("G3", f"tensor {name} has type {t['type']}, not one llama.cpp's CPU backend loads for weights")
        elif ne and ne[0] % BLOCK[t["type"]]:
            bad("G3", f"tensor {name}: {ne[0]} elements per row, not a multiple of block size {BLOCK[t['type']]}")
        if t["offset"] != running:
            bad("G4", f"tensor {name} has offset {t['offset']}, expected {running}")
        running += (t["nbytes"] + alignment - 1) // alignment * alignment
        if t["abs_offset"] + t["nbytes"] > file_size:
            bad("L2", f"tensor {name} data is not within the file bounds")
        if g["data_offset"] % alignment:
            bad("G4", "data section not aligned")
        want = expected.get(name, optional.get(name))
        if want is None:
            bad("L3", f"tensor {name} is not one llama.cpp's llama architecture loads (wrong number of tensors)")
        elif ne != want:
            bad("M2", f"tensor {name} has wrong shape; expected {want}, got {ne}")
        if len(ne) == 1 and t["type"] != "f32":
            bad("C1", f"1-D tensor {name} is {t['type']}, expected f32")
    for name in sorted(set(expected) - names):
        bad("M2", f"missing tensor {name}")

    if not problems:
        print(f"ok: llama, {n_layer} layers, dim {n_embd}, heads {n_head}/{n_head_kv}, ffn {n_ff}, "
              f"vocab {n_vocab}, pre {pre}, {len(g['tensors'])} tensors, "
              f"{'tied' if 'output.weight' not in names else 'untied'} output")
    return problems


if __name__ == "__main__":
    found = check(sys.argv[1])
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
