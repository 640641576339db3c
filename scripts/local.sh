#!/usr/bin/env bash
# The local loop in one command: builds, starts the stand-in (fake Jira Cloud on :18080,
# Server/DC on :18081, the Atlassian gateway on :18083, Secrets Manager with the demo
# secrets jira/demo, jira/demo-scoped and jira/demo-oauth) and the function
# under `cargo lambda watch` on :9000, which rebuilds it when src/ changes. Then, from
# another terminal:
#     make invoke EVENT=events/alert-cloud.json
#     make check-destination
# and open http://127.0.0.1:18080/ to read the issues as Jira shows them. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "building (the first build takes a few minutes) ..."
cargo build --workspace --bins

pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

target/debug/fake-jira --cloud 127.0.0.1:18080 --server 127.0.0.1:18081 --gateway 127.0.0.1:18083 &
pids+=($!)
ALLOWED_JIRA_HOSTS=127.0.0.1:18080,127.0.0.1:18081 \
  ATLASSIAN_API_URL=http://127.0.0.1:18083 ATLASSIAN_AUTH_URL=http://127.0.0.1:18083 \
  AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:18080 AWS_ENDPOINT_URL_SQS=http://127.0.0.1:18080 AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
  cargo lambda watch &
pids+=($!)
cat <<'MSG'

Local loop running. In another terminal:
  make invoke EVENT=events/alert-cloud.json     (any file in events/)
  make check-destination                        (the preflight, as a table)
Issues: http://127.0.0.1:18080/ (Cloud), http://127.0.0.1:18081/ (Server/DC). Ctrl-C stops.
MSG
wait
