#pragma once
// Progress for long operations: a live line on a terminal (bar, rate, ETA), occasional plain lines
// when stderr is not a terminal. JsonlLog writes one JSON object per line for machines.
//
//   Progress p("tokenize", total_bytes, "B");
//   for (...) p.add(n);
//   p.finish();
//   JsonlLog log("run/train.jsonl");  log.write({{"step", 1}, {"loss", 3.2}});
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace flame {

class Progress {
public:
  // total <= 0 means unknown (no bar, no ETA). unit "B" prints sizes as KB/MB/GB.
  Progress(std::string label, int64_t total, std::string unit = "");
  ~Progress();
  void add(int64_t n) { update(done_ + n); }
  void update(int64_t done);
  // Extra text shown after the rate (e.g. "loss 3.21").
  void set_suffix(std::string suffix) { suffix_ = std::move(suffix); }
  // Replaces the ETA estimated from the average rate (seconds; < 0 returns to the estimate), for
  // callers that know better (e.g. a time budget that ends the run before the total).
  void set_eta(double seconds) { eta_override_ = seconds; }
  // Continues from `done` units finished earlier (e.g. a resumed run): the rate counts only the
  // units done by this process.
  void start_at(int64_t done) { done_ = base_ = done; }
  void finish();
  double elapsed_seconds() const;
  // Disables all progress output process-wide (e.g. --quiet, or JSON on stdout that must stay clean
  // is unaffected: progress goes to stderr).
  static void set_enabled(bool enabled);

private:
  void draw(bool final);
  std::string label_, unit_, suffix_;
  int64_t total_, done_ = 0, base_ = 0;
  double eta_override_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool tty_, finished_ = false;
};

// "1.23 MB", "12.0 GB": decimal units.
std::string human_bytes(double bytes);
// "1:02:03" or "2:03".
std::string human_duration(double seconds);

class JsonlLog {
public:
  explicit JsonlLog(const std::string& path, bool append = true);
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;
  void write(const nlohmann::json& record);  // one line, flushed
  const std::string& path() const { return path_; }

private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace flame
