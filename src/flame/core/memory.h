#pragma once
// Aligned heap buffers and read-only memory-mapped files, both shareable as a Tensor's owner.
//
//   auto buf = AlignedBuffer::allocate(bytes);        // 64-byte aligned, zeroed
//   auto weights = AlignedBuffer::allocate(bytes, PagePolicy::huge);  // 2 MiB pages where the OS allows
//   auto file = MappedFile::open("model.gguf");       // throws IoError naming the path
//   const uint8_t* p = file->data();
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace flame {

constexpr size_t kAlignment = 64;
constexpr size_t kHugePageBytes = size_t{2} << 20;

// `huge` asks the kernel for transparent 2 MiB pages (madvise), for memory streamed end to end every
// step like decode weights: fewer TLB misses and page walks (1B F16 decode ran 11.5-11.9 tok/s on
// them vs 10.0-10.5 on 4 KiB pages; docs/benchmarks.md). Buffers under 2 MiB stay on ordinary pages.
enum class PagePolicy { normal, huge };

// Whether transparent huge pages can be had by madvise (/sys/kernel/mm/transparent_hugepage/enabled
// is not [never]).
bool transparent_huge_pages_available();

class AlignedBuffer {
 public:
  // Zero-initialised, kAlignment-aligned (kHugePageBytes-aligned with PagePolicy::huge). Throws
  // std::bad_alloc on failure.
  static std::shared_ptr<AlignedBuffer> allocate(size_t bytes, PagePolicy pages = PagePolicy::normal);
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  AlignedBuffer(uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t* data_;
  size_t size_;
};

class MappedFile {
 public:
  // Maps the whole file read-only (pages are loaded on first touch, never copied).
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Hint that [offset, offset+bytes) will be read soon / sequentially.
  void advise_willneed(size_t offset, size_t bytes) const;
  // Drops the resident pages wholly inside [offset, offset+bytes) from this process (the data stays
  // readable: a later touch reads it back from the page cache). For bytes kept in another form.
  void advise_dontneed(size_t offset, size_t bytes) const;
  // Whether [p, p+bytes) lies inside the mapping.
  bool contains(const void* p, size_t bytes) const {
    const auto* b = static_cast<const uint8_t*>(p);
    return data_ && b >= data_ && bytes <= size_ && b - data_ <= static_cast<ptrdiff_t>(size_ - bytes);
  }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

// Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown.
size_t resident_bytes();

}  // namespace flame
