#!/usr/bin/env bash
# The library is layered: a file may include only its own layer and the layers below it.
# core -> kernels -> io -> tokenizer -> model -> generate -> train -> scaling/serve
set -euo pipefail
src=${FLAME_SOURCE_DIR:?}/src/flame
order=(core kernels io tokenizer model generate train scaling serve)
rank() { for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && echo "$i" && return; done; echo 99; }
bad=0
for layer in "${order[@]}"; do
  [ -d "$src/$layer" ] || continue
  mine=$(rank "$layer")
  while IFS=: read -r file inc; do
    dep=$(sed -E 's|.*"flame/([a-z_]+)/.*|\1|' <<<"$inc")
    if [ "$(rank "$dep")" -gt "$mine" ]; then
      echo "layering: $file ($layer) includes $dep: $inc" >&2
      bad=1
    fi
  done < <(grep -HE '#include "flame/' "$src/$layer"/*.{h,cpp} 2>/dev/null || true)
done
[ "$bad" = 0 ] && echo "layering: ok"
exit "$bad"
