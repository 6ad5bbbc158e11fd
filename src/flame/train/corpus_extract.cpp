#include "flame/train/corpus_extract.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <fmt/format.h>

#include "flame/core/error.h"
#include "flame/io/atomic_file.h"
#include "flame/train/py_text.h"

namespace flame {
namespace fs = std::filesystem;
using pytext::encode_utf8;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path, "read failed");
  return ss.str();
}

// open(path, encoding="utf-8", errors="replace").read(): decoded, newlines made universal.
std::u32string read_text(const std::string& path) {
  return pytext::universal_newlines(pytext::decode_utf8_replace(read_bytes(path)));
}

// Names in a folder, sorted as Python sorts str (code point order = UTF-8 byte order).
std::vector<fs::directory_entry> sorted_entries(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw IoError(dir, "cannot list folder: " + ec.message());
  std::vector<fs::directory_entry> entries(it, fs::directory_iterator());
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename().string() < b.path().filename().string(); });
  return entries;
}

uint32_t be32(const std::string& data, size_t pos, const std::string& path, const char* field) {
  if (pos + 4 > data.size()) throw FormatError(path, field, pos, "truncated R serialization");
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + pos);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// One XDR-serialized character vector (R's serialize() format 2 or 3).
std::vector<std::string> parse_r_character_vector(const std::string& payload, const std::string& path) {
  if (payload.compare(0, 2, "X\n") != 0)
    throw FormatError(path, "serialization header", 0, "not an XDR R serialization (expected \"X\\n\")");
  const uint32_t version = be32(payload, 2, path, "version");
  size_t pos = 2 + 12;  // format version, writer R version, minimal reader R version
  if (version == 3) pos += 4 + be32(payload, pos, path, "native encoding length");
  const uint32_t flags = be32(payload, pos, path, "object flags");
  const int32_t length = static_cast<int32_t>(be32(payload, pos + 4, path, "vector length"));
  pos += 8;
  if ((flags & 0xFF) != 16)
    throw FormatError(path, "object type", pos - 8,
                      fmt::format("R object is not a character vector (type {})", flags & 0xFF));
  if (length < 0) throw FormatError(path, "vector length", pos - 4, "long vectors are not supported");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(length));
  for (int32_t i = 0; i < length; ++i) {
    const int32_t n = static_cast<int32_t>(be32(payload, pos + 4, path, "string length"));
    pos += 8;
    if (n < 0) {  // NA_character_
      out.emplace_back();
      continue;
    }
    if (pos + static_cast<size_t>(n) > payload.size())
      throw FormatError(path, fmt::format("string {}", i), pos, "string runs past the end of the record");
    out.push_back(encode_utf8(pytext::decode_utf8_replace(std::string_view(payload).substr(pos, n))));
    pos += static_cast<size_t>(n);
  }
  return out;
}

// Inflates the zlib stream starting at `pos`; returns the data and sets `end` past the stream.
std::string inflate_zlib(const std::string& data, size_t pos, size_t& end, const std::string& path) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw Error("zlib: inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + pos));
  z.avail_in = static_cast<uInt>(data.size() - pos);
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw FormatError(path, "zlib record", pos, fmt::format("cannot inflate ({})", z.msg ? z.msg : "truncated"));
    }
    out.append(buffer, sizeof(buffer) - z.avail_out);
  }
  end = pos + z.total_in;
  inflateEnd(&z);
  return out;
}

