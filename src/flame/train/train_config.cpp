#include "flame/train/train_config.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "flame/core/error.h"
#include "flame/train/hash.h"

namespace flame {
namespace {

using FieldPtr =
    std::variant<int64_t TrainConfig::*, double TrainConfig::*, bool TrainConfig::*, std::string TrainConfig::*>;

struct Field {
  const char* section;
  const char* key;
  FieldPtr ptr;
  bool trajectory;  // part of trajectory_hash
  std::string name() const { return std::string(section) + "." + key; }
};

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"model", "dim", &TrainConfig::dim, true},
      {"model", "n_layers", &TrainConfig::n_layers, true},
      {"model", "n_heads", &TrainConfig::n_heads, true},
      {"model", "n_kv_heads", &TrainConfig::n_kv_heads, true},
      {"model", "ffn_dim", &TrainConfig::ffn_dim, true},
      {"model", "head_dim", &TrainConfig::head_dim, true},
      {"model", "rope_theta", &TrainConfig::rope_theta, true},
      {"model", "norm_eps", &TrainConfig::norm_eps, true},
      {"model", "tied_embeddings", &TrainConfig::tied_embeddings, true},
      {"model", "init_std", &TrainConfig::init_std, true},
      {"model", "init_from", &TrainConfig::init_from, false},
      {"data", "dir", &TrainConfig::data_dir, false},
      {"data", "tokenizer", &TrainConfig::tokenizer, false},
      {"train", "batch", &TrainConfig::batch, true},
      {"train", "seq", &TrainConfig::seq, true},
      {"train", "grad_accum", &TrainConfig::grad_accum, true},
      {"train", "steps", &TrainConfig::steps, true},
      {"train", "max_steps", &TrainConfig::max_steps, false},
      {"train", "max_minutes", &TrainConfig::max_minutes, false},
      {"train", "seed", &TrainConfig::seed, true},
      {"train", "max_bad_steps", &TrainConfig::max_bad_steps, false},
      {"optim", "lr", &TrainConfig::lr, true},
      {"optim", "min_lr_ratio", &TrainConfig::min_lr_ratio, true},
      {"optim", "warmup", &TrainConfig::warmup, true},
      {"optim", "schedule", &TrainConfig::schedule, true},
      {"optim", "decay_fraction", &TrainConfig::decay_fraction, true},
      {"optim", "weight_decay", &TrainConfig::weight_decay, true},
      {"optim", "beta1", &TrainConfig::beta1, true},
      {"optim", "beta2", &TrainConfig::beta2, true},
      {"optim", "eps", &TrainConfig::eps, true},
      {"optim", "clip", &TrainConfig::clip, true},
      {"eval", "interval", &TrainConfig::eval_interval, false},
      {"eval", "batches", &TrainConfig::eval_batches, true},
      {"checkpoint", "interval", &TrainConfig::checkpoint_interval, false},
      {"run", "out_dir", &TrainConfig::out_dir, false},
      {"run", "peak_gflops", &TrainConfig::peak_gflops, false},
  };
  return table;
}

const Field* find_field(const std::string& section, const std::string& key) {
  for (const auto& f : fields())
    if (section == f.section && key == f.key) return &f;
  return nullptr;
}

[[noreturn]] void fail(const std::string& origin, const std::string& why) {
  throw ArgumentError("train config", origin.empty() ? why : origin + ": " + why);
}

// Sets a field from a TOML node, checking its type.
void set_from_node(TrainConfig& c, const Field& f, const toml::node& node, const std::string& origin) {
  const std::string where = f.name();
  std::visit(
      [&](auto ptr) {
        using T = std::remove_cvref_t<decltype(c.*ptr)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          auto v = node.value_exact<int64_t>();
          if (!v) fail(origin, fmt::format("{} must be an integer", where));
          c.*ptr = *v;
        } else if constexpr (std::is_same_v<T, double>) {
          auto v = node.value<double>();  // integers convert
          if (!v || node.is_boolean()) fail(origin, fmt::format("{} must be a number", where));
          c.*ptr = *v;
        } else if constexpr (std::is_same_v<T, bool>) {
          auto v = node.value_exact<bool>();
          if (!v) fail(origin, fmt::format("{} must be true or false", where));
          c.*ptr = *v;
        } else {
          auto v = node.value_exact<std::string>();
          if (!v) fail(origin, fmt::format("{} must be a string", where));
          c.*ptr = *v;
        }
      },
      f.ptr);
}

