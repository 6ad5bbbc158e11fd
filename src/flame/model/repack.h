#pragma once
// Load-time repacking of inference weights into the kernels' faster in-memory layouts. Every 2-D
// matrix a decode step reads (the layers' and the output projection) moves into one buffer on
// transparent 2 MiB pages (1B F16 decode: 11.5-11.9 tok/s there, 10.0-10.5 from the file mapping):
// - a matrix whose type has x8 kernels and whose row count is a multiple of 8 is packed into the
//   interleaved 8-row decode layout (kernels/quant_x8_tensor.h), attached as its Tensor layout;
// - any other matrix viewed from `file` is copied there as stored and the Tensor re-pointed at the
//   copy (only when the OS grants huge pages; otherwise the copy would gain nothing).
// The GGUF pages of a moved matrix are then released from the process (madvise), so resident
// memory holds one copy: the original stays mapped and readable (a packed tied token_embd still
// serves embedding rows from it, faulting in only the rows it reads).
//
//   auto reader = gguf::Reader::open(path);
//   LlamaWeights w = LlamaWeights::from_gguf(reader);
//   if (repack_enabled()) repack_for_inference(w, reader.file().get(), ThreadPool::global());
#include <cstdint>
#include <string>

#include "flame/core/memory.h"
#include "flame/core/thread_pool.h"
#include "flame/model/weights.h"

namespace flame {

struct RepackSummary {
  int64_t matrices = 0;  // matrices packed into the x8 layout
  int64_t copied = 0;    // matrices copied as stored
  int64_t bytes = 0;     // bytes packed or copied
  bool huge_pages = false;
  double seconds = 0;
  // "x8 interleaved (112 matrices) + 1 copied, 1.2 GB on 2 MiB pages, 0.8 s", "copied as stored
  // (113 matrices, ...)", or "as stored" (read through the file mapping).
  std::string describe() const;
};

// On when the CPU has AVX2/FMA (the x8 kernels' fast path) and env FLAME_REPACK is not "0".
bool repack_enabled();

// Packs or copies w's matrices (see above) in parallel over the pool, with progress for big models.
// `file`, when given, is the mapping the weights view: the moved matrices' pages in it are released.
// Matrices already packed, or not in `file`, stay where they are (so a second call does nothing).
RepackSummary repack_for_inference(LlamaWeights& w, const MappedFile* file, ThreadPool& pool);

}  // namespace flame
