#include "flame/core/progress.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "flame/core/error.h"

namespace flame {
namespace {
std::atomic<bool> g_enabled{true};
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 4) {
    bytes /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.2f} {}", bytes, units[u]);
}

std::string human_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

void Progress::set_enabled(bool enabled) { g_enabled.store(enabled); }

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : 10.0)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  if (!g_enabled.load()) return;
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_ - base_) / elapsed : 0.0;
  auto amount = [&](double v) { return unit_ == "B" ? human_bytes(v) : fmt::format("{:.0f}", v); };
  std::string line = label_ + " ";
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done_) / total_);
    const int width = 24, filled = static_cast<int>(frac * width);
    line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    line += fmt::format("{:5.1f}% {}/{}", frac * 100, amount(done_), amount(total_));
  } else {
    line += amount(done_);
  }
  if (unit_ != "B" && !unit_.empty()) line += " " + unit_;
  line += unit_ == "B" ? fmt::format(" {}/s", human_bytes(rate)) : fmt::format(" {:.1f}/s", rate);
  if (!suffix_.empty()) line += " " + suffix_;
  if (final)
    line += " in " + human_duration(elapsed);
  else if (eta_override_ >= 0)
    line += " ETA " + human_duration(eta_override_);
  else if (total_ > 0 && rate > 0)
    line += " ETA " + human_duration((total_ - done_) / rate);
  if (tty_)
    fmt::print(stderr, "\r\033[K{}{}", line, final ? "\n" : "");
  else
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

JsonlLog::JsonlLog(const std::string& path, bool append) : path_(path), file_(std::fopen(path.c_str(), append ? "a" : "w")) {
  if (!file_) throw IoError(path, std::strerror(errno));
}

JsonlLog::~JsonlLog() {
  if (file_) std::fclose(file_);
}

void JsonlLog::write(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw IoError(path_, std::string("write failed: ") + std::strerror(errno));
}

}  // namespace flame
