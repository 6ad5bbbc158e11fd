// GGUF v3 writer: header (metadata + tensor infos) built in memory, tensor data streamed after
// it with alignment padding, all through AtomicFile (temp file, fsync, rename).
#include <fmt/format.h>

#include <cstring>

#include "flame/core/error.h"
#include "flame/io/atomic_file.h"
#include "flame/io/gguf.h"
#include "flame/io/gguf_format.h"

namespace flame::gguf {
namespace {

class HeaderBuilder {
 public:
  template <class T>
  void put(T v) {
    append(&v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void append(const void* data, size_t n) {
    const size_t at = bytes_.size();
    bytes_.resize(at + n);
    if (n) std::memcpy(bytes_.data() + at, data, n);
  }
  void put_value(const Value& v) {
    switch (v.type()) {
      case ValueType::U8:
        put<uint8_t>(static_cast<uint8_t>(v.as_uint()));
        break;
      case ValueType::I8:
        put<int8_t>(static_cast<int8_t>(v.as_int()));
        break;
      case ValueType::U16:
        put<uint16_t>(static_cast<uint16_t>(v.as_uint()));
        break;
      case ValueType::I16:
        put<int16_t>(static_cast<int16_t>(v.as_int()));
        break;
      case ValueType::U32:
        put<uint32_t>(static_cast<uint32_t>(v.as_uint()));
        break;
      case ValueType::I32:
        put<int32_t>(static_cast<int32_t>(v.as_int()));
        break;
      case ValueType::U64:
        put<uint64_t>(v.as_uint());
        break;
      case ValueType::I64:
        put<int64_t>(v.as_int());
        break;
      case ValueType::F32:
        put<float>(static_cast<float>(v.as_float()));
        break;
      case ValueType::F64:
        put<double>(v.as_float());
        break;
      case ValueType::BOOL:
        put<uint8_t>(v.as_bool() ? 1 : 0);
        break;
      case ValueType::STRING:
        put_string(v.as_string());
        break;
      case ValueType::ARRAY:
        put<uint32_t>(static_cast<uint32_t>(v.array_type()));
        put<uint64_t>(v.array_size());
        for (const auto& item : v.items()) put_value(item);
        break;
    }
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace

Writer::Writer(uint32_t alignment) : alignment_(alignment) {
  if (!format::is_power_of_two(alignment))
    throw ArgumentError("gguf::Writer", fmt::format("alignment {} is not a power of two", alignment));
}

void Writer::set(const std::string& key, Value value) {
  if (key.empty()) throw ArgumentError("gguf::Writer::set", "empty key");
  if (key == format::kAlignmentKey && (!value.is_integer() || value.as_uint() != alignment_))
    throw ArgumentError("gguf::Writer::set",
                        fmt::format("general.alignment must equal the writer's alignment {}", alignment_));
  for (auto& [k, v] : metadata_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata_.emplace_back(key, std::move(value));
}

void Writer::add_tensor(const std::string& name, const Tensor& tensor) {
  if (name.empty()) throw ArgumentError("gguf::Writer::add_tensor", "empty tensor name");
  for (const auto& [n, t] : tensors_)
    if (n == name) throw ArgumentError("gguf::Writer::add_tensor", fmt::format("duplicate tensor name \"{}\"", name));
  if (tensor.ndim() > static_cast<int>(format::kMaxDims))
    throw ArgumentError("gguf::Writer::add_tensor", fmt::format("\"{}\" has {} dimensions; GGUF allows at most {}",
                                                                name, tensor.ndim(), format::kMaxDims));
  for (int64_t d : tensor.shape())
    if (d <= 0)
      throw ArgumentError("gguf::Writer::add_tensor", fmt::format("\"{}\" has shape {}; dimensions must be positive",
                                                                  name, shape_str(tensor.shape())));
  if (!tensor.data()) throw ArgumentError("gguf::Writer::add_tensor", fmt::format("\"{}\" has no data", name));
  tensors_.emplace_back(name, tensor);
}

void Writer::write(const std::string& path) const {
  auto metadata = metadata_;
  bool has_alignment = false;
  for (const auto& [k, v] : metadata) has_alignment |= k == format::kAlignmentKey;
  if (!has_alignment && alignment_ != format::kDefaultAlignment)
    metadata.emplace_back(format::kAlignmentKey, Value::u32(alignment_));

  HeaderBuilder h;
  h.put<uint32_t>(0x46554747u);  // "GGUF" read as little-endian u32
  h.put<uint32_t>(format::kWriteVersion);
  h.put<uint64_t>(tensors_.size());
  h.put<uint64_t>(metadata.size());
  for (const auto& [key, value] : metadata) {
    h.put_string(key);
    h.put<uint32_t>(static_cast<uint32_t>(value.type()));
    h.put_value(value);
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& [name, t] : tensors_) {
    h.put_string(name);
    h.put<uint32_t>(static_cast<uint32_t>(t.ndim()));
    for (int d = t.ndim() - 1; d >= 0; --d) h.put<uint64_t>(static_cast<uint64_t>(t.dim(d)));
    h.put<uint32_t>(static_cast<uint32_t>(t.dtype()));
    offset = format::align_up(offset, alignment_);
    offsets.push_back(offset);
    h.put<uint64_t>(offset);
    offset += t.nbytes();
  }

  io::AtomicFile out(path);
  out.write(h.bytes().data(), h.bytes().size());
  out.write_zeros(format::align_up(out.size(), alignment_) - out.size());
  const uint64_t data_start = out.size();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i].second;
    out.write_zeros(data_start + offsets[i] - out.size());
    out.write(t.data(), t.nbytes());
  }
  out.commit();
}

}  // namespace flame::gguf
