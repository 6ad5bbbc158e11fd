// safetensors reader: the JSON header is parsed with nlohmann_json (duplicate keys refused) and
// every entry is checked (dtype, shape, offsets, sizes) before any view is made; tensors must tile
// the data section exactly, as the reference implementation requires.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "flame/core/error.h"
#include "flame/io/mapped_view.h"
#include "flame/io/safetensors.h"

namespace flame::safetensors {
namespace {

// The reference implementation's limit; a larger header is refused before it is parsed.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;
constexpr size_t kMaxRank = 8;
constexpr uint64_t kHeaderStart = 8;

}  // namespace

class HeaderParser {
 public:
  HeaderParser(Reader& r) : r_(r), path_(r.file_->path()), size_(r.file_->size()) {}

  void parse() {
    if (size_ < 8)
      fail("header_size", 0, fmt::format("file is {} bytes, too short for the 8-byte header length", size_));
    uint64_t header_bytes = 0;
    std::memcpy(&header_bytes, r_.file_->data(), 8);
    if (header_bytes < 2)
      fail("header_size", 0, fmt::format("header length {} is too small for a JSON object", header_bytes));
    if (header_bytes > kMaxHeaderBytes)
      fail("header_size", 0, fmt::format("header length {} exceeds the {}-byte limit", header_bytes, kMaxHeaderBytes));
    if (header_bytes > size_ - 8)
      fail("header_size", 0,
           fmt::format("header length {} runs past the end of the file ({} bytes remain)", header_bytes, size_ - 8));
    r_.data_offset_ = kHeaderStart + header_bytes;
    header_ = std::string_view(reinterpret_cast<const char*>(r_.file_->data()) + kHeaderStart, header_bytes);
    if (header_.front() != '{') fail("header", kHeaderStart, "header does not start with '{'");

    const nlohmann::json header = parse_json();
    if (!header.is_object()) fail("header", kHeaderStart, "header is not a JSON object");
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        parse_metadata(entry);
      } else {
        parse_entry(name, entry);
      }
    }
    check_layout();
  }

 private:
  [[noreturn]] void fail(const std::string& field, uint64_t offset, const std::string& why) const {
    throw FormatError(path_, field, offset, why);
  }

  // Where `name` appears as a key in the header (for error offsets), else the header start.
  uint64_t key_offset(const std::string& name) const {
    const std::string quoted = nlohmann::json(name).dump();
    const size_t at = header_.find(quoted);
    return kHeaderStart + (at == std::string_view::npos ? 0 : at);
  }

  nlohmann::json parse_json() {
    std::vector<std::set<std::string>> keys_per_object;
    auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using E = nlohmann::json::parse_event_t;
      if (event == E::object_start) keys_per_object.emplace_back();
      if (event == E::object_end && !keys_per_object.empty()) keys_per_object.pop_back();
      if (event == E::key && !keys_per_object.empty()) {
        const std::string key = parsed.get<std::string>();
        if (!keys_per_object.back().insert(key).second)
          fail(depth <= 1 ? fmt::format("header[\"{}\"]", key) : "header", kHeaderStart,
               fmt::format("duplicate key \"{}\" in the JSON header", key));
      }
      return true;
    };
    try {
      return nlohmann::json::parse(header_.begin(), header_.end(), on_event);
    } catch (const nlohmann::json::parse_error& e) {
      fail("header", kHeaderStart + (e.byte > 0 ? e.byte - 1 : 0), fmt::format("invalid JSON: {}", e.what()));
    }
  }

  void parse_metadata(const nlohmann::json& entry) {
    const uint64_t at = key_offset("__metadata__");
    if (!entry.is_object()) fail("header[\"__metadata__\"]", at, "must be an object of strings");
    for (const auto& [k, v] : entry.items()) {
      if (!v.is_string())
        fail(fmt::format("header[\"__metadata__\"][\"{}\"]", k), at,
             fmt::format("value is {}, not a string", v.type_name()));
      r_.metadata_[k] = v.get<std::string>();
    }
  }

  static bool as_u64(const nlohmann::json& v, uint64_t& out) {
    if (v.is_number_unsigned()) {
      out = v.get<uint64_t>();
      return true;
    }
    if (v.is_number_integer() && v.get<int64_t>() >= 0) {
      out = static_cast<uint64_t>(v.get<int64_t>());
      return true;
    }
    return false;
  }

  void parse_entry(const std::string& name, const nlohmann::json& entry) {
    const std::string field = fmt::format("header[\"{}\"]", name);
    const uint64_t at = key_offset(name);
    if (name.empty()) fail(field, at, "empty tensor name");
    if (!entry.is_object()) fail(field, at, fmt::format("entry is {}, not an object", entry.type_name()));
    for (const auto& [k, v] : entry.items())
      if (k != "dtype" && k != "shape" && k != "data_offsets") fail(field + "." + k, at, "unknown field");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail(field + ".dtype", at, "missing or not a string");
    if (!entry.contains("shape") || !entry["shape"].is_array()) fail(field + ".shape", at, "missing or not an array");
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
      fail(field + ".data_offsets", at, "missing or not an array of two offsets");

    TensorInfo info;
    info.name = name;
    info.dtype_name = entry["dtype"].get<std::string>();
    const int element_size = dtype_size(info.dtype_name);
    if (element_size == 0) fail(field + ".dtype", at, fmt::format("unknown dtype \"{}\"", info.dtype_name));
    info.dtype = to_dtype(info.dtype_name);

    const auto& shape = entry["shape"];
    if (shape.size() > kMaxRank)
      fail(field + ".shape", at, fmt::format("{} dimensions (at most {})", shape.size(), kMaxRank));
    uint64_t numel = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      uint64_t dim = 0;
      if (!as_u64(shape[d], dim) || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(fmt::format("{}.shape[{}]", field, d), at,
             fmt::format("{} is not a non-negative integer", shape[d].dump()));
      if (__builtin_mul_overflow(numel, dim, &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(field + ".shape", at, "element count overflows 64 bits");
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(element_size), &nbytes))
      fail(field + ".shape", at, "byte size overflows 64 bits");

    uint64_t begin = 0, end = 0;
    if (!as_u64(entry["data_offsets"][0], begin) || !as_u64(entry["data_offsets"][1], end))
      fail(field + ".data_offsets", at, "offsets must be non-negative integers");
    if (end < begin) fail(field + ".data_offsets", at, fmt::format("end {} is before begin {}", end, begin));
    const uint64_t data_bytes = size_ - r_.data_offset_;
    if (end > data_bytes)
      fail(field + ".data_offsets", at,
           fmt::format("[{}, {}) runs past the end of the data section ({} bytes)", begin, end, data_bytes));
    if (end - begin != nbytes)
      fail(field + ".data_offsets", at,
           fmt::format("[{}, {}) holds {} bytes but {} {} needs {}", begin, end, end - begin, info.dtype_name,
                       shape_str(info.shape), nbytes));
    info.offset = r_.data_offset_ + begin;
    info.nbytes = nbytes;
    r_.tensors_.push_back(std::move(info));
  }

  // Sorted by offset, tensors must follow each other without gaps or overlaps and fill the data section.
  void check_layout() {
    auto& ts = r_.tensors_;
    std::stable_sort(ts.begin(), ts.end(), [](const TensorInfo& a, const TensorInfo& b) {
      return a.offset != b.offset ? a.offset < b.offset : a.nbytes < b.nbytes;
    });
    uint64_t expected = r_.data_offset_;
    for (const auto& t : ts) {
      const std::string field = fmt::format("header[\"{}\"].data_offsets", t.name);
      if (t.offset < expected)
        fail(field, key_offset(t.name),
             fmt::format("[{}, {}) overlaps the previous tensor, which ends at {}", t.offset - r_.data_offset_,
                         t.offset - r_.data_offset_ + t.nbytes, expected - r_.data_offset_));
      if (t.offset > expected)
        fail(field, key_offset(t.name),
             fmt::format("leaves a gap: begins at {} but the previous tensor ends at {}", t.offset - r_.data_offset_,
                         expected - r_.data_offset_));
      expected = t.offset + t.nbytes;
    }
    if (expected != size_)
      fail("data_section", expected,
           fmt::format("tensors cover {} bytes but the data section has {}", expected - r_.data_offset_,
                       size_ - r_.data_offset_));
    for (size_t i = 0; i < ts.size(); ++i) r_.index_.emplace(ts[i].name, i);
  }

  Reader& r_;
  const std::string& path_;
  uint64_t size_;
  std::string_view header_;
};

Reader Reader::open(const std::string& path) {
  Reader r;
  r.file_ = MappedFile::open(path);
  HeaderParser(r).parse();
  return r;
}

const TensorInfo* Reader::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor Reader::tensor(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (!info) throw FormatError(path(), fmt::format("header[\"{}\"]", name), 0, "tensor is missing from the file");
  if (!info->dtype)
    throw UnsupportedError(
        fmt::format("{}: tensor \"{}\" has dtype {}, which flame cannot compute with", path(), name, info->dtype_name));
  return io::mapped_tensor(*info->dtype, info->shape, file_, info->offset);
}

}  // namespace flame::safetensors
