#include "flame/train/checkpoint.h"

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kCheckpointVersion = 1;

// Copies a stored F32 tensor into `dst`, checking name, dtype and shape.
void copy_tensor(const gguf::Reader& reader, const std::string& name, Tensor& dst) {
  const gguf::TensorInfo* info = reader.find_tensor(name);
  if (!info) throw FormatError(reader.path(), name, 0, "tensor missing from the checkpoint");
  if (info->dtype != DType::F32 || info->shape != dst.shape())
    throw FormatError(reader.path(), name, info->offset,
                      fmt::format("is {} {}, expected F32 {}", dtype_name(info->dtype), shape_str(info->shape),
                                  shape_str(dst.shape())));
  const Tensor src = reader.tensor(name);
  std::memcpy(dst.data(), src.data(), dst.nbytes());
}

}  // namespace

std::string checkpoint_path(const std::string& dir_or_file) {
  if (fs::path(dir_or_file).extension() == ".gguf") return dir_or_file;
  return (fs::path(dir_or_file) / "checkpoint.gguf").string();
}

void save_checkpoint(const std::string& dir, const LlamaWeights& params, AdamW& optimizer, const TrainState& state) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir, "cannot create the checkpoint folder: " + ec.message());
  gguf::Writer writer;
  params.to_gguf(writer);
  writer.set("general.name", gguf::Value::string("flame training checkpoint"));
  writer.set("flame.checkpoint.version", gguf::Value::i64(kCheckpointVersion));
  writer.set("flame.train.step", gguf::Value::i64(state.step));
  writer.set("flame.train.data_position", gguf::Value::u64(state.data_position));
  writer.set("flame.train.tokens_seen", gguf::Value::u64(state.tokens_seen));
  writer.set("flame.train.bad_steps", gguf::Value::i64(state.bad_steps));
  writer.set("flame.train.elapsed_seconds", gguf::Value::f64(state.elapsed_seconds));
  writer.set("flame.train.threads", gguf::Value::i64(state.threads));
  writer.set("flame.train.config_hash", gguf::Value::string(state.config_hash));
  writer.set("flame.train.config", gguf::Value::string(state.config_toml));
  writer.set("flame.train.tokenizer_hash", gguf::Value::string(state.tokenizer_hash));
  writer.set("flame.train.optimizer_step", gguf::Value::i64(optimizer.step_count()));
  optimizer.for_each_state([&](const std::string& name, Tensor& t) { writer.add_tensor(name, t); });
  writer.write(checkpoint_path(dir));
}

Checkpoint load_checkpoint(const std::string& dir_or_file) {
  const std::string path = checkpoint_path(dir_or_file);
  if (!fs::exists(path)) throw IoError(path, "no checkpoint here (the run folder holds checkpoint.gguf)");
  Checkpoint c;
  c.path = path;
  c.reader = gguf::Reader::open(path);
  const auto& r = c.reader;
  if (!r.find("flame.checkpoint.version"))
    throw FormatError(path, "flame.checkpoint.version", 0, "not a flame training checkpoint");
  if (r.at("flame.checkpoint.version").as_int() != kCheckpointVersion)
    throw FormatError(path, "flame.checkpoint.version", 0,
                      fmt::format("version {} is not supported (expected {})",
                                  r.at("flame.checkpoint.version").as_int(), kCheckpointVersion));
  c.state.step = r.at("flame.train.step").as_int();
  c.state.data_position = r.at("flame.train.data_position").as_uint();
  c.state.tokens_seen = r.at("flame.train.tokens_seen").as_uint();
  c.state.bad_steps = r.at("flame.train.bad_steps").as_int();
  c.state.elapsed_seconds = r.at("flame.train.elapsed_seconds").as_float();
  c.state.threads = r.at("flame.train.threads").as_int();
  c.state.config_hash = r.at("flame.train.config_hash").as_string();
  c.state.config_toml = r.at("flame.train.config").as_string();
  c.state.tokenizer_hash = r.at("flame.train.tokenizer_hash").as_string();
  c.config = TrainConfig::from_toml_string(c.state.config_toml, path + " (flame.train.config)");
  const gguf::TensorInfo* embd = r.find_tensor("token_embd.weight");
  if (!embd || embd->shape.size() != 2) throw FormatError(path, "token_embd.weight", 0, "missing or not 2-D");
  c.params = LlamaWeights::allocate(c.config.llama_config(embd->shape[0]));
  c.params.for_each([&](const std::string& name, Tensor& t) { copy_tensor(r, name, t); });
  return c;
}

void Checkpoint::copy_optimizer_state(AdamW& optimizer) {
  optimizer.for_each_state([&](const std::string& name, Tensor& t) { copy_tensor(reader, name, t); });
  optimizer.set_step_count(reader.at("flame.train.optimizer_step").as_int());
}

}  // namespace flame