void apply_table(TrainConfig& c, const toml::table& root, const std::string& origin) {
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const auto* table = section_node.as_table();
    if (!table)
      fail(origin, fmt::format("'{}' must be a [section] (model, data, train, optim, eval, checkpoint, run)", section));
    for (const auto& [key, node] : *table) {
      const Field* f = find_field(section, std::string(key.str()));
      if (!f) fail(origin, fmt::format("unknown key {}.{}", section, key.str()));
      set_from_node(c, *f, node, origin);
    }
  }
}

std::string field_value_toml(const TrainConfig& c, const Field& f) {
  return std::visit(
      [&](auto ptr) -> std::string {
        using T = std::remove_cvref_t<decltype(c.*ptr)>;
        if constexpr (std::is_same_v<T, std::string>) {
          std::string quoted = "\"";
          for (char ch : c.*ptr) {
            if (ch == '"' || ch == '\\') quoted += '\\';
            if (static_cast<unsigned char>(ch) < 0x20) {
              quoted += fmt::format("\\u{:04x}", static_cast<int>(ch));
              continue;
            }
            quoted += ch;
          }
          return quoted + "\"";
        } else if constexpr (std::is_same_v<T, bool>) {
          return c.*ptr ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          // Shortest round-trip text, always with a decimal point or exponent so TOML reads a float.
          std::string s = fmt::format("{}", c.*ptr);
          if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
          return s;
        } else {
          return fmt::format("{}", c.*ptr);
        }
      },
      f.ptr);
}

}  // namespace

TrainConfig TrainConfig::from_toml_string(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    fail(origin, fmt::format("TOML syntax error at line {} column {}: {}", at.line, at.column, e.description()));
  }
  TrainConfig c;
  apply_table(c, root, origin);
  return c;
}

TrainConfig TrainConfig::from_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open the training config");
  std::stringstream text;
  text << in.rdbuf();
  return from_toml_string(text.str(), path);
}

void TrainConfig::apply_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) fail("--set", fmt::format("'{}' is not key=value", assignment));
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const Field* field = nullptr;
  if (const auto dot = key.find('.'); dot != std::string::npos) {
    field = find_field(key.substr(0, dot), key.substr(dot + 1));
  } else {
    for (const auto& f : fields()) {
      if (key != f.key) continue;
      if (field)
        fail("--set", fmt::format("'{}' is ambiguous ({} or {}); write section.key", key, field->name(), f.name()));
      field = &f;
    }
  }
  if (!field) fail("--set", fmt::format("unknown key '{}'", key));
  // Parse the value as TOML; a bare word that is not valid TOML is taken as a string.
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};
  }
  if (std::holds_alternative<std::string TrainConfig::*>(field->ptr) && !parsed["v"].is_string())
    parsed = toml::table{{"v", value}};
  set_from_node(*this, *field, *parsed.get("v"), "--set " + assignment);
}

