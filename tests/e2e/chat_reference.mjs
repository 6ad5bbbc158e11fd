// Meta's documented Llama 3 / 3.1 / 3.2 prompt format, written out by hand from the documentation
// (llama.com "Model Cards & Prompt formats"), encoded by tiktoken with the real Llama 3 vocabulary
// and every special token allowed. Independent of flame's chat code.
//
//   node chat_reference.mjs CASE_NAME OUT_DIR   # writes OUT_DIR/CASE.messages.json and CASE.expected.json
import fs from "node:fs";
import { makeTiktoken } from "./llama3_reference.mjs";

const header = (role) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const turn = (role, content) => `${header(role)}${content}<|eot_id|>`;

const CASES = {
  // Llama 3.2 Instruct, no system message: the template adds its default system preamble.
  "llama3.2-default-system": {
    messages: [
      { role: "user", content: "What is the capital of France?" },
      { role: "assistant", content: "The capital of France is Paris." },
      { role: "user", content: "  And of Spain?  \n" },
    ],
    date: "23 Jul 2024",
    text:
      "<|begin_of_text|>" +
      turn("system", "Cutting Knowledge Date: December 2023\nToday Date: 23 Jul 2024\n\n") +
      turn("user", "What is the capital of France?") +
      turn("assistant", "The capital of France is Paris.") +
      turn("user", "And of Spain?") +
      header("assistant"),
  },
  // Llama 3.1 with a system message: preamble, then the system text.
  "llama3.1-system": {
    messages: [
      { role: "system", content: "You are a helpful assistant" },
      { role: "user", content: "Write 3 haiku about tokenizers. Don't rhyme!" },
    ],
    date: "",
    text:
      "<|begin_of_text|>" +
      turn("system", "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are a helpful assistant") +
      turn("user", "Write 3 haiku about tokenizers. Don't rhyme!") +
      header("assistant"),
  },
  // Llama 3 (original) multi-turn: no preamble.
  "llama3-multiturn": {
    messages: [
      { role: "system", content: "Answer in French." },
      { role: "user", content: "Hello! 你好 🌍" },
      { role: "assistant", content: "Bonjour !" },
      { role: "user", content: "1234567 items\n\nplease" },
    ],
    date: "",
    text:
      "<|begin_of_text|>" +
      turn("system", "Answer in French.") +
      turn("user", "Hello! 你好 🌍") +
      turn("assistant", "Bonjour !") +
      turn("user", "1234567 items\n\nplease") +
      header("assistant"),
  },
};

const [name, outDir] = process.argv.slice(2);
if (name === "list") {
  console.log(Object.keys(CASES).join("\n"));
} else {
  const c = CASES[name];
  if (!c) throw new Error(`unknown case ${name}`);
  const enc = makeTiktoken();
  fs.writeFileSync(`${outDir}/${name}.messages.json`, JSON.stringify(c.messages));
  fs.writeFileSync(`${outDir}/${name}.expected.json`, JSON.stringify(Array.from(enc.encode(c.text, "all"))));
  fs.writeFileSync(`${outDir}/${name}.date`, c.date);
  enc.free();
}