// Python's unwrap(): hard-wrapped lines joined into one line per paragraph.
std::u32string unwrap(std::u32string_view text) {
  std::u32string out;
  bool first_paragraph = true;
  for (auto para : pytext::split_paragraphs(text)) {
    if (pytext::py_strip(para).empty()) continue;
    if (!first_paragraph) out += U"\n\n";
    first_paragraph = false;
    bool first_line = true;
    for (auto line : pytext::splitlines(para)) {
      const auto stripped = pytext::py_strip(line);
      if (stripped.empty()) continue;
      if (!first_line) out += U' ';
      first_line = false;
      out += stripped;
    }
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One Brown paragraph: the words of its "word/tag" tokens (Python: re.finditer(r"(\S+)/[^\s/]+")),
// joined and detokenized.
std::u32string brown_paragraph(std::u32string_view para) {
  using pytext::is_space;
  std::vector<std::u32string_view> words;
  const size_t n = para.size();
  size_t p = 0;
  while (p < n) {
    if (is_space(para[p])) {
      ++p;
      continue;
    }
    size_t q = p;
    while (q < n && !is_space(para[q])) ++q;
    // \S+ backs off from the run's end to the last '/' that has a non-'/' character after it.
    size_t slash = std::u32string_view::npos;
    for (size_t j = q - 1; j > p; --j)
      if (para[j] == U'/' && j + 1 < q && para[j + 1] != U'/') {
        slash = j;
        break;
      }
    if (slash == std::u32string_view::npos) {
      ++p;  // no match starting here; a later start inside the run cannot have one either
      p = q;
      continue;
    }
    words.push_back(para.substr(p, slash - p));
    size_t e = slash + 1;
    while (e < q && para[e] != U'/') ++e;  // [^\s/]+
    p = e;
  }
  if (words.empty()) return {};
  std::u32string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) text += U' ';
    text += words[i];
  }
  auto replace_all = [](std::u32string& s, std::u32string_view from, std::u32string_view to) {
    std::u32string out;
    size_t i = 0;
    while (i < s.size()) {
      if (s.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
      } else {
        out += s[i++];
      }
    }
    s = std::move(out);
  };
  replace_all(text, U"``", U"\"");
  replace_all(text, U"''", U"\"");
  std::u32string step;
  for (size_t i = 0; i < text.size(); ++i) {  // re.sub(r" ([.,;:!?)])", r"\1")
    if (text[i] == U' ' && i + 1 < text.size() &&
        std::u32string_view(U".,;:!?)").find(text[i + 1]) != std::u32string_view::npos) {
      step += text[++i];
      continue;
    }
    step += text[i];
  }
  replace_all(step, U"( ", U"(");  // re.sub(r"\( ", "(")
  std::u32string out;
  static const std::u32string_view kClitics[] = {U"n't", U"'s", U"'re", U"'ll", U"'ve", U"'d", U"'m"};
  for (size_t i = 0; i < step.size(); ++i) {  // re.sub(r" (n't|'s|'re|'ll|'ve|'d|'m)\b", r"\1")
    if (step[i] == U' ') {
      bool matched = false;
      for (auto clitic : kClitics) {
        const size_t end = i + 1 + clitic.size();
        if (step.compare(i + 1, clitic.size(), clitic) == 0 && (end == step.size() || !pytext::is_word(step[end]))) {
          out += clitic;
          i = end - 1;
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out += step[i];
  }
  return out;
}

void write_output(const std::string& out_path, const std::string& text) {
  io::write_file_atomically(out_path, text);
}

}  // namespace

std::vector<std::vector<std::string>> read_rdb_character_vectors(const std::string& path) {
  const std::string data = read_bytes(path);
  std::vector<std::vector<std::string>> vectors;
  size_t pos = 0;
  while (pos < data.size()) {
    if (pos + 4 > data.size()) throw FormatError(path, "record length", pos, "truncated record header");
    size_t end = 0;
    const std::string payload = inflate_zlib(data, pos + 4, end, path);
    vectors.push_back(parse_r_character_vector(payload, path));
    pos = end;
  }
  if (vectors.empty()) throw FormatError(path, "records", 0, "empty: no R objects in the database");
  return vectors;
}

void extract_austen(const std::string& rdb_path, const std::string& out_path) {
  std::string out;
  for (const auto& lines : read_rdb_character_vectors(rdb_path)) {
    std::u32string book;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) book += U'\n';
      book += pytext::decode_utf8_replace(lines[i]);
    }
    const std::u32string unwrapped = unwrap(book);
    out += encode_utf8(pytext::py_strip(unwrapped)) + "\n\n";
  }
  write_output(out_path, out);
}

void extract_brown(const std::string& dir, const std::string& out_path) {
  std::string out;
  for (const auto& entry : sorted_entries(dir)) {
    const std::string name = entry.path().filename().string();
    // re.fullmatch(r"c[a-r]\d\d", name)
    if (name.size() != 4 || name[0] != 'c' || name[1] < 'a' || name[1] > 'r' || !std::isdigit(name[2]) ||
        !std::isdigit(name[3]))
      continue;
    const std::u32string raw = read_text(entry.path().string());
    for (auto para : pytext::split_paragraphs(raw)) {
      const std::u32string text = brown_paragraph(para);
      if (!text.empty()) out += encode_utf8(text) + "\n\n";
    }
  }
  write_output(out_path, out);
}

