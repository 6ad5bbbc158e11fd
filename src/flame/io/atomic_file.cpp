#include "flame/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame::io {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

std::string errno_text(int err) {
  if (err == ENOSPC) return "no space left on device (ENOSPC)";
  if (err == EDQUOT) return "disk quota exceeded (EDQUOT)";
  return std::strerror(err);
}

std::string parent_dir(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw IoError(path_, "empty output path");
  std::string pattern = path_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) {
    const int err = errno;
    throw IoError(path_, fmt::format("cannot create temporary file {}: {}", pattern, errno_text(err)));
  }
  temp_path_ = pattern;
  ::fchmod(fd_, 0644);  // mkstemp makes 0600; outputs are ordinary files
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFile::fail(const std::string& what, int err) {
  throw IoError(path_, fmt::format("{} (temporary file {}): {}", what, temp_path_, errno_text(err)));
}

void AtomicFile::write_fully(const uint8_t* data, size_t bytes) {
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, data, std::min(bytes, size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(fmt::format("write failed after {} bytes", written_), errno);
    }
    if (n == 0) fail(fmt::format("write made no progress after {} bytes", written_), ENOSPC);
    data += n;
    bytes -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::flush_buffer() {
  if (buffer_.empty()) return;
  write_fully(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void AtomicFile::write(const void* data, size_t bytes) {
  if (committed_) throw IoError(path_, "write after commit");
  const auto* p = static_cast<const uint8_t*>(data);
  if (buffer_.size() + bytes <= kBufferBytes) {
    buffer_.insert(buffer_.end(), p, p + bytes);
    return;
  }
  flush_buffer();
  if (bytes < kBufferBytes) {
    buffer_.insert(buffer_.end(), p, p + bytes);
  } else {
    write_fully(p, bytes);
  }
}

void AtomicFile::write_zeros(size_t bytes) {
  static const uint8_t zeros[4096] = {};
  while (bytes > 0) {
    const size_t n = std::min(bytes, sizeof zeros);
    write(zeros, n);
    bytes -= n;
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  flush_buffer();
  if (::fsync(fd_) != 0) fail("fsync failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("close failed", errno);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail("rename onto the destination failed", errno);
  committed_ = true;
  // The rename is durable only once the folder entry is on disk.
  const std::string dir = parent_dir(path_);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    const int rc = ::fsync(dir_fd);
    const int err = errno;
    ::close(dir_fd);
    if (rc != 0 && err != EINVAL)
      throw IoError(path_, fmt::format("fsync of folder {} failed: {}", dir, errno_text(err)));
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile out(path);
  out.write(bytes);
  out.commit();
}

}  // namespace flame::io
