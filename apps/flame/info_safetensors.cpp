#include "info_safetensors.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "flame/io/safetensors.h"

namespace flame::cli {

int print_safetensors_info(const std::string& path, bool as_json, bool all_tensors) {
  const auto r = safetensors::Reader::open(path);
  std::map<std::string, std::pair<uint64_t, uint64_t>> types;  // dtype -> (count, bytes)
  uint64_t total = 0;
  for (const auto& t : r.tensors()) {
    auto& [count, bytes] = types[t.dtype_name];
    count += 1;
    bytes += t.nbytes;
    total += t.nbytes;
  }
  if (as_json) {
    nlohmann::json out = {{"file", path},
                          {"file_bytes", r.file()->size()},
                          {"format", "safetensors"},
                          {"data_offset", r.data_offset()},
                          {"metadata", r.metadata()},
                          {"tensor_count", r.tensors().size()},
                          {"total_tensor_bytes", total}};
    nlohmann::json type_json = nlohmann::json::object();
    for (const auto& [name, cb] : types) type_json[name] = {{"count", cb.first}, {"bytes", cb.second}};
    out["tensor_types"] = type_json;
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors())
      tensors.push_back(
          {{"name", t.name}, {"type", t.dtype_name}, {"shape", t.shape}, {"bytes", t.nbytes}, {"offset", t.offset}});
    out["tensors"] = tensors;
    fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }
  fmt::print("file:          {} ({} bytes)\n", path, r.file()->size());
  fmt::print("format:        safetensors, data at byte {}\n", r.data_offset());
  for (const auto& [k, v] : r.metadata()) fmt::print("  {:<40} \"{}\"\n", k, v);
  fmt::print("tensors:       {} ({} bytes total)\n", r.tensors().size(), total);
  for (const auto& [name, cb] : types) fmt::print("  {:<8} {:>6} tensors  {:>14} bytes\n", name, cb.first, cb.second);
  const size_t rows = all_tensors ? r.tensors().size() : std::min<size_t>(r.tensors().size(), 16);
  if (rows) fmt::print("\n  {:<40} {:<6} {:<24} {:>12}\n", "name", "type", "shape", "bytes");
  for (size_t i = 0; i < rows; ++i) {
    const auto& t = r.tensors()[i];
    fmt::print("  {:<40} {:<6} {:<24} {:>12}\n", t.name, t.dtype_name, shape_str(t.shape), t.nbytes);
  }
  if (rows < r.tensors().size()) fmt::print("  ... {} more (--tensors lists all)\n", r.tensors().size() - rows);
  return 0;
}

}  // namespace flame::cli
