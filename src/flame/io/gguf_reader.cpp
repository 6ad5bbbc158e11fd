// GGUF reader: parses and validates the header and tensor table of a mapped file. Every count,
// length and offset is checked against the bytes that remain before anything is allocated or
// read, so a truncated or hostile file ends in a FormatError naming file, field and byte offset.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "flame/core/error.h"
#include "flame/io/gguf.h"
#include "flame/io/gguf_format.h"
#include "flame/io/mapped_view.h"

namespace flame::gguf {
namespace {

// A field's name, built only when an error needs it: `metadata["k"][3]`, `tensor_infos[2].offset`.
struct FieldPath {
  const FieldPath* parent = nullptr;
  std::string_view text;
  int64_t index = -1;

  std::string str() const {
    std::string out = parent ? parent->str() : std::string();
    out += text;
    if (index >= 0) out += fmt::format("[{}]", index);
    return out;
  }
};

class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, uint64_t size) : path_(path), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  uint64_t size() const { return size_; }

  [[noreturn]] void fail(const FieldPath& field, uint64_t offset, const std::string& why) const {
    throw FormatError(path_, field.str(), offset, why);
  }

  void need(uint64_t bytes, const FieldPath& field) const {
    if (bytes > remaining())
      fail(field, pos_,
           fmt::format("needs {} bytes but the file ends {} bytes later (truncated?)", bytes, remaining()));
  }

  template <class T>
  T read(const FieldPath& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const FieldPath& field) {
    const uint64_t start = pos_;
    const FieldPath length_field{&field, ".length"};
    const auto length = read<uint64_t>(length_field);
    if (length > remaining())
      fail(field, start,
           fmt::format("string length {} runs past the end of the file ({} bytes remain)", length, remaining()));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += length;
    return s;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// ggml types that exist but flame does not implement get their name in the error.
std::string unknown_type_message(uint32_t id) {
  static const std::pair<uint32_t, const char*> kKnownUnsupported[] = {
      {16, "iq2_xxs"}, {17, "iq2_xs"}, {18, "iq3_xxs"}, {19, "iq1_s"}, {20, "iq4_nl"}, {21, "iq3_s"},
      {22, "iq2_s"},   {23, "iq4_xs"}, {29, "iq1_m"},   {34, "tq1_0"}, {35, "tq2_0"},  {39, "mxfp4"}};
  for (const auto& [known, name] : kKnownUnsupported)
    if (known == id)
      return fmt::format("tensor type {} ({}) is not supported by flame; re-quantize the model", id, name);
  return fmt::format("unknown tensor type id {}", id);
}

}  // namespace

// Parses into a Reader; a friend so it can fill the Reader's private tables.
class ReaderParser {
 public:
  ReaderParser(Reader& reader, const std::string& path)
      : r_(reader), path_(path), c_(path, reader.file_->data(), reader.file_->size()) {}

  void parse() {
    parse_preamble();
    parse_metadata();
    parse_alignment();
    parse_tensor_infos();
    place_tensors();
  }

 private:
  void parse_preamble() {
    const FieldPath magic{nullptr, "magic"};
    if (c_.size() < 4) c_.fail(magic, 0, fmt::format("file is {} bytes, too short to be GGUF", c_.size()));
    char m[4];
    std::memcpy(m, r_.file_->data(), 4);
    if (std::memcmp(m, format::kMagic, 4) != 0)
      c_.fail(magic, 0,
              fmt::format("expected \"GGUF\" (47 47 55 46), found {:02x} {:02x} {:02x} {:02x}; not a GGUF file",
                          uint8_t(m[0]), uint8_t(m[1]), uint8_t(m[2]), uint8_t(m[3])));
    c_.read<uint32_t>(magic);

    const FieldPath version{nullptr, "version"};
    const uint64_t version_at = c_.pos();
    const auto v = c_.read<uint32_t>(version);
    if (v == 1) c_.fail(version, version_at, "GGUF v1 is not supported (only v2 and v3); re-convert the model");
    if (v == 0x02000000u || v == 0x03000000u)
      c_.fail(version, version_at, "file is big-endian GGUF; only little-endian files are supported");
    if (v != 2 && v != 3) c_.fail(version, version_at, fmt::format("unsupported GGUF version {} (supported: 2, 3)", v));
    r_.version_ = v;

    const FieldPath tensor_count{nullptr, "tensor_count"};
    const uint64_t tensor_count_at = c_.pos();
    tensor_count_ = c_.read<uint64_t>(tensor_count);
    const FieldPath kv_count{nullptr, "metadata_kv_count"};
    const uint64_t kv_count_at = c_.pos();
    kv_count_ = c_.read<uint64_t>(kv_count);
    // Smallest entries: a key (8-byte length + 1 byte) + type (4) + a 1-byte value = 13 bytes; a tensor
    // info with a 1-byte name, 0 dims, type and offset = 25 bytes.
    if (kv_count_ > c_.remaining() / 13)
      c_.fail(kv_count, kv_count_at,
              fmt::format("{} key/value pairs cannot fit in the {} bytes that remain", kv_count_, c_.remaining()));
    if (tensor_count_ > c_.remaining() / 25)
      c_.fail(tensor_count, tensor_count_at,
              fmt::format("{} tensors cannot fit in the {} bytes that remain", tensor_count_, c_.remaining()));
  }

