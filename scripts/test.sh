#!/usr/bin/env bash
# The one command that runs every test: formatting, lints, unit, conformance
# (embedded and AWS via moto_server), HTTP, and the infra template checks.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test dependencies"
bash scripts/install-system-deps.sh test
bash scripts/install-browser-deps.sh
venv_bin="$(bash scripts/install-test-deps.sh)"
bash scripts/build-web.sh
export PATH="$venv_bin:$PATH"

# A full run builds once; incremental caches would only double the disk it needs.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== infra template"
bash infra/check.sh

echo "== cargo tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
