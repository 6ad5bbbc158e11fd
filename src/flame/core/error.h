#pragma once
// Errors carry enough context for a user to act: which file, which field, which byte offset,
// which operation. Everything below main() throws; only the CLI turns errors into exit codes.
//
//   throw flame::FormatError(path, "tensor_infos[3].offset", 1234, "offset past end of file");
//   throw flame::ArgumentError("rms_norm", fmt::format("dim {} is not positive", dim));
#include <cstdint>
#include <stdexcept>
#include <string>

namespace flame {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A file could not be opened, read, written or mapped (carries errno text).
class IoError : public Error {
public:
  IoError(const std::string& path, const std::string& what);
};

// A file's contents violate its format. Names the file, the field and the byte offset.
class FormatError : public Error {
public:
  FormatError(const std::string& path, const std::string& field, uint64_t offset, const std::string& what);
  const std::string& path() const { return path_; }
  const std::string& field() const { return field_; }
  uint64_t offset() const { return offset_; }

private:
  std::string path_, field_;
  uint64_t offset_;
};

// A caller passed an invalid value (shape mismatch, out-of-range id, bad flag). Names the operation.
class ArgumentError : public Error {
public:
  ArgumentError(const std::string& op, const std::string& what) : Error("[" + op + "] " + what) {}
};

// Something unsupported but well-formed (an unknown quant type, an unknown chat template).
class UnsupportedError : public Error {
public:
  explicit UnsupportedError(const std::string& what) : Error(what) {}
};

}  // namespace flame
