// `flame corpus-extract KIND ARGS...`: the text extraction steps of scripts/get-corpus
// (train/corpus_extract.h), with the argument order of the former scripts/corpus_tools.py.
#include <fmt/format.h>

#include "command.h"
#include "flame/core/error.h"
#include "flame/train/corpus_extract.h"

namespace {

struct Options {
  std::string kind;
  std::vector<std::string> args;
};

constexpr const char* kUsage =
    "austen RDATA.rdb OUT | brown DIR OUT | sotu DIR OUT | dictd OUT DICT.dz... | fortunes OUT DIR... | "
    "tree DIR OUT EXT... | merge OUT IN...";

void need(const Options& o, size_t at_least, const char* form) {
  if (o.args.size() < at_least) throw flame::ArgumentError("corpus-extract", fmt::format("usage: {} {}", o.kind, form));
}

flame::cli::Registration reg{
    "corpus-extract", "Extract plain text from corpus sources (used by scripts/get-corpus)", [](CLI::App& app) {
      auto o = std::make_shared<Options>();
      app.add_option("kind", o->kind, "austen, brown, sotu, dictd, fortunes, tree or merge")->required();
      app.add_option("args", o->args, kUsage);
      return [o] {
        const auto& a = o->args;
        if (o->kind == "austen") {
          need(*o, 2, "RDATA.rdb OUT");
          flame::extract_austen(a[0], a[1]);
        } else if (o->kind == "brown") {
          need(*o, 2, "DIR OUT");
          flame::extract_brown(a[0], a[1]);
        } else if (o->kind == "sotu") {
          need(*o, 2, "DIR OUT");
          flame::extract_sotu(a[0], a[1]);
        } else if (o->kind == "dictd") {
          need(*o, 2, "OUT DICT.dz...");
          flame::extract_dictd(a[0], {a.begin() + 1, a.end()});
        } else if (o->kind == "fortunes") {
          need(*o, 2, "OUT DIR...");
          flame::extract_fortunes(a[0], {a.begin() + 1, a.end()});
        } else if (o->kind == "tree") {
          need(*o, 3, "DIR OUT EXT...");
          flame::extract_tree(a[0], a[1], {a.begin() + 2, a.end()});
        } else if (o->kind == "merge") {
          need(*o, 2, "OUT IN...");
          const auto s = flame::merge_corpus(a[0], {a.begin() + 1, a.end()});
          fmt::print("merge: kept {} paragraphs, dropped {} duplicates\n", s.kept, s.dropped);
        } else {
          throw flame::ArgumentError("corpus-extract", fmt::format("unknown kind '{}'; one of: {}", o->kind, kUsage));
        }
        return 0;
      };
    }};

}  // namespace
