#!/usr/bin/env bash
# Installs what the tests need beyond Rust, idempotently, from the package
# registries only: a Python virtualenv (outside the clone, so it is reused)
# with moto_server (DynamoDB/S3/SQS for the AWS backend's tests) and cfn-lint
# (offline validation of infra/), and aiosmtpd (the SMTP server the mail
# tests send to). Prints the virtualenv's bin folder last.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${CALLISTO_CACHE:-$HOME/.cache/callisto}"
venv="$cache/venv"
reqs="$root/scripts/requirements-test.txt"
stamp="$venv/.requirements.sha256"

mkdir -p "$cache"
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 lacks venv until python3-venv is installed.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi

want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" >&2
  echo "$want" > "$stamp"
fi
for tool in moto_server cfn-lint; do
  [ -x "$venv/bin/$tool" ] || { echo "$tool missing from $venv after install" >&2; exit 1; }
done
"$venv/bin/python" -c "import aiosmtpd" 2>/dev/null || { echo "aiosmtpd missing from $venv after install" >&2; exit 1; }
echo "$venv/bin"
