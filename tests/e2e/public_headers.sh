#!/usr/bin/env bash
# The CLI, the server and the examples use only the public API: every quoted #include in
# apps/ and examples/ must be a header under include/ember/ or a file of the same app tree
# (never src/, by path or relative path). The build enforces most of this too (apps get no
# src/ include path); this also catches "../../src/..." style includes.
set -euo pipefail
: "${EMBER_SOURCE_DIR:?}"
cd "$EMBER_SOURCE_DIR"
bad=0
while IFS= read -r f; do
  dir=$(dirname "$f")
  top=${f%%/*}  # apps or examples
  while IFS= read -r inc; do
    case "$inc" in
      ember/*) [ -f "include/$inc" ] && continue ;;
      *)
        real=$(realpath -m "$dir/$inc")
        case "$real" in "$(realpath "$top")"/*) [ -f "$real" ] && continue ;; esac ;;
    esac
    echo "FAIL: $f includes \"$inc\" (not a public ember/ header nor a file of $top/)"
    bad=1
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
  # Angle-bracket includes of ember must be public headers too.
  while IFS= read -r inc; do
    [ -f "include/$inc" ] || { echo "FAIL: $f includes <$inc> (no such public header)"; bad=1; }
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\(ember\/[^>]*\)>.*/\1/p' "$f")
done < <(find apps examples -type f \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' -o -name '*.cpp' \) 2>/dev/null | sort)
[ "$bad" = 0 ] || exit 1
echo "public_headers: apps/ and examples/ include only include/ember/ headers"
