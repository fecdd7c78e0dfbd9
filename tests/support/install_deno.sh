#!/usr/bin/env bash
# Installs the official deno binary from the npm registry (no other download host needed).
set -euo pipefail
version=$1
dest=$2
case "$(uname -m)" in
  x86_64) pkg=linux-x64-glibc ;;
  aarch64) pkg=linux-arm64-glibc ;;
  *) echo "install_deno: no prebuilt deno for $(uname -m); install deno $version yourself" >&2; exit 1 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "installing deno $version from the npm registry (@deno/$pkg)" >&2
(cd "$tmp" && npm pack --silent "@deno/$pkg@$version" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$dest"
install -m 0755 "$tmp/package/deno" "$dest/deno"
"$dest/deno" --version | head -n 1 >&2
