#pragma once
// safetensors reading (header strictly validated, tensor bytes mmap'd and returned as zero-copy
// views) and writing (atomic). Format: u64 little-endian header length N, N bytes of JSON
// {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}},
// then the data section; offsets are relative to it, and tensors must tile it exactly.
//
//   auto r = safetensors::Reader::open("model.safetensors");   // throws FormatError / IoError
//   Tensor w = r.tensor("model.embed_tokens.weight");          // shape as stored (outermost first)
//
//   safetensors::Writer w;
//   w.set_metadata("format", "pt");
//   w.add_tensor("lm_head.weight", logits_weight);
//   w.write("out.safetensors");                                // temp file, fsync, rename
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flame/core/dtype.h"
#include "flame/core/memory.h"
#include "flame/core/tensor.h"

namespace flame::safetensors {

// Bytes per element of a safetensors dtype name ("F32", "BF16", "U8", "F8_E4M3", ...), 0 if unknown.
int dtype_size(std::string_view name);
// The flame DType for a safetensors dtype name (F32, F16, BF16, F64, I8, I16, I32, I64), or nullopt.
std::optional<DType> to_dtype(std::string_view name);
// The safetensors dtype name for a DType; throws UnsupportedError for block-quantized types.
std::string_view from_dtype(DType dtype);

struct TensorInfo {
  std::string name;
  std::string dtype_name;      // as in the file: "F32", "U8", ...
  std::optional<DType> dtype;  // set when flame can compute with it
  Shape shape;
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t nbytes = 0;
};

class Reader {
 public:
  // Maps and validates the file. Throws IoError or FormatError(path, field, offset, why).
  static Reader open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint64_t data_offset() const { return data_offset_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // In data order (increasing offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  // Zero-copy view (keeps the mapping alive; an aligned copy only when an unpadded header leaves the
  // bytes misaligned for the dtype). Throws FormatError if missing, UnsupportedError when
  // the dtype has no flame DType (U8, BOOL, F8_*, ...).
  Tensor tensor(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  uint64_t data_offset_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;

  friend class HeaderParser;
};

class Writer {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  // F32/F16/BF16/F64/I8/I16/I32/I64 tensors; names unique and not "__metadata__".
  void add_tensor(const std::string& name, const Tensor& tensor);
  // Header padded with spaces so the data section starts 8-byte aligned; header entries in insertion
  // order, data widest dtype first so every tensor is aligned for its type.
  void write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace flame::safetensors
