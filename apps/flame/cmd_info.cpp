// `flame info -m MODEL [--json] [--tensors]`: what a GGUF (or .safetensors) file holds, read from its metadata and
// tensor table only (no model code): format, architecture and hyper-parameters, tokenizer summary,
// tensor types and bytes, and a tensor table.
#include <fmt/format.h>

#include <climits>
#include <map>
#include <optional>

#include "command.h"
#include "flame/io/gguf.h"
#include "flame/io/gguf_json.h"
#include "info_safetensors.h"

namespace {

using flame::gguf::Reader;
using flame::gguf::Value;
using nlohmann::json;

struct Options {
  std::string model;
  bool json = false;
  bool all_tensors = false;
};

constexpr size_t kDefaultTensorRows = 16;

std::string human_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < (uint64_t{1} << 20)) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  if (bytes < (uint64_t{1} << 30)) return fmt::format("{:.1f} MiB", bytes / 1048576.0);
  return fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

struct TypeStats {
  uint64_t count = 0, bytes = 0;
};

struct Summary {
  std::string architecture;
  std::vector<std::pair<std::string, const Value*>> hyperparameters;  // keys "<arch>.*", prefix removed
  std::vector<std::pair<std::string, const Value*>> general;          // keys "general.*"
  json tokenizer = json::object();
  std::map<std::string, TypeStats> types;
  uint64_t total_bytes = 0;
};

// info reports what is there: a key of an unexpected type is shown in the metadata, not fatal.
std::optional<std::string> string_at(const Reader& r, const std::string& key) {
  const Value* v = r.find(key);
  if (!v || v->type() != flame::gguf::ValueType::STRING) return std::nullopt;
  return v->as_string();
}

std::optional<int64_t> int_at(const Reader& r, const std::string& key) {
  const Value* v = r.find(key);
  if (!v || !v->is_integer() || (v->type() == flame::gguf::ValueType::U64 && v->as_uint() > INT64_MAX))
    return std::nullopt;
  return v->as_int();
}

Summary summarize(const Reader& r) {
  Summary s;
  s.architecture = string_at(r, "general.architecture").value_or("(unknown)");
  const std::string arch_prefix = s.architecture + ".";
  for (const auto& [key, value] : r.metadata()) {
    if (starts_with(key, arch_prefix)) s.hyperparameters.emplace_back(key.substr(arch_prefix.size()), &value);
    if (starts_with(key, "general.")) s.general.emplace_back(key, &value);
  }
  auto& tok = s.tokenizer;
  if (auto model = string_at(r, "tokenizer.ggml.model")) tok["model"] = *model;
  if (auto pre = string_at(r, "tokenizer.ggml.pre")) tok["pre"] = *pre;
  if (const Value* tokens = r.find("tokenizer.ggml.tokens"); tokens && tokens->type() == flame::gguf::ValueType::ARRAY)
    tok["vocab_size"] = tokens->array_size();
  if (const Value* merges = r.find("tokenizer.ggml.merges"); merges && merges->type() == flame::gguf::ValueType::ARRAY)
    tok["merges"] = merges->array_size();
  for (const char* id : {"bos", "eos", "eot", "eom", "padding", "unknown"})
    if (auto v = int_at(r, fmt::format("tokenizer.ggml.{}_token_id", id))) tok[fmt::format("{}_token_id", id)] = *v;
  if (auto add_bos = r.find("tokenizer.ggml.add_bos_token"); add_bos && add_bos->type() == flame::gguf::ValueType::BOOL)
    tok["add_bos_token"] = add_bos->as_bool();
  const auto chat_template = string_at(r, "tokenizer.chat_template");
  tok["chat_template"] = chat_template.has_value();
  if (chat_template) tok["chat_template_bytes"] = chat_template->size();

  for (const auto& t : r.tensors()) {
    auto& st = s.types[std::string(flame::dtype_name(t.dtype))];
    st.count += 1;
    st.bytes += t.nbytes;
    s.total_bytes += t.nbytes;
  }
  return s;
}

