#pragma once
// GGUF v2/v3 reading (strictly validated, weights mmap'd, never copied) and writing (atomic).
//
//   auto r = gguf::Reader::open("model.gguf");        // throws FormatError(path, field, offset, why)
//   int64_t dim = r.get_int("llama.embedding_length").value();
//   Tensor w = r.tensor("blk.0.attn_q.weight");       // view into the mapping, shape outermost first
//
//   gguf::Writer w;
//   w.set("general.architecture", gguf::Value::string("llama"));
//   w.add_tensor("token_embd.weight", embeddings);
//   w.write("out.gguf");                              // temp file, fsync, rename
//
// Shapes: GGUF stores ne[] innermost first; TensorInfo::shape and Tensor shapes here are outermost
// first (ne reversed), so ne = [2048, 128256] is shape {128256, 2048}.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "flame/core/dtype.h"
#include "flame/core/memory.h"
#include "flame/core/tensor.h"

namespace flame::gguf {

enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* value_type_name(ValueType t);

// A metadata value: a scalar, a string, or an array of one element type (arrays of arrays allowed).
class Value {
 public:
  Value() = default;
  static Value u8(uint8_t v);
  static Value i8(int8_t v);
  static Value u16(uint16_t v);
  static Value i16(int16_t v);
  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v);
  static Value string(std::string v);
  static Value array(ValueType element_type, std::vector<Value> items);
  static Value strings(std::vector<std::string> items);  // array of STRING
  static Value i32s(const std::vector<int32_t>& items);  // array of I32
  static Value f32s(const std::vector<float>& items);    // array of F32

  ValueType type() const { return type_; }
  bool is_integer() const;  // any of U8..I64 (not BOOL)
  bool is_float() const;    // F32 or F64
  // Scalars; each throws ArgumentError when the value is of an incompatible type or out of range.
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_float() const;  // integers convert
  bool as_bool() const;
  const std::string& as_string() const;
  // Arrays.
  ValueType array_type() const;
  size_t array_size() const;
  const std::vector<Value>& items() const;
  std::vector<std::string> as_strings() const;
  std::vector<int64_t> as_ints() const;
  std::vector<double> as_floats() const;

 private:
  static Value unsigned_of(ValueType type, uint64_t v);
  static Value signed_of(ValueType type, int64_t v);

  ValueType type_ = ValueType::U8;
  ValueType array_type_ = ValueType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<Value>> data_;
};

// Short human-readable rendering: strings quoted (long ones cut), arrays as `type[n] [a, b, ...]`.
std::string format_value(const Value& value, size_t max_items = 8);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;          // outermost first
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t nbytes = 0;
};

class Reader {
 public:
  // Maps and validates the whole header and tensor table. Throws IoError or FormatError.
  static Reader open(const std::string& path);

  const std::string& path() const;
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(const std::string& key) const;
  // Throws FormatError naming the key when missing.
  const Value& at(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  // Byte offset in the file where the key's entry starts (for error messages), 0 if absent.
  uint64_t metadata_offset(const std::string& key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(const std::string& name) const;
  // Zero-copy view into the mapping; the tensor keeps the mapping alive. Throws if missing. (Only a
  // file whose alignment leaves the bytes misaligned for the type, e.g. general.alignment = 2 with
  // F32 data, gets an aligned copy instead; see io/mapped_view.h.)
  Tensor tensor(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<uint64_t> metadata_offsets_;  // parallel to metadata_
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;

  friend class ReaderParser;
};

class Writer {
 public:
  explicit Writer(uint32_t alignment = 32);
  // Sets (or replaces) a metadata key; keys are written in first-set order.
  void set(const std::string& key, Value value);
  // Adds a tensor (the Tensor keeps its bytes alive until write). Names must be unique.
  void add_tensor(const std::string& name, const Tensor& tensor);
  // Writes GGUF v3 to `path` atomically: temp file in the same folder, fsync, rename.
  void write(const std::string& path) const;

 private:
  uint32_t alignment_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace flame::gguf
