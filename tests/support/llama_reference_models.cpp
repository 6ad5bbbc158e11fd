#include "support/llama_reference_models.h"

#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace flame::test {
namespace {

std::vector<float> read_f32_file(const std::string& path, size_t count) {
  std::vector<float> v(count);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  if (!f) throw std::runtime_error("short logits file " + path);
  return v;
}

std::vector<ReferenceModel> generate_and_load(const std::string& scratch_name) {
  const std::string dir = scratch_dir(scratch_name);
  run_python("tests/reference/llama_reference.py", shell_quote(dir));
  std::ifstream manifest_file(dir + "/manifest.json");
  const auto manifest = nlohmann::json::parse(manifest_file);
  std::vector<ReferenceModel> out;
  for (const auto& m : manifest) {
    ReferenceModel c;
    c.name = m["name"];
    c.dtype = m["dtype"];
    c.gguf = dir + "/" + m["gguf"].get<std::string>();
    c.vocab = m["vocab"];
    c.tokens = m["tokens"].get<std::vector<int32_t>>();
    c.logits = read_f32_file(dir + "/" + m["logits"].get<std::string>(), c.tokens.size() * c.vocab);
    c.logits_kv_f16 = read_f32_file(dir + "/" + m["logits_kv_f16"].get<std::string>(), c.tokens.size() * c.vocab);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

const std::vector<ReferenceModel>& llama_reference_models(const std::string& scratch_name) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<ReferenceModel>> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(scratch_name);
  if (it == cache.end()) it = cache.emplace(scratch_name, generate_and_load(scratch_name)).first;
  return it->second;
}

}  // namespace flame::test