void TrainConfig::validate() const {
  auto bad = [](const std::string& why) { fail("", why); };
  auto positive = [&](const char* key, auto v) {
    if (!(v > 0)) bad(fmt::format("{} must be positive, got {}", key, v));
  };
  positive("model.dim", dim);
  positive("model.n_layers", n_layers);
  positive("model.n_heads", n_heads);
  positive("model.n_kv_heads", n_kv_heads);
  positive("model.ffn_dim", ffn_dim);
  if (head_dim < 0) bad(fmt::format("model.head_dim must be 0 (dim / n_heads) or positive, got {}", head_dim));
  if (head_dim == 0 && dim % n_heads != 0)
    bad(fmt::format("model.dim ({}) is not divisible by model.n_heads ({})", dim, n_heads));
  if (n_heads % n_kv_heads != 0)
    bad(fmt::format("model.n_kv_heads ({}) does not divide model.n_heads ({})", n_kv_heads, n_heads));
  if ((head_dim ? head_dim : dim / n_heads) % 2 != 0)
    bad(fmt::format("head dimension ({}) must be even for RoPE", head_dim ? head_dim : dim / n_heads));
  positive("model.rope_theta", rope_theta);
  positive("model.norm_eps", norm_eps);
  positive("model.init_std", init_std);
  if (data_dir.empty()) bad("data.dir is not set (the folder `flame data` wrote)");
  positive("train.batch", batch);
  if (seq < 2) bad(fmt::format("train.seq must be at least 2, got {}", seq));
  positive("train.grad_accum", grad_accum);
  positive("train.steps", steps);
  if (max_steps < 0 || max_steps > steps)
    bad(fmt::format("train.max_steps ({}) must be between 0 (= steps) and train.steps ({})", max_steps, steps));
  if (max_minutes < 0) bad(fmt::format("train.max_minutes must be >= 0, got {}", max_minutes));
  if (!(peak_gflops >= 0)) bad(fmt::format("run.peak_gflops must be >= 0 (0 = measure), got {}", peak_gflops));
  positive("train.max_bad_steps", max_bad_steps);
  positive("optim.lr", lr);
  if (min_lr_ratio < 0 || min_lr_ratio > 1)
    bad(fmt::format("optim.min_lr_ratio must be in [0, 1], got {}", min_lr_ratio));
  if (warmup < 0 || warmup > steps)
    bad(fmt::format("optim.warmup ({}) must be in [0, train.steps = {}]", warmup, steps));
  if (schedule != "cosine" && schedule != "wsd")
    bad(fmt::format("optim.schedule must be \"cosine\" or \"wsd\", got \"{}\"", schedule));
  if (!(decay_fraction > 0 && decay_fraction <= 1))
    bad(fmt::format("optim.decay_fraction must be in (0, 1], got {}", decay_fraction));
  if (weight_decay < 0) bad(fmt::format("optim.weight_decay must be >= 0, got {}", weight_decay));
  if (!(beta1 >= 0 && beta1 < 1)) bad(fmt::format("optim.beta1 must be in [0, 1), got {}", beta1));
  if (!(beta2 >= 0 && beta2 < 1)) bad(fmt::format("optim.beta2 must be in [0, 1), got {}", beta2));
  positive("optim.eps", eps);
  if (clip < 0) bad(fmt::format("optim.clip must be >= 0 (0 disables clipping), got {}", clip));
  if (eval_interval < 0) bad(fmt::format("eval.interval must be >= 0 (0 disables), got {}", eval_interval));
  positive("eval.batches", eval_batches);
  if (checkpoint_interval < 0)
    bad(fmt::format("checkpoint.interval must be >= 0 (0: only at the end), got {}", checkpoint_interval));
  if (out_dir.empty()) bad("run.out_dir is empty");
}

std::string TrainConfig::to_toml() const {
  std::string out, section;
  for (const auto& f : fields()) {
    if (section != f.section) {
      section = f.section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    out += fmt::format("{} = {}\n", f.key, field_value_toml(*this, f));
  }
  return out;
}

std::string TrainConfig::trajectory_hash() const {
  std::string text;
  for (const auto& f : fields())
    if (f.trajectory) text += f.name() + "=" + field_value_toml(*this, f) + "\n";
  return fmt::format("{:016x}", fnv1a64(text.data(), text.size()));
}

LlamaConfig TrainConfig::llama_config(int64_t vocab_size) const {
  LlamaConfig c;
  c.vocab_size = vocab_size;
  c.dim = dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.ffn_dim = ffn_dim;
  c.head_dim = head_dim ? head_dim : dim / n_heads;
  c.rope_dim = c.head_dim;
  c.context_length = seq;
  c.norm_eps = static_cast<float>(norm_eps);
  c.rope_theta = static_cast<float>(rope_theta);
  c.tied_embeddings = tied_embeddings;
  c.validate();
  return c;
}

}  // namespace flame
