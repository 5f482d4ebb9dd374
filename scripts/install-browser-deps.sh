#!/usr/bin/env bash
# Installs what the real-browser call harness (tests/browser) needs,
# idempotently: Debian's chromium when /usr/bin/chromium is missing, and the
# harness's npm packages (playwright-core, jssip) from package-lock.json when
# node_modules is missing or the lock file changed since the last install.
# Never downloads a browser build of its own (no `playwright install`).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/browser"

if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
apt_install() {
  if [ "$(id -u)" != 0 ] && [ -z "${sudo:-}" ]; then
    echo "missing Debian packages: $* (run: apt-get install $*)" >&2
    exit 1
  fi
  echo "installing Debian packages: $*" >&2
  ${sudo:-} apt-get update -qq
  DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  apt_install nodejs npm
fi

stamp="$dir/node_modules/.package-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the browser harness's npm packages" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" > "$stamp"
fi
for m in playwright-core jssip; do
  [ -d "$dir/node_modules/$m" ] || { echo "$m missing from $dir/node_modules after npm ci" >&2; exit 1; }
done
