#pragma once
// Hand-assembles GGUF bytes for tests, valid or deliberately broken, independent of gguf::Writer.
//
//   GgufBytes g;
//   g.preamble(3, /*tensors=*/1, /*kvs=*/1);
//   g.key("general.alignment").u32(4 /*U32*/).u32(32);
//   const size_t at = g.mark();  // remember where a field starts to check error offsets
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace flame::test {

class GgufBytes {
 public:
  std::vector<uint8_t> bytes;

  size_t mark() const { return bytes.size(); }
  GgufBytes& raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
  GgufBytes& u8(uint8_t v) { return raw(&v, 1); }
  GgufBytes& u32(uint32_t v) { return raw(&v, 4); }
  GgufBytes& u64(uint64_t v) { return raw(&v, 8); }
  GgufBytes& f32(float v) { return raw(&v, 4); }
  GgufBytes& str(const std::string& s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  GgufBytes& preamble(uint32_t version, uint64_t tensors, uint64_t kvs) {
    raw("GGUF", 4);
    u32(version);
    u64(tensors);
    return u64(kvs);
  }
  // A key followed by its u32 value type.
  GgufBytes& key(const std::string& k, uint32_t type) {
    str(k);
    return u32(type);
  }
  // A tensor info; `ne` innermost first, as GGUF stores it.
  GgufBytes& tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    u32(type);
    return u64(offset);
  }
  GgufBytes& pad_to(size_t alignment) {
    while (bytes.size() % alignment) u8(0);
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes.insert(bytes.end(), n, 0);
    return *this;
  }
  void save(const std::string& path, size_t limit = SIZE_MAX) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(std::min(limit, bytes.size())));
  }
};

}  // namespace flame::test