  void parse_metadata() {
    r_.metadata_.reserve(static_cast<size_t>(kv_count_));
    r_.metadata_offsets_.reserve(static_cast<size_t>(kv_count_));
    for (uint64_t i = 0; i < kv_count_; ++i) {
      const uint64_t entry_at = c_.pos();
      const FieldPath entry{nullptr, "metadata", static_cast<int64_t>(i)};
      const FieldPath key_field{&entry, ".key"};
      std::string key = c_.read_string(key_field);
      if (key.empty()) c_.fail(key_field, entry_at, "empty key");
      const std::string name = fmt::format("metadata[\"{}\"]", key);
      const FieldPath value_field{nullptr, name};
      if (r_.metadata_index_.count(key))
        c_.fail(value_field, entry_at,
                fmt::format("duplicate key (first defined at metadata[{}])", r_.metadata_index_[key]));
      const FieldPath type_field{&value_field, ".type"};
      const uint64_t type_at = c_.pos();
      const auto type = c_.read<uint32_t>(type_field);
      if (format::scalar_size(type) < 0) c_.fail(type_field, type_at, fmt::format("unknown value type {}", type));
      Value value = read_value(type, value_field, 0);
      r_.metadata_index_.emplace(key, r_.metadata_.size());
      r_.metadata_.emplace_back(std::move(key), std::move(value));
      r_.metadata_offsets_.push_back(entry_at);
    }
  }

  void count_value(const FieldPath& field) {
    if (++values_ > format::kMaxMetadataValues)
      c_.fail(
          field, c_.pos(),
          fmt::format("more than {} metadata values in total; refusing to allocate more", format::kMaxMetadataValues));
  }

  Value read_value(uint32_t type, const FieldPath& field, int depth) {
    count_value(field);
    const uint64_t at = c_.pos();
    switch (static_cast<ValueType>(type)) {
      case ValueType::U8:
        return Value::u8(c_.read<uint8_t>(field));
      case ValueType::I8:
        return Value::i8(c_.read<int8_t>(field));
      case ValueType::U16:
        return Value::u16(c_.read<uint16_t>(field));
      case ValueType::I16:
        return Value::i16(c_.read<int16_t>(field));
      case ValueType::U32:
        return Value::u32(c_.read<uint32_t>(field));
      case ValueType::I32:
        return Value::i32(c_.read<int32_t>(field));
      case ValueType::U64:
        return Value::u64(c_.read<uint64_t>(field));
      case ValueType::I64:
        return Value::i64(c_.read<int64_t>(field));
      case ValueType::F32:
        return Value::f32(c_.read<float>(field));
      case ValueType::F64:
        return Value::f64(c_.read<double>(field));
      case ValueType::BOOL: {
        const auto b = c_.read<uint8_t>(field);
        if (b > 1) c_.fail(field, at, fmt::format("bool byte is {}, must be 0 or 1", b));
        return Value::boolean(b == 1);
      }
      case ValueType::STRING:
        return Value::string(c_.read_string(field));
      case ValueType::ARRAY:
        return read_array(field, depth);
    }
    c_.fail(field, at, fmt::format("unknown value type {}", type));
  }

  Value read_array(const FieldPath& field, int depth) {
    const FieldPath type_field{&field, ".element_type"};
    const FieldPath count_field{&field, ".count"};
    if (depth >= format::kMaxArrayDepth)
      c_.fail(field, c_.pos(), fmt::format("arrays nested deeper than {} levels", format::kMaxArrayDepth));
    const uint64_t type_at = c_.pos();
    const auto element_type = c_.read<uint32_t>(type_field);
    if (format::scalar_size(element_type) < 0)
      c_.fail(type_field, type_at, fmt::format("unknown array element type {}", element_type));
    const uint64_t count_at = c_.pos();
    const auto count = c_.read<uint64_t>(count_field);
    const uint64_t min_size = format::min_encoded_size(element_type);
    if (count > c_.remaining() / min_size)
      c_.fail(count_field, count_at,
              fmt::format("{} elements of type {} run past the end of the file ({} bytes remain)", count,
                          value_type_name(static_cast<ValueType>(element_type)), c_.remaining()));
    if (values_ + count > format::kMaxMetadataValues)
      c_.fail(
          count_field, count_at,
          fmt::format("{} elements would exceed the limit of {} metadata values", count, format::kMaxMetadataValues));
    std::vector<Value> items;
    items.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) {
      const FieldPath item_field{&field, "", static_cast<int64_t>(i)};
      items.push_back(read_value(element_type, item_field, depth + 1));
    }
    return Value::array(static_cast<ValueType>(element_type), std::move(items));
  }

