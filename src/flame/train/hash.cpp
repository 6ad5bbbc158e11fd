#include "flame/train/hash.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open");
  std::vector<char> buf(1 << 20);
  uint64_t h = kFnvOffset;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a64(buf.data(), static_cast<size_t>(in.gcount()), h);
  }
  if (in.bad()) throw IoError(path, "read failed");
  return fmt::format("{:016x}", h);
}

}  // namespace flame
