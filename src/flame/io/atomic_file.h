#pragma once
// Atomic file replacement: bytes go to a temporary file in the destination's folder, which is
// fsync'd and renamed over the destination (then the folder is fsync'd), so a reader sees either
// the old file or the complete new one, never a torn one, even after a crash or a full disk.
//
//   AtomicFile out("model.gguf");      // creates model.gguf.tmp.XXXXXX beside it
//   out.write(header.data(), header.size());
//   out.write_zeros(padding);
//   out.commit();                      // fsync + rename + fsync(dir); without it the temp is removed
//
//   write_file_atomically("config.json", text);  // the one-shot form
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flame::io {

class AtomicFile {
 public:
  // Throws IoError (naming `path`) if the temporary file cannot be created.
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes. Throws IoError on any failure (ENOSPC, EIO, ...), naming the destination.
  void write(const void* data, size_t bytes);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  void write_zeros(size_t bytes);
  // Bytes written so far.
  uint64_t size() const { return written_ + buffer_.size(); }

  // Flushes, fsyncs, renames over the destination and fsyncs the folder. Throws IoError.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  void flush_buffer();
  void write_fully(const uint8_t* data, size_t bytes);
  [[noreturn]] void fail(const std::string& what, int err);

  std::string path_, temp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  std::vector<uint8_t> buffer_;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically (see AtomicFile).
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace flame::io
