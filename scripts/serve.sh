#!/usr/bin/env bash
# Runs the whole product on this machine: builds the web app, then
# `callisto serve` (API + web app) on
# the embedded store in ./data, with the demo company from samplesdata/.
# Extra arguments go to `callisto serve` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh build
bash scripts/build-web.sh
exec cargo run --release --locked -p callisto -- serve "$@"
