#!/usr/bin/env bash
# Reproduces the README's performance table: CPU per alert (criterion), then the whole
# release binary (cold start against a bare lambda_runtime bootstrap, round trips,
# connections, secret calls, memory, size). BENCH_ONLY=cold stops after the cold start.
# `make build` first to include the arm64 sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p detection-jira --bin detection-jira
cargo build --release -q -p perf --bin bare-bootstrap
cargo bench -q -p perf --bench build_issue 2>&1 | grep -E "time:|^parse"
BENCH_BINARY="$PWD/target/release/detection-jira" cargo bench -q -p detection-jira --bench function
