#pragma once
// FNV-1a 64-bit: a small, stable, dependency-free fingerprint for configs and tokenizer files
// (detects mismatches; not a cryptographic hash).
//
//   uint64_t h = fnv1a64(text.data(), text.size());
//   uint64_t h2 = fnv1a64(more, n, h);   // continue over several pieces
#include <cstddef>
#include <cstdint>
#include <string>

namespace flame {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;

inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// Hex fingerprint of a whole file's bytes; throws IoError when it cannot be read.
std::string file_fingerprint(const std::string& path);

}  // namespace flame
