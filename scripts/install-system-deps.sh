#!/usr/bin/env bash
# Installs the Debian packages Callisto needs, idempotently: only what is
# missing is installed, from Debian's archive.
#   build — what building the product needs (libopus for the media node)
#   test  — build + the real peers and tools the tests drive (sipp, baresip, sox)
set -euo pipefail

build=(pkg-config libopus-dev)
test=(sip-tester baresip sox)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "missing Debian packages: ${missing[*]} (run: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
echo "installing Debian packages: ${missing[*]}" >&2
${sudo:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