  void parse_alignment() {
    const auto it = r_.metadata_index_.find(format::kAlignmentKey);
    r_.alignment_ = format::kDefaultAlignment;
    if (it == r_.metadata_index_.end()) return;
    const Value& v = r_.metadata_[it->second].second;
    const uint64_t at = r_.metadata_offsets_[it->second];
    const FieldPath field{nullptr, "metadata[\"general.alignment\"]"};
    if (!v.is_integer())
      c_.fail(field, at, fmt::format("must be an unsigned integer (u32), found {}", value_type_name(v.type())));
    if (v.type() != ValueType::U8 && v.type() != ValueType::U16 && v.type() != ValueType::U32 &&
        v.type() != ValueType::U64 && v.as_int() <= 0)
      c_.fail(field, at, fmt::format("alignment {} is not positive", v.as_int()));
    const uint64_t alignment = v.as_uint();
    if (!format::is_power_of_two(alignment))
      c_.fail(field, at, fmt::format("alignment {} is not a power of two", alignment));
    if (alignment > format::kMaxAlignment)
      c_.fail(field, at, fmt::format("alignment {} exceeds the limit {}", alignment, format::kMaxAlignment));
    r_.alignment_ = alignment;
  }

  void parse_tensor_infos() {
    r_.tensors_.reserve(static_cast<size_t>(tensor_count_));
    offset_fields_at_.reserve(static_cast<size_t>(tensor_count_));
    for (uint64_t i = 0; i < tensor_count_; ++i) {
      const FieldPath entry{nullptr, "tensor_infos", static_cast<int64_t>(i)};
      TensorInfo info;
      const uint64_t name_at = c_.pos();
      const FieldPath name_field{&entry, ".name"};
      info.name = c_.read_string(name_field);
      if (info.name.empty()) c_.fail(name_field, name_at, "empty tensor name");
      if (r_.tensor_index_.count(info.name))
        c_.fail(name_field, name_at,
                fmt::format("duplicate tensor name \"{}\" (first at tensor_infos[{}])", info.name,
                            r_.tensor_index_[info.name]));

      const FieldPath dims_field{&entry, ".n_dims"};
      const uint64_t dims_at = c_.pos();
      const auto n_dims = c_.read<uint32_t>(dims_field);
      if (n_dims > format::kMaxDims)
        c_.fail(dims_field, dims_at, fmt::format("{} dimensions (at most {} supported)", n_dims, format::kMaxDims));
      uint64_t ne[format::kMaxDims] = {1, 1, 1, 1};
      uint64_t numel = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const FieldPath ne_field{&entry, ".ne", static_cast<int64_t>(d)};
        const uint64_t ne_at = c_.pos();
        ne[d] = c_.read<uint64_t>(ne_field);
        if (ne[d] == 0) c_.fail(ne_field, ne_at, "dimension is zero");
        if (ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          c_.fail(ne_field, ne_at, fmt::format("dimension {} is negative as int64", static_cast<int64_t>(ne[d])));
        if (__builtin_mul_overflow(numel, ne[d], &numel) ||
            numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          c_.fail(ne_field, ne_at, "element count overflows 64 bits");
      }
      const FieldPath type_field{&entry, ".type"};
      const uint64_t type_at = c_.pos();
      const auto type_id = c_.read<uint32_t>(type_field);
      const auto dtype = dtype_from_id(type_id);
      if (!dtype) c_.fail(type_field, type_at, unknown_type_message(type_id));
      info.dtype = *dtype;
      const auto& dinfo = dtype_info(info.dtype);
      if (static_cast<int64_t>(ne[0]) % dinfo.block_size != 0)
        c_.fail(FieldPath{&entry, ".ne", 0}, dims_at + 4,
                fmt::format("row length {} is not a multiple of the {} block size {}", ne[0], dinfo.name,
                            dinfo.block_size));
      const auto bytes = checked_bytes(info.dtype, numel);
      if (!bytes)
        c_.fail(FieldPath{&entry, ".ne"}, dims_at + 4,
                fmt::format("byte size of {} {} elements overflows 64 bits", numel, dinfo.name));
      info.nbytes = *bytes;
      for (uint32_t d = n_dims; d-- > 0;) info.shape.push_back(static_cast<int64_t>(ne[d]));

      const FieldPath offset_field{&entry, ".offset"};
      offset_fields_at_.push_back(c_.pos());
      info.offset = c_.read<uint64_t>(offset_field);  // relative for now; made absolute in place_tensors
      r_.tensor_index_.emplace(info.name, r_.tensors_.size());
      r_.tensors_.push_back(std::move(info));
    }
  }

  void place_tensors() {
    const uint64_t header_end = c_.pos();
    r_.data_offset_ = format::align_up(header_end, r_.alignment_);
    if (r_.tensors_.empty()) return;
    if (r_.data_offset_ > c_.size())
      c_.fail(FieldPath{nullptr, "data_section"}, header_end,
              fmt::format("data section would start at {} but the file has only {} bytes", r_.data_offset_, c_.size()));
    const uint64_t data_bytes = c_.size() - r_.data_offset_;
    for (size_t i = 0; i < r_.tensors_.size(); ++i) {
      auto& t = r_.tensors_[i];
      const FieldPath entry{nullptr, "tensor_infos", static_cast<int64_t>(i)};
      const FieldPath offset_field{&entry, ".offset"};
      const uint64_t at = offset_fields_at_[i];
      if (t.offset % r_.alignment_ != 0)
        c_.fail(
            offset_field, at,
            fmt::format("offset {} of \"{}\" is not a multiple of the alignment {}", t.offset, t.name, r_.alignment_));
      if (t.offset > data_bytes || t.nbytes > data_bytes - t.offset)
        c_.fail(offset_field, at,
                fmt::format("\"{}\" spans data bytes [{}, {}+{}) but the data section has only {} bytes", t.name,
                            t.offset, t.offset, t.nbytes, data_bytes));
      t.offset += r_.data_offset_;
    }
    std::vector<size_t> order(r_.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return r_.tensors_[a].offset != r_.tensors_[b].offset ? r_.tensors_[a].offset < r_.tensors_[b].offset : a < b;
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& prev = r_.tensors_[order[k - 1]];
      const auto& cur = r_.tensors_[order[k]];
      if (cur.offset < prev.offset + prev.nbytes) {
        const size_t later = std::max(order[k - 1], order[k]);
        const size_t earlier = std::min(order[k - 1], order[k]);
        const FieldPath entry{nullptr, "tensor_infos", static_cast<int64_t>(later)};
        c_.fail(FieldPath{&entry, ".offset"}, offset_fields_at_[later],
                fmt::format("\"{}\" overlaps \"{}\" (tensor_infos[{}]) in the data section", r_.tensors_[later].name,
                            r_.tensors_[earlier].name, earlier));
      }
    }
  }

  Reader& r_;
  const std::string& path_;
  Cursor c_;
  uint64_t tensor_count_ = 0, kv_count_ = 0;
  uint64_t values_ = 0;
  std::vector<uint64_t> offset_fields_at_;
};

Reader Reader::open(const std::string& path) {
  Reader r;
  r.file_ = MappedFile::open(path);
  ReaderParser(r, path).parse();
  return r;
}

const std::string& Reader::path() const {
  return file_->path();
}

const Value* Reader::find(const std::string& key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

uint64_t Reader::metadata_offset(const std::string& key) const {
  const auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? 0 : metadata_offsets_[it->second];
}

const Value& Reader::at(const std::string& key) const {
  const Value* v = find(key);
  if (!v) throw FormatError(path(), fmt::format("metadata[\"{}\"]", key), 0, "required key is missing");
  return *v;
}

namespace {
template <class F>
auto typed(const Reader& r, const std::string& key, F&& get)
    -> std::optional<decltype(get(std::declval<const Value&>()))> {
  const Value* v = r.find(key);
  if (!v) return std::nullopt;
  try {
    return get(*v);
  } catch (const ArgumentError& e) {
    throw FormatError(r.path(), fmt::format("metadata[\"{}\"]", key), r.metadata_offset(key), e.what());
  }
}
}  // namespace

std::optional<int64_t> Reader::get_int(const std::string& key) const {
  return typed(*this, key, [](const Value& v) { return v.as_int(); });
}
std::optional<double> Reader::get_float(const std::string& key) const {
  return typed(*this, key, [](const Value& v) { return v.as_float(); });
}
std::optional<std::string> Reader::get_string(const std::string& key) const {
  return typed(*this, key, [](const Value& v) { return v.as_string(); });
}
std::optional<bool> Reader::get_bool(const std::string& key) const {
  return typed(*this, key, [](const Value& v) { return v.as_bool(); });
}

const TensorInfo* Reader::find_tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor Reader::tensor(const std::string& name) const {
  const TensorInfo* info = find_tensor(name);
  if (!info) throw FormatError(path(), fmt::format("tensor \"{}\"", name), 0, "tensor is missing from the file");
  return io::mapped_tensor(info->dtype, info->shape, file_, info->offset);
}

}  // namespace flame::gguf
