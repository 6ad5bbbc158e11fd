#!/usr/bin/python3
"""Independent check (standard library only) of the tokenizer files in a Hugging Face Llama folder
written by `flame export --safetensors DIR`, against what the loaders require:

  tokenizer.json (huggingface/tokenizers, tokenizer/serialization.rs and the component serdes)
    T1 "version" == "1.0"; a "model" of type BPE with "vocab" (str -> id) and "merges"
       ("left right" strings, or [left, right] pairs from tokenizers 0.20 on)
    T2 "added_tokens": objects with id, content, single_word, lstrip, rstrip, normalized, special;
       they are appended after the model vocabulary on load and tokenizers warns when an id
       differs, so their ids must be exactly len(vocab), len(vocab)+1, ... in order
    T3 pre_tokenizer: Sequence of Split {pattern: {Regex}, behavior: Isolated, invert: false} and
       ByteLevel {use_regex: false}, the Llama 3 arrangement; decoder ByteLevel
    T4 post_processor: TemplateProcessing needs all of single, pair and special_tokens
       (TemplateProcessingDeserializer has no defaults); every SpecialToken it names is in
       special_tokens with ids equal to the added token's id
    T5 every merge names two vocabulary tokens whose concatenation is also in the vocabulary
  tokenizer_config.json (transformers PreTrainedTokenizerFast, as meta-llama/Llama-3.2-1B has it)
    C1 tokenizer_class "PreTrainedTokenizerFast"; added_tokens_decoder maps str(id) to the same
       content/special as tokenizer.json's added_tokens; bos_token / eos_token are the text of
       added tokens; model_max_length an integer
  special_tokens_map.json
    S1 bos_token / eos_token objects {content, lstrip, normalized, rstrip, single_word} whose
       content equals tokenizer_config.json's
  generation_config.json and config.json
    G1 bos_token_id / eos_token_id (int or list of ints) are the ids of those tokens, and
       config.json agrees with generation_config.json's bos and first eos

usage: hf_tokenizer_files_check.py DIR    -> "ok: ..." and exit 0, or one line per problem, exit 1
"""
import json
import os
import sys

LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
ADDED_TOKEN_FIELDS = ("id", "content", "single_word", "lstrip", "rstrip", "normalized", "special")


def load(folder, name, problems):
    path = os.path.join(folder, name)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        problems.append(f"[{name}] cannot read: {e}")
        return None


