// `flame tokenize`: text -> token ids as JSON, with the model's (or a tokenizer file's) tokenizer.
//   flame tokenize -m model.gguf "Hello world"          -> [128000, 9906, 1917]
//   flame tokenize --tokenizer tok.json -f in.txt --pieces --no-bos
//   flame tokenize -m model.gguf --chat conversation.json [--chat-template llama3.2 --date "26 Jul 2024"]
//                                                         (messages [{"role":..,"content":..}] -> prompt ids)
//   flame tokenize --tokenizer tok.gguf --jsonl -f lines.jsonl   (one JSON string in, one array out
//                                                                 per line; used by the tests)
#include <fstream>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "flame/core/error.h"
#include "flame/tokenizer/chat_template.h"
#include "flame/tokenizer/tokenizer.h"

namespace {

using flame::tokenizer::EncodeOptions;
using flame::tokenizer::Tokenizer;
using nlohmann::json;

struct Options {
  std::string model, tokenizer_file, text, input_file, chat_file, chat_template, date;
  bool special = false, pieces = false, no_bos = false, jsonl = false, check_roundtrip = false;
};

std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw flame::IoError(path, "cannot open input text");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

int run_jsonl(const Tokenizer& tok, const Options& o, const EncodeOptions& enc) {
  const std::string data = read_input(o.input_file.empty() ? "-" : o.input_file);
  size_t line_no = 0, failures = 0, start = 0;
  std::string out;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    const std::string_view line(data.data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    std::string text;
    try {
      text = json::parse(line).get<std::string>();
    } catch (const json::exception& e) {
      throw flame::FormatError(o.input_file, fmt::format("line {}", line_no), 0, "not a JSON string");
    }
    const auto ids = tok.encode(text, enc);
    out += json(ids).dump();
    out += '\n';
    if (o.check_roundtrip) {
      const size_t skip = (!ids.empty() && enc.add_bos && ids.front() == tok.bos_id() && tok.spec().add_bos) ? 1 : 0;
      if (tok.decode(std::span(ids).subspan(skip)) != text) {
        if (failures < 5) fmt::print(stderr, "round trip differs on line {}\n", line_no);
        ++failures;
      }
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (failures) throw flame::Error(fmt::format("decode(encode(x)) != x on {} of {} lines", failures, line_no));
  return 0;
}

int run(const Options& o) {
  if (o.model.empty() == o.tokenizer_file.empty())
    throw flame::ArgumentError("tokenize", "give exactly one of -m MODEL or --tokenizer FILE");
  const Tokenizer tok = Tokenizer::load(o.model.empty() ? o.tokenizer_file : o.model);
  const EncodeOptions enc{.add_bos = !o.no_bos, .parse_special = o.special};
  if (o.jsonl) return run_jsonl(tok, o, enc);
  if (!o.chat_file.empty()) {
    const json doc = json::parse(read_input(o.chat_file), nullptr, false);
    if (!doc.is_array())
      throw flame::FormatError(o.chat_file, "(json)", 0, "expected an array of {\"role\", \"content\"} messages");
    std::vector<flame::tokenizer::ChatMessage> messages;
    for (const auto& m : doc) messages.push_back({m.value("role", ""), m.value("content", "")});
    const auto kind = o.chat_template.empty() ? flame::tokenizer::detect_chat_template(tok.spec().chat_template)
                                              : flame::tokenizer::chat_template_from_name(o.chat_template);
    const flame::tokenizer::ChatFormat format(tok, kind, o.date);
    fmt::print("{}\n", json(format.encode(messages, true)).dump());
    return 0;
  }
  if (!o.text.empty() && !o.input_file.empty())
    throw flame::ArgumentError("tokenize", "give TEXT or -f FILE, not both");
  const std::string text = o.input_file.empty() ? o.text : read_input(o.input_file);
  const auto ids = tok.encode(text, enc);
  if (!o.pieces) {
    fmt::print("{}\n", json(ids).dump());
    return 0;
  }
  json pieces = json::array();
  for (int32_t id : ids) pieces.push_back({{"id", id}, {"piece", tok.token_bytes(id)}});
  fmt::print("{}\n", dump(pieces));
  return 0;
}

flame::cli::Registration reg{
    "tokenize", "Print the token ids of a text as JSON", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model whose tokenizer to use");
      app.add_option("--tokenizer", o->tokenizer_file, "Tokenizer file: GGUF or tokenizer.json");
      app.add_option("text", o->text, "Text to tokenize");
      app.add_option("-f,--file", o->input_file, "Read the text from a file ('-' = stdin)");
      app.add_option("--chat", o->chat_file, "Format a conversation (JSON messages) as a chat prompt");
      app.add_option("--chat-template", o->chat_template,
                     "With --chat: llama3, llama3.1 or llama3.2 (default: from the model)");
      app.add_option("--date", o->date,
                     "With --chat: the template's 'Today Date' (default: 3.2 today, 3.1 26 Jul 2024)");
      app.add_flag("--special", o->special, "Recognise special-token text such as <|eot_id|>");
      app.add_flag("--pieces", o->pieces, "Print each token's text with its id");
      app.add_flag("--no-bos", o->no_bos, "Do not prepend BOS even if the tokenizer asks for it");
      app.add_flag("--jsonl", o->jsonl, "Input: one JSON string per line; output: one id array per line");
      app.add_flag("--check-roundtrip", o->check_roundtrip, "With --jsonl: fail unless decode(encode(x)) == x");
      return [o] { return run(*o); };
    }};

}  // namespace
