// GPT-2's tokenizer (r50k_base) as run by tiktoken, to check flame's hand-written `gpt2`
// pre-tokenizer the same way llama3_reference.mjs checks `llama-bpe`.
//
//   node gpt2_reference.mjs tokenizer-json OUT.json        # tokenizer.json: same ranks, merges
//                                                          # derived from them, gpt2 split regex
//   node gpt2_reference.mjs encode LINES.jsonl OUT.jsonl   # tiktoken ids per line
import fs from "node:fs";
import { createRequire } from "node:module";
import { Tiktoken } from "tiktoken/lite";

const require = createRequire(import.meta.url);
const r50k = require("tiktoken/encoders/r50k_base.json");

// tiktoken's packed rank format: lines "! OFFSET tok tok ..." (base64 tokens, ranks OFFSET, OFFSET+1,
// ...) or "tok RANK".
function ranks() {
  const out = [];
  for (const line of r50k.bpe_ranks.split("\n")) {
    if (!line) continue;
    const parts = line.split(" ");
    if (parts[0] === "!") {
      const offset = Number(parts[1]);
      parts.slice(2).forEach((tok, i) => (out[offset + i] = Buffer.from(tok, "base64")));
    } else {
      out[Number(parts[1])] = Buffer.from(parts[0], "base64");
    }
  }
  return out;
}

function byteToUnicode() {
  const table = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    table[b] = String.fromCodePoint(printable ? b : next++);
  }
  return table;
}

function writeTokenizerJson(path) {
  const tokens = ranks();
  const b2u = byteToUnicode();
  const shown = tokens.map((t) => [...t].map((b) => b2u[b]).join(""));
  const rank = new Map(tokens.map((t, i) => [t.toString("latin1"), i]));
  const merges = [];
  tokens.forEach((t, r) => {
    const local = [];
    for (let i = 1; i < t.length; i++) {
      const l = rank.get(t.subarray(0, i).toString("latin1")), rr = rank.get(t.subarray(i).toString("latin1"));
      if (l !== undefined && rr !== undefined) local.push([l, rr]);
    }
    local.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    merges.push(...local.map(([l, rr]) => `${shown[l]} ${shown[rr]}`));
  });
  const vocab = Object.fromEntries(shown.map((s, i) => [s, i]));
  const doc = {
    version: "1.0",
    added_tokens: Object.entries(r50k.special_tokens).map(([content, id]) => ({ id, content, special: true })),
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: r50k.pat_str }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    post_processor: null,
    model: { type: "BPE", ignore_merges: true, vocab, merges },
  };
  fs.writeFileSync(path, JSON.stringify(doc));
  console.error(`wrote ${path}: ${tokens.length} tokens, ${merges.length} merges`);
}

function encodeLines(input, output) {
  const enc = new Tiktoken(r50k.bpe_ranks, r50k.special_tokens, r50k.pat_str);
  const lines = fs.readFileSync(input, "utf8").split("\n").filter((l) => l.length > 0);
  fs.writeFileSync(output, lines.map((l) => JSON.stringify(Array.from(enc.encode_ordinary(JSON.parse(l))))).join("\n") + "\n");
  enc.free();
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === "tokenizer-json") writeTokenizerJson(a);
else if (cmd === "encode") encodeLines(a, b);
else {
  console.error("usage: gpt2_reference.mjs tokenizer-json OUT | encode LINES OUT");
  process.exit(2);
}
