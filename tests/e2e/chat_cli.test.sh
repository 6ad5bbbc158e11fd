#!/usr/bin/env bash
# Text generation from the CLI: `flame run -p` (raw and --chat) and `flame chat` on random-weight
# models given a trained tokenizer. Checks the streamed text is valid UTF-8 (random models emit
# arbitrary byte tokens), that the chat keeps history and counts context, refuses a message that
# no longer fits, survives Ctrl-C during a reply and goes on, and that bad inputs are clear errors.
set -euo pipefail
: "${FLAME:?}" "${FLAME_SOURCE_DIR:?}" "${FLAME_SCRATCH:?}"
work="$FLAME_SCRATCH/chat_cli"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
valid_utf8() { /usr/bin/python3 -c 'import sys; sys.stdin.buffer.read().decode("utf-8")' < "$1" || fail "$1 is not valid UTF-8"; }

node "$FLAME_SOURCE_DIR/tests/e2e/tokenizer_lines.mjs" 3000 5 corpus.jsonl
/usr/bin/python3 -c 'import json,sys; [print(json.loads(l)) for l in open("corpus.jsonl")]' > corpus.txt
"$FLAME" tokenizer-train -f corpus.txt --vocab 512 -o tok.gguf -q
"$FLAME" synth --shape tiny -o tiny.gguf 2>/dev/null
"$FLAME" tokenizer-embed tiny.gguf tok.gguf tiny_tok.gguf

"$FLAME" run -m tiny_tok.gguf -p "Hello 🌍 there" -n 200 --seed 3 > raw.txt 2> raw.err
valid_utf8 raw.txt
grep -q "generated: " raw.err || fail "no summary: $(cat raw.err)"
"$FLAME" run -m tiny_tok.gguf -p "Hi" --chat --system "Be brief." -n 50 --seed 3 > chat1.txt 2> chat1.err
valid_utf8 chat1.txt
grep -q "prompt: " chat1.err || fail "$(cat chat1.err)"

# Bad input: a model without a tokenizer, a token id past the vocabulary, -p and --tokens together.
"$FLAME" run -m tiny.gguf -p "Hi" -n 2 2> e1 && fail "run -p without a tokenizer succeeded"
grep -q "tokenizer" e1 || fail "unclear error: $(cat e1)"
"$FLAME" run -m tiny_tok.gguf --tokens 1,99999 -n 2 2> e2 && fail "out-of-range token accepted"
grep -q "out of range" e2 || fail "unclear error: $(cat e2)"

# History and context: a 120-token context fills up after a few turns and says so.
printf 'Hello there\nTell me more about tokenizers please\nAnd again\nOnce more\nLast one\n/quit\n' |
  "$FLAME" chat -m tiny_tok.gguf -c 120 -n 30 --seed 1 > chat.txt 2> chat.err
valid_utf8 chat.txt
grep -q "context [0-9]*/120" chat.err || fail "no context count: $(cat chat.err)"
grep -qi "context is full" chat.err || fail "full context not reported: $(cat chat.err)"
first=$(grep -o "context [0-9]*/120" chat.err | head -1 | grep -o "[0-9]*/" | tr -d /)
second=$(grep -o "context [0-9]*/120" chat.err | sed -n 2p | grep -o "[0-9]*/" | tr -d /)
[ "$second" -gt "$first" ] || fail "history not kept ($first then $second)"

# Ctrl-C stops the current reply only: a long reply is interrupted, the next message is answered.
"$FLAME" synth --shape small --type f16 -o small.gguf 2>/dev/null
"$FLAME" tokenizer-embed small.gguf tok.gguf small_tok.gguf
rm -f in && mkfifo in
"$FLAME" chat -m small_tok.gguf -c 2048 -n 100000 --temp 0 -t 1 < in > sig.txt 2> sig.err &
pid=$!
exec 3> in
echo "Write a very long story" >&3
for _ in $(seq 100); do grep -q "^> " sig.err 2>/dev/null && [ -s sig.txt ] && break; sleep 0.2; done
sleep 1
kill -INT "$pid"
sleep 1
echo "Second question" >&3
echo "/quit" >&3
exec 3>&-
wait "$pid" || fail "chat exited with $? after Ctrl-C: $(cat sig.err)"
grep -q "stop: interrupted" sig.err || fail "reply not interrupted: $(cat sig.err)"
[ "$(grep -c '^\[\|> \[' sig.err)" -ge 2 ] || [ "$(grep -o 'tokens, ' sig.err | wc -l)" -ge 2 ] ||
  fail "no reply after Ctrl-C: $(cat sig.err)"
echo "ok: run -p / --chat, chat history, context full, Ctrl-C, bad inputs"
