// safetensors writer: ordered JSON header padded with spaces to an 8-byte boundary, then the
// tensors back to back, written through AtomicFile.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "flame/core/error.h"
#include "flame/io/atomic_file.h"
#include "flame/io/safetensors.h"

namespace flame::safetensors {

void Writer::set_metadata(const std::string& key, const std::string& value) {
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = value;
      return;
    }
  metadata_.emplace_back(key, value);
}

void Writer::add_tensor(const std::string& name, const Tensor& tensor) {
  if (name.empty() || name == "__metadata__")
    throw ArgumentError("safetensors::Writer::add_tensor", fmt::format("invalid tensor name \"{}\"", name));
  for (const auto& [n, t] : tensors_)
    if (n == name)
      throw ArgumentError("safetensors::Writer::add_tensor", fmt::format("duplicate tensor name \"{}\"", name));
  from_dtype(tensor.dtype());  // throws for types safetensors cannot hold
  if (!tensor.data() && tensor.nbytes() > 0)
    throw ArgumentError("safetensors::Writer::add_tensor", fmt::format("\"{}\" has no data", name));
  tensors_.emplace_back(name, tensor);
}

void Writer::write(const std::string& path) const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) meta[k] = v;
    header["__metadata__"] = meta;
  }
  // Data laid out widest element first (as the reference writer does), so every tensor starts
  // aligned for its type once the data section is 8-byte aligned; the header keeps insertion order.
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return dtype_size(from_dtype(tensors_[a].second.dtype())) > dtype_size(from_dtype(tensors_[b].second.dtype()));
  });
  std::vector<uint64_t> offsets(tensors_.size());
  uint64_t offset = 0;
  for (size_t i : order) {
    offsets[i] = offset;
    offset += tensors_[i].second.nbytes();
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& [name, t] = tensors_[i];
    header[name] = {{"dtype", from_dtype(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offsets[i], offsets[i] + t.nbytes()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_bytes = text.size();

  io::AtomicFile out(path);
  out.write(&header_bytes, 8);
  out.write(text);
  for (size_t i : order) out.write(tensors_[i].second.data(), tensors_[i].second.nbytes());
  out.commit();
}

}  // namespace flame::safetensors
