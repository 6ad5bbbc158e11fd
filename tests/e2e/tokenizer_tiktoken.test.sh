#!/usr/bin/env bash
# flame's Llama 3 tokenizer against Meta's reference (tiktoken with the real Llama 3 ranks shipped
# by llama3-tokenizer-js and Meta's split pattern), on 50,000 generated lines of varied text, through
# both a tokenizer.json and a GGUF holding the same vocabulary, merges (derived from the ranks) and
# special tokens; and the gpt2 pre-tokenizer against tiktoken's GPT-2 encoding. Also:
# decode(encode(x)) == x for every line, special tokens parsed only with --special, and the ids of a
# text full of special tokens equal tiktoken's with specials allowed.
# Needs scripts/setup-node (fails, never skips, when the npm packages are missing).
set -euo pipefail
: "${FLAME:?}" "${FLAME_SOURCE_DIR:?}" "${FLAME_SCRATCH:?}"
e2e="$FLAME_SOURCE_DIR/tests/e2e"
[ -d "$e2e/node_modules/tiktoken" ] && [ -d "$e2e/node_modules/llama3-tokenizer-js" ] ||
  { echo "FAIL: npm reference packages missing: run scripts/setup-node" >&2; exit 1; }
work="$FLAME_SCRATCH/tokenizer_tiktoken"
mkdir -p "$work"
cd "$e2e"

node llama3_reference.mjs tokenizer-json "$work/llama3.json"
"$FLAME" tokenizer-convert "$work/llama3.json" "$work/llama3.gguf"
node tokenizer_lines.mjs 50000 20261127 "$work/lines.jsonl"
node llama3_reference.mjs encode "$work/lines.jsonl" "$work/expected.jsonl"
[ "$(wc -l < "$work/expected.jsonl")" -ge 50000 ] || { echo "FAIL: fewer than 50000 reference lines" >&2; exit 1; }

compare() {  # $1 tokenizer file
  "$FLAME" tokenize --tokenizer "$1" --jsonl --no-bos --check-roundtrip -f "$work/lines.jsonl" > "$work/actual.jsonl"
  if ! cmp -s "$work/actual.jsonl" "$work/expected.jsonl"; then
    bad=$(diff "$work/actual.jsonl" "$work/expected.jsonl" | grep -c '^<' || true)
    echo "FAIL: $1: $bad of 50000 lines differ from tiktoken; first:" >&2
    line=$(cmp "$work/actual.jsonl" "$work/expected.jsonl" | sed -E 's/.*line ([0-9]+).*/\1/')
    echo "  text:     $(sed -n "${line}p" "$work/lines.jsonl")" >&2
    echo "  flame:    $(sed -n "${line}p" "$work/actual.jsonl")" >&2
    echo "  tiktoken: $(sed -n "${line}p" "$work/expected.jsonl")" >&2
    exit 1
  fi
  echo "ok: $1: 50000/50000 lines equal tiktoken, round trip exact"
  return 0
}
compare "$work/llama3.json"
compare "$work/llama3.gguf"

# The hand-written gpt2 pre-tokenizer, the same way: tiktoken's r50k_base (GPT-2) ranks and regex.
node gpt2_reference.mjs tokenizer-json "$work/gpt2.json"
node gpt2_reference.mjs encode "$work/lines.jsonl" "$work/expected.jsonl"
compare "$work/gpt2.json"

# Special tokens: recognised with --special (equal to tiktoken with all specials allowed), plain
# text otherwise (equal to tiktoken's encode_ordinary), BOS from the metadata.
text='<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi <|eot_id|><|reserved_special_token_7|>x<|eot_id'
printf '%s' "$text" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(s)))' > "$work/special.json"
node llama3_reference.mjs encode-special "$work/special.json" "$work/special_expected.json"
got=$("$FLAME" tokenize --tokenizer "$work/llama3.gguf" --special --no-bos "$text")
want=$(cat "$work/special_expected.json")
[ "$got" = "$want" ] || { echo "FAIL: --special: flame $got != tiktoken $want" >&2; exit 1; }

printf '%s\n' "$(cat "$work/special.json")" > "$work/special_line.jsonl"
node llama3_reference.mjs encode "$work/special_line.jsonl" "$work/special_plain.jsonl"
got=$("$FLAME" tokenize --tokenizer "$work/llama3.gguf" --no-bos --jsonl -f "$work/special_line.jsonl")
[ "$got" = "$(cat "$work/special_plain.jsonl")" ] || { echo "FAIL: specials parsed without --special: $got" >&2; exit 1; }
case "$got" in *128009*|*128000*) echo "FAIL: special ids in user text" >&2; exit 1 ;; esac
got=$("$FLAME" tokenize --tokenizer "$work/llama3.gguf" "Hello")
[ "$got" = "[128000,9906]" ] || { echo "FAIL: BOS per metadata: got $got" >&2; exit 1; }
echo "ok: special tokens only with --special; BOS per metadata"