void extract_sotu(const std::string& dir, const std::string& out_path) {
  std::string out;
  for (const auto& entry : sorted_entries(dir)) {
    if (!ends_with(entry.path().filename().string(), ".txt")) continue;
    out += encode_utf8(pytext::py_strip(read_text(entry.path().string()))) + "\n\n";
  }
  write_output(out_path, out);
}

void extract_dictd(const std::string& out_path, const std::vector<std::string>& files) {
  std::string out;
  for (const auto& path : files) {
    gzFile gz = gzopen(path.c_str(), "rb");  // dictzip = gzip with a random-access extra field
    if (!gz) throw IoError(path, "cannot open");
    std::string bytes;
    char buffer[1 << 16];
    int n;
    while ((n = gzread(gz, buffer, sizeof(buffer))) > 0) bytes.append(buffer, static_cast<size_t>(n));
    int err = 0;
    const char* msg = gzerror(gz, &err);
    gzclose(gz);
    if (n < 0 || (err != Z_OK && err != Z_STREAM_END))
      throw FormatError(path, "gzip data", bytes.size(), fmt::format("cannot decompress: {}", msg ? msg : "error"));
    out += encode_utf8(pytext::universal_newlines(pytext::decode_utf8_replace(bytes))) + "\n";
  }
  write_output(out_path, out);
}

void extract_fortunes(const std::string& out_path, const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& dir : dirs)
    for (const auto& entry : sorted_entries(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.find('.') != std::string::npos || entry.is_symlink() || !entry.is_regular_file()) continue;
      const std::u32string text = read_text(entry.path().string());
      const std::u32string_view all(text), sep(U"\n%\n");
      size_t start = 0;
      while (true) {  // text.split("\n%\n")
        const size_t at = all.find(sep, start);
        const auto item = pytext::py_strip(all.substr(start, at == std::u32string_view::npos ? at : at - start));
        if (!item.empty()) out += encode_utf8(item) + "\n\n";
        if (at == std::u32string_view::npos) break;
        start = at + sep.size();
      }
    }
  write_output(out_path, out);
}

namespace {
// os.walk(dir) with dirs.sort(): this folder's matching files (sorted), then each subfolder in
// name order; links to folders are listed but not entered.
void walk(const fs::path& dir, const std::vector<std::string>& extensions, std::vector<fs::path>& paths) {
  std::vector<fs::path> subdirs;
  for (const auto& entry : sorted_entries(dir.string())) {
    std::error_code ec;
    if (entry.is_directory(ec)) {
      if (!entry.is_symlink()) subdirs.push_back(entry.path());
      continue;
    }
    const std::string name = entry.path().filename().string();
    for (const auto& ext : extensions)
      if (ends_with(name, ext)) {
        paths.push_back(entry.path());
        break;
      }
  }
  for (const auto& d : subdirs) walk(d, extensions, paths);
}
}  // namespace

void extract_tree(const std::string& dir, const std::string& out_path, const std::vector<std::string>& extensions) {
  std::vector<fs::path> paths;
  walk(dir, extensions, paths);
  std::string out;
  for (const auto& p : paths) {
    const auto text = read_text(p.string());
    const auto stripped = pytext::py_strip(text);
    if (!stripped.empty()) out += encode_utf8(stripped) + "\n\n";
  }
  write_output(out_path, out);
}

MergeStats merge_corpus(const std::string& out_path, const std::vector<std::string>& inputs) {
  MergeStats stats;
  std::unordered_set<std::string> seen;
  io::AtomicFile out(out_path);
  for (const auto& path : inputs) {
    const std::u32string text = read_text(path);
    for (auto para : pytext::split_paragraphs(text)) {
      para = pytext::py_strip(para, U'\n');
      if (pytext::py_strip(para).empty()) continue;
      std::string bytes = encode_utf8(para);
      if (para.size() >= 80 && !seen.insert(bytes).second) {
        ++stats.dropped;
        continue;
      }
      bytes += "\n\n";
      out.write(bytes);
      ++stats.kept;
    }
  }
  out.commit();
  return stats;
}

}  // namespace flame
