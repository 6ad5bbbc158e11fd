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
// Each matrix starts on its own page of the shared buffer.
constexpr size_t kSlotAlignment = 4096;

struct Slot {
  Tensor* tensor;
  bool pack;  // x8 layout, else a copy as stored
  size_t offset, bytes;
};

void release_from_file(const Tensor& t, const MappedFile* file) {
  if (file && file->contains(t.data(), t.nbytes()))
    file->advise_dontneed(static_cast<size_t>(static_cast<const uint8_t*>(t.data()) - file->data()), t.nbytes());
}

void copy_parallel(const Tensor& t, uint8_t* out, ThreadPool& pool) {
  const auto* in = static_cast<const uint8_t*>(t.data());
  const size_t rb = t.row_bytes();
  pool.parallel_for(t.rows(), [&](int64_t begin, int64_t end) {
    std::memcpy(out + static_cast<size_t>(begin) * rb, in + static_cast<size_t>(begin) * rb,
                static_cast<size_t>(end - begin) * rb);
  });
}
}  // namespace

std::string RepackSummary::describe() const {
  if (matrices == 0 && copied == 0) return "as stored";
  const std::string where = fmt::format("{}{}, {:.2f} s", human_bytes(static_cast<double>(bytes)),
                                        huge_pages ? " on 2 MiB pages" : "", seconds);
  if (matrices == 0) return fmt::format("copied as stored ({} matrices, {})", copied, where);
  return fmt::format("x8 interleaved ({} matrices){}, {}", matrices,
                     copied > 0 ? fmt::format(" + {} copied as stored", copied) : std::string(), where);
}

bool repack_enabled() {
  const char* env = std::getenv("FLAME_REPACK");
  if (env && std::strcmp(env, "0") == 0) return false;
  return cpu().has_avx2_fma();
}

RepackSummary repack_for_inference(LlamaWeights& w, const MappedFile* file, ThreadPool& pool) {
  const auto t0 = std::chrono::steady_clock::now();
  RepackSummary summary;
  summary.huge_pages = transparent_huge_pages_available();
  std::vector<Slot> slots;
  size_t total = 0;
  auto consider = [&](Tensor& t) {
    if (!t.defined() || t.ndim() != 2 || x8_weight(t)) return;
    const bool pack = can_pack_x8(t);
    const bool copy = !pack && summary.huge_pages && file && file->contains(t.data(), t.nbytes());
    if (!pack && !copy) return;
    const size_t bytes = pack ? x8_bytes(t) : t.nbytes();
    slots.push_back({&t, pack, total, bytes});
    total += (bytes + kSlotAlignment - 1) / kSlotAlignment * kSlotAlignment;
  };
  for (LayerWeights& l : w.layers)
    for (Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) consider(*t);
  // The output projection; when tied that is token_embd, whose rows embedding lookups still read
  // (from the original bytes when packed, from the copy otherwise).
  consider(w.config.tied_embeddings ? w.token_embd : w.output);
  if (slots.empty()) return summary;

  auto buffer = AlignedBuffer::allocate(total, summary.huge_pages ? PagePolicy::huge : PagePolicy::normal);
  for (const Slot& s : slots) summary.bytes += static_cast<int64_t>(s.bytes);
  std::optional<Progress> progress;
  if (summary.bytes >= kProgressMinBytes) progress.emplace("repack weights", summary.bytes, "B");
  for (const Slot& s : slots) {
    Tensor& t = *s.tensor;
    if (s.pack) {
      t.set_layout(pack_x8_into(t, pool, buffer, s.offset));
      release_from_file(t, file);
      ++summary.matrices;
    } else {
      copy_parallel(t, buffer->data() + s.offset, pool);
      release_from_file(t, file);
      t = Tensor::view(t.dtype(), t.shape(), buffer->data() + s.offset, buffer);
      ++summary.copied;
    }
    if (progress) progress->add(static_cast<int64_t>(s.bytes));
  }
  if (progress) progress->finish();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace flame
