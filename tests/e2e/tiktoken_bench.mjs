// Single-thread encoding speed of the tiktoken reference (WASM build of OpenAI's Rust tiktoken)
// with the real Llama 3 vocabulary, for docs/benchmarks.md next to flame's bench/tokenizer_bench.
//
//   node tiktoken_bench.mjs TEXT_FILE [REPEATS=5] [IDS_OUT]
// Prints the median MB/s over REPEATS encodings of the whole file (encode_ordinary); IDS_OUT gets the
// ids (one per line) so they can be compared with flame's.
import fs from "node:fs";
import { makeTiktoken } from "./llama3_reference.mjs";

const [file, repeats = "5", idsOut] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const enc = makeTiktoken();
const times = [];
let ids;
for (let i = 0; i < Number(repeats); i++) {
  const t0 = process.hrtime.bigint();
  ids = enc.encode_ordinary(text);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({ reference: "tiktoken-wasm", bytes, tokens: ids.length, median_seconds: median,
  mb_per_s: bytes / 1e6 / median, all_seconds: times }));
if (idsOut) fs.writeFileSync(idsOut, Array.from(ids).join("\n") + "\n");
enc.free();
