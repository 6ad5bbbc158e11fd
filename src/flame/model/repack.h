#pragma once
// Load-time repacking of inference weights into the kernels' faster in-memory layouts (today the
// interleaved 8-row decode layout, kernels/quant_x8_tensor.h). Every 2-D matrix whose type has x8
// kernels and whose row count is a multiple of 8 gets the packed form attached as its Tensor
// layout; the rest are left as stored. The GGUF pages of a packed matrix are then released from
// the process (madvise), so resident memory holds one copy: the original stays mapped and readable
// (tied token_embd still serves embedding rows from it, faulting in only the rows it reads).
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
  int64_t matrices = 0;  // matrices packed
  int64_t bytes = 0;     // bytes packed
  double seconds = 0;
  // "x8 interleaved (112 matrices, 1.2 GB, 0.8 s)" or "as stored".
  std::string describe() const;
};

// On when the CPU has AVX2/FMA (the x8 kernels' fast path) and env FLAME_REPACK is not "0".
bool repack_enabled();

// Packs w's matrices (see above) in parallel over the pool, with progress for big models. `file`,
// when given, is the mapping the weights view: the packed matrices' pages in it are released.
RepackSummary repack_for_inference(LlamaWeights& w, const MappedFile* file, ThreadPool& pool);

}  // namespace flame
