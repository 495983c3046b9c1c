#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, run every test for real
# (kernel, network namespaces, SoftHSM, OpenSSL). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh
exec bun test --timeout 120000 "$@"