def check(folder):
    problems = []

    def bad(rule, why):
        problems.append(f"[{rule}] {why}")

    tok = load(folder, "tokenizer.json", problems)
    cfg = load(folder, "tokenizer_config.json", problems)
    stm = load(folder, "special_tokens_map.json", problems)
    gen = load(folder, "generation_config.json", problems)
    model_cfg = load(folder, "config.json", problems)
    if problems:
        return problems

    # tokenizer.json
    if tok.get("version") != "1.0":
        bad("T1", f"version {tok.get('version')!r}")
    model = tok.get("model") or {}
    if model.get("type") != "BPE":
        bad("T1", f"model.type {model.get('type')!r}, expected BPE")
    vocab = model.get("vocab")
    merges = model.get("merges")
    if not isinstance(vocab, dict) or not isinstance(merges, list):
        return problems + ["[T1] model.vocab must be an object and model.merges a list"]
    ids = sorted(vocab.values())
    if ids != list(range(len(ids))):
        bad("T1", "model.vocab ids are not 0..n-1")
    added = tok.get("added_tokens", [])
    for i, a in enumerate(added):
        missing = [k for k in ADDED_TOKEN_FIELDS if k not in a]
        if missing:
            bad("T2", f"added_tokens[{i}] lacks {missing}")
        elif a["id"] != len(vocab) + i:
            bad("T2", f"added token {a['content']!r} has id {a['id']}, tokenizers would assign {len(vocab) + i}")
    added_by_content = {a.get("content"): a.get("id") for a in added}

    pre = tok.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else []
    split = [p for p in parts if p.get("type") == "Split"]
    byte_level = [p for p in parts if p.get("type") == "ByteLevel"]
    if len(split) != 1 or len(byte_level) != 1:
        bad("T3", "pre_tokenizer is not Sequence[Split, ByteLevel]")
    else:
        regex = split[0].get("pattern", {}).get("Regex")
        if regex not in (LLAMA3_SPLIT, GPT2_SPLIT):
            bad("T3", f"split regex is neither Llama 3's nor GPT-2's: {regex!r}")
        if split[0].get("behavior") != "Isolated" or split[0].get("invert") is not False:
            bad("T3", "Split must be behavior Isolated, invert false")
        if byte_level[0].get("use_regex") is not False:
            bad("T3", "ByteLevel after a Split must have use_regex false")
    if (tok.get("decoder") or {}).get("type") != "ByteLevel":
        bad("T3", "decoder is not ByteLevel")

    post = tok.get("post_processor")
    templates = []
    if isinstance(post, dict):
        processors = post.get("processors", []) if post.get("type") == "Sequence" else [post]
        templates = [p for p in processors if p.get("type") == "TemplateProcessing"]
    for t in templates:
        for field in ("single", "pair", "special_tokens"):
            if field not in t:
                bad("T4", f"TemplateProcessing lacks {field!r} (tokenizers refuses to load it)")
        named = {piece["SpecialToken"]["id"] for key in ("single", "pair") for piece in t.get(key, [])
                 if "SpecialToken" in piece}
        for name in named:
            entry = t.get("special_tokens", {}).get(name)
            if entry is None or entry.get("ids") != [added_by_content.get(name)] or entry.get("tokens") != [name]:
                bad("T4", f"special_tokens entry for {name!r} is missing or has the wrong ids")

    for i, m in enumerate(merges):
        pair = m.split(" ", 1) if isinstance(m, str) else m
        if len(pair) != 2 or pair[0] not in vocab or pair[1] not in vocab or pair[0] + pair[1] not in vocab:
            bad("T5", f"merge {i} {m!r} does not join two vocabulary tokens into a third")
            break

    # tokenizer_config.json
    if cfg.get("tokenizer_class") != "PreTrainedTokenizerFast":
        bad("C1", f"tokenizer_class {cfg.get('tokenizer_class')!r}")
    decoder = cfg.get("added_tokens_decoder", {})
    for a in added:
        d = decoder.get(str(a.get("id")))
        if d is None or d.get("content") != a.get("content") or d.get("special") != a.get("special"):
            bad("C1", f"added_tokens_decoder[{a.get('id')}] does not match tokenizer.json's {a.get('content')!r}")
    if len(decoder) != len(added):
        bad("C1", f"added_tokens_decoder has {len(decoder)} entries, tokenizer.json {len(added)}")
    for key in ("bos_token", "eos_token"):
        if cfg.get(key) not in added_by_content:
            bad("C1", f"{key} {cfg.get(key)!r} is not an added token")
    if not isinstance(cfg.get("model_max_length"), int):
        bad("C1", "model_max_length is not an integer")

    # special_tokens_map.json
    for key in ("bos_token", "eos_token"):
        entry = stm.get(key)
        if not isinstance(entry, dict) or entry.get("content") != cfg.get(key):
            bad("S1", f"{key} does not match tokenizer_config.json")
        elif any(f not in entry for f in ("lstrip", "normalized", "rstrip", "single_word")):
            bad("S1", f"{key} lacks AddedToken flags")

    # generation_config.json, config.json
    bos_id = added_by_content.get(cfg.get("bos_token"))
    eos_id = added_by_content.get(cfg.get("eos_token"))
    if gen.get("bos_token_id") != bos_id:
        bad("G1", f"generation bos_token_id {gen.get('bos_token_id')} != {bos_id}")
    eos = gen.get("eos_token_id")
    eos_list = eos if isinstance(eos, list) else [eos]
    if not eos_list or eos_list[0] != eos_id or not all(isinstance(e, int) for e in eos_list):
        bad("G1", f"generation eos_token_id {eos} does not start with {eos_id}")
    if model_cfg.get("bos_token_id") != bos_id or model_cfg.get("eos_token_id") != eos_id:
        bad("G1", "config.json bos/eos ids disagree with the tokenizer files")
    if model_cfg.get("vocab_size") != len(vocab) + len(added):
        bad("G1", f"config.json vocab_size {model_cfg.get('vocab_size')} != {len(vocab) + len(added)} tokens")

    if not problems:
        print(f"ok: {len(vocab)} vocab + {len(added)} added tokens, {len(merges)} merges, "
              f"bos {bos_id}, eos {eos_list}, {len(templates)} template processor(s)")
    return problems


if __name__ == "__main__":
    found = check(sys.argv[1])
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
