#!/usr/bin/env bash
# Re-vendor the browser assets of the offline GraphiQL page into tenantflow/static/graphiql/.
# Files come from the npm registry (`npm pack`), never from a CDN, and each must match the SRI
# hash that Strawberry's stock page pins for the same file; tenantflow/web/graphiql.py pins it too.
# Usage: scripts/vendor_graphiql.sh   (needs npm, tar, openssl)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/tenantflow/static/graphiql"
WORK="$(mktemp -d /tmp/vendor-graphiql.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# package@version | path inside the package | local file name | sha384 (SRI)
ASSETS=(
  "react@18.2.0 umd/react.production.min.js react.production.min.js sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"
  "react-dom@18.2.0 umd/react-dom.production.min.js react-dom.production.min.js sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"
  "js-cookie@3.0.5 dist/js.cookie.min.js js.cookie.min.js sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN"
  "graphiql@3.8.3 graphiql.min.js graphiql.min.js sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"
  "graphiql@3.8.3 graphiql.min.css graphiql.min.css sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"
  "@graphiql/plugin-explorer@1.0.2 dist/index.umd.js plugin-explorer.umd.js sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"
  "@graphiql/plugin-explorer@1.0.2 dist/style.css plugin-explorer.css sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"
)

unpack() {  # unpack <package@version> -> prints the directory holding the package's files
  local spec="$1" dir="$WORK/${1//[@\/]/_}"
  if [[ ! -d "$dir" ]]; then
    mkdir -p "$dir"
    local tarball
    tarball="$(cd "$WORK" && npm pack --silent "$spec" | tail -n 1)"
    tar -xzf "$WORK/$tarball" -C "$dir"
  fi
  echo "$dir/package"
}

mkdir -p "$DEST"
licenses="$DEST/THIRD_PARTY_LICENSES.txt"
: >"$licenses.tmp"
declare -A seen=()
for entry in "${ASSETS[@]}"; do
  read -r spec path name sri <<<"$entry"
  pkg="$(unpack "$spec")"
  actual="sha384-$(openssl dgst -sha384 -binary "$pkg/$path" | base64 -w0)"
  if [[ "$actual" != "$sri" ]]; then
    echo "hash mismatch for $spec/$path: got $actual, want $sri" >&2
    exit 1
  fi
  cp "$pkg/$path" "$DEST/$name"
  echo "vendored $spec/$path -> $name"
  if [[ -z "${seen[$spec]:-}" ]]; then
    seen[$spec]=1
    printf '==== %s ====\n\n' "$spec" >>"$licenses.tmp"
    if [[ -f "$pkg/LICENSE" ]]; then
      cat "$pkg/LICENSE" >>"$licenses.tmp"
    else  # some packages ship no LICENSE file; record the licence their package.json declares
      printf 'No LICENSE file in the package; package.json declares: %s\n' \
        "$(node -p "require('$pkg/package.json').license")" >>"$licenses.tmp"
    fi
    printf '\n' >>"$licenses.tmp"
  fi
done
mv "$licenses.tmp" "$licenses"