json to_json_report(const Reader& r, const Summary& s) {
  json out;
  out["file"] = r.path();
  out["file_bytes"] = r.file()->size();
  out["format"] = "gguf";
  out["version"] = r.version();
  out["alignment"] = r.alignment();
  out["data_offset"] = r.data_offset();
  out["architecture"] = s.architecture;
  json hp = json::object();
  for (const auto& [k, v] : s.hyperparameters) hp[k] = flame::gguf::to_json(*v, 16);
  out["hyperparameters"] = hp;
  out["tokenizer"] = s.tokenizer;
  json metadata = json::object();
  for (const auto& [k, v] : r.metadata()) metadata[k] = flame::gguf::to_json(v, 16);
  out["metadata"] = metadata;
  out["tensor_count"] = r.tensors().size();
  json types = json::object();
  for (const auto& [name, st] : s.types) types[name] = {{"count", st.count}, {"bytes", st.bytes}};
  out["tensor_types"] = types;
  out["total_tensor_bytes"] = s.total_bytes;
  json tensors = json::array();
  for (const auto& t : r.tensors())
    tensors.push_back({{"name", t.name},
                       {"type", flame::dtype_name(t.dtype)},
                       {"shape", t.shape},
                       {"bytes", t.nbytes},
                       {"offset", t.offset}});
  out["tensors"] = tensors;
  return out;
}

void print_text(const Reader& r, const Summary& s, bool all_tensors) {
  fmt::print("file:          {} ({})\n", r.path(), human_bytes(r.file()->size()));
  fmt::print("format:        GGUF v{}, alignment {}, data at byte {}\n", r.version(), r.alignment(), r.data_offset());
  fmt::print("architecture:  {}\n", s.architecture);
  for (const auto& [k, v] : s.general)
    if (k != "general.architecture") fmt::print("  {:<40} {}\n", k, flame::gguf::format_value(*v, 4));
  if (!s.hyperparameters.empty()) {
    fmt::print("hyper-parameters ({}.*):\n", s.architecture);
    for (const auto& [k, v] : s.hyperparameters) fmt::print("  {:<40} {}\n", k, flame::gguf::format_value(*v, 4));
  }
  fmt::print("tokenizer:\n");
  for (const auto& [k, v] : s.tokenizer.items()) fmt::print("  {:<40} {}\n", k, v.dump());
  fmt::print("tensors:       {} ({} total)\n", r.tensors().size(), human_bytes(s.total_bytes));
  for (const auto& [name, st] : s.types)
    fmt::print("  {:<8} {:>6} tensors  {:>12}  ({} bytes)\n", name, st.count, human_bytes(st.bytes), st.bytes);
  if (r.tensors().empty()) return;
  const size_t rows = all_tensors ? r.tensors().size() : std::min(r.tensors().size(), kDefaultTensorRows);
  fmt::print("\n  {:<40} {:<6} {:<24} {:>12}\n", "name", "type", "shape", "bytes");
  for (size_t i = 0; i < rows; ++i) {
    const auto& t = r.tensors()[i];
    fmt::print("  {:<40} {:<6} {:<24} {:>12}\n", t.name, flame::dtype_name(t.dtype), flame::shape_str(t.shape),
               t.nbytes);
  }
  if (rows < r.tensors().size()) fmt::print("  ... {} more (--tensors lists all)\n", r.tensors().size() - rows);
}

bool is_safetensors(const std::string& path) {
  const std::string ext = ".safetensors";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

int run_info(const Options& o) {
  if (is_safetensors(o.model)) return flame::cli::print_safetensors_info(o.model, o.json, o.all_tensors);
  const auto reader = Reader::open(o.model);
  const Summary summary = summarize(reader);
  if (o.json) {
    fmt::print("{}\n", to_json_report(reader, summary).dump(2, ' ', false, json::error_handler_t::replace));
  } else {
    print_text(reader, summary, o.all_tensors);
  }
  return 0;
}

flame::cli::Registration reg{"info", "Show a model file's format, architecture, tokenizer and tensors",
                             [](CLI::App& app) {
                               auto opts = std::make_shared<Options>();
                               app.add_option("-m,--model", opts->model, "GGUF or .safetensors file")->required();
                               app.add_flag("--json", opts->json, "Print the report as JSON");
                               app.add_flag("--tensors", opts->all_tensors, "List every tensor (text mode)");
                               return [opts] { return run_info(*opts); };
                             }};

}  // namespace
