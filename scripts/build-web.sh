#!/usr/bin/env bash
# Builds the web app (web/) into web/dist, which `callisto serve` serves:
# installs its npm packages from package-lock.json when node_modules is
# missing or the lock file changed since, then type-checks and bundles.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/web"

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "node and npm are needed to build the web app (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
stamp="$dir/node_modules/.package-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$dir/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the web app's npm packages" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" > "$stamp"
fi
(cd "$dir" && npm run --silent build >&2)
