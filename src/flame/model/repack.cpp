#include "flame/model/repack.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "flame/core/cpu.h"
#include "flame/core/progress.h"
#include "flame/kernels/quant_x8_tensor.h"

namespace flame {

namespace {
// Below this many bytes packing takes well under a second: no progress line.
constexpr int64_t kProgressMinBytes = int64_t{256} << 20;
}  // namespace

std::string RepackSummary::describe() const {
  if (matrices == 0) return "as stored";
  return fmt::format("x8 interleaved ({} matrices, {}, {:.2f} s)", matrices, human_bytes(static_cast<double>(bytes)),
                     seconds);
}

bool repack_enabled() {
  const char* env = std::getenv("FLAME_REPACK");
  if (env && std::strcmp(env, "0") == 0) return false;
  return cpu().has_avx2_fma();
}

RepackSummary repack_for_inference(LlamaWeights& w, const MappedFile* file, ThreadPool& pool) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor*> matrices;
  auto consider = [&](Tensor& t) {
    if (t.defined() && can_pack_x8(t) && !x8_weight(t)) matrices.push_back(&t);
  };
  for (LayerWeights& l : w.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) consider(*t);
  // The output projection; when tied that is token_embd, whose rows embedding lookups still read
  // from the original bytes.
  consider(w.config.tied_embeddings ? w.token_embd : w.output);

  RepackSummary summary;
  for (const Tensor* t : matrices) summary.bytes += static_cast<int64_t>(t->nbytes());
  std::optional<Progress> progress;
  if (summary.bytes >= kProgressMinBytes) progress.emplace("repack weights", summary.bytes, "B");
  for (Tensor* t : matrices) {
    t->set_layout(pack_x8(*t, pool));
    if (file && file->contains(t->data(), t->nbytes()))
      file->advise_dontneed(static_cast<size_t>(static_cast<const uint8_t*>(t->data()) - file->data()), t->nbytes());
    if (progress) progress->add(static_cast<int64_t>(t->nbytes()));
    ++summary.matrices;
  }
  if (progress) progress->finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace flame
