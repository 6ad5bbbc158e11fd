#include "flame/core/error.h"

#include <fmt/format.h>

namespace flame {

IoError::IoError(const std::string& path, const std::string& what) : Error(fmt::format("{}: {}", path, what)) {}

FormatError::FormatError(const std::string& path, const std::string& field, uint64_t offset, const std::string& what)
    : Error(fmt::format("{}: invalid {} at byte offset {}: {}", path, field, offset, what)),
      path_(path),
      field_(field),
      offset_(offset) {}

}  // namespace flame
