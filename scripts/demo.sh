#!/usr/bin/env bash
# Runs the function locally on every sample event in events/, against the local stand-in
# (fake Jira Cloud + Server/DC + Secrets Manager), through cargo lambda's runtime emulator.
# Exit status is non-zero when an event did not give the expected result.
#   DEMO_KEEP=1  keep the stand-in running afterwards (Ctrl-C to stop) to browse its page.
set -euo pipefail
cd "$(dirname "$0")/.."

CLOUD=127.0.0.1:${DEMO_CLOUD_PORT:-18080}
SERVER=127.0.0.1:${DEMO_SERVER_PORT:-18081}
# The Atlassian API gateway and token endpoint stand-in (scoped tokens, OAuth).
GATEWAY=127.0.0.1:${DEMO_GATEWAY_PORT:-18083}
RUNTIME_PORT=${DEMO_RUNTIME_PORT:-9000}

MOTO=127.0.0.1:${DEMO_MOTO_PORT:-18082}

# Tools: cargo-lambda (emulator) and moto (a local DynamoDB for the idempotency ledger)
# from PyPI into the project's venv.
if [ ! -x .venv/bin/cargo-lambda ] || [ ! -x .venv/bin/moto_server ]; then
  echo "installing cargo-lambda and moto into .venv ..."
  python3 -m venv .venv
  .venv/bin/pip install -q cargo-lambda 'moto[server]'
fi
export PATH="$PWD/.venv/bin:$PATH"

echo "building ..."
cargo build -q --workspace --bins

# Logs live outside the crate: cargo lambda reacts to files changing inside it.
RUN=$(mktemp -d)
export DEMO_SEEN="$RUN/seen.json"
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1; see $RUN" >&2
  return 1
}

target/debug/fake-jira --cloud "$CLOUD" --server "$SERVER" --gateway "$GATEWAY" >"$RUN/stand-in.log" 2>&1 &
pids+=($!)
.venv/bin/moto_server -H "${MOTO%:*}" -p "${MOTO#*:}" >"$RUN/moto.log" 2>&1 &
pids+=($!)
cargo lambda watch --only-lambda-apis -P "$RUNTIME_PORT" >"$RUN/watch.log" 2>&1 &
pids+=($!)
wait_port "$CLOUD"
wait_port "$GATEWAY"
wait_port "127.0.0.1:$RUNTIME_PORT"
wait_port "$MOTO"
# The idempotency table, as the SAM template creates it.
.venv/bin/python - "$MOTO" <<'PY'
import sys, boto3
db = boto3.client("dynamodb", endpoint_url="http://" + sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="demo", aws_secret_access_key="demo")
db.create_table(TableName="detection-jira-ledger", BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
db.update_time_to_live(TableName="detection-jira-ledger",
                       TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
PY

# The function as Lambda runs it, pointed at the stand-in. The demo secret jira/demo holds a
# fake token; no AWS account is used.
env AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$RUNTIME_PORT/.rt" \
  AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 \
  AWS_LAMBDA_LOG_FORMAT=JSON \
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
  AWS_ENDPOINT_URL_SECRETS_MANAGER="http://$CLOUD" AWS_ENDPOINT_URL_SQS="http://$CLOUD" \
  AWS_ENDPOINT_URL_DYNAMODB="http://$MOTO" IDEMPOTENCY_TABLE=detection-jira-ledger \
  ALLOWED_JIRA_HOSTS="$CLOUD,$SERVER" \
  ATLASSIAN_API_URL="http://$GATEWAY" ATLASSIAN_AUTH_URL="http://$GATEWAY" \
  target/debug/detection-jira >"$RUN/function.log" 2>&1 &
pids+=($!)

status=0
passed=0
failed=0
# Every sample event, then the first one again: a redelivery, answered from the ledger.
for event in events/*.json events/alert-cloud.json; do
  name=$(basename "$event")
  [ -e "$RUN/$name.out" ] && name="$name (redelivered)"
  if cargo lambda invoke _ -P "$RUNTIME_PORT" --data-file "$event" >"$RUN/$name.out" 2>"$RUN/$name.err"; then
    answer=$(cat "$RUN/$name.out")
  else
    answer=$(printf '{"error": %s}' "$(python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))' <"$RUN/$name.err")")
  fi
  if python3 scripts/demo_check.py "$name" "$answer" "http://$CLOUD" "http://$SERVER" "$RUN/function.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    status=1
  fi
done
# The preflight as `make check-destination` prints it: a table, exit 0 when every check
# passes and 1 when one fails (a destination whose project does not exist).
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["destination"]["project_key"]="NOPE"; json.dump(r, open(sys.argv[2], "w"))' \
  events/check-destination.json "$RUN/check-broken.json"
for case in "events/check-destination.json 0" "$RUN/check-broken.json 1"; do
  set -- $case
  echo "check-destination $(basename "$1") (expect exit $2):"
  set +e
  cargo lambda invoke _ -P "$RUNTIME_PORT" --data-file "$1" 2>"$RUN/check.err" | python3 scripts/check_report.py | sed 's/^/  /'
  code=${PIPESTATUS[1]}
  set -e
  if [ "$code" = "$2" ]; then
    passed=$((passed + 1))
  else
    echo "  expected exit $2, got $code" >&2
    failed=$((failed + 1))
    status=1
  fi
done

if python3 scripts/demo_check.py --totals "http://$CLOUD" "http://$SERVER"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  status=1
fi

echo
echo "Issues as Jira would show them: http://$CLOUD/ (Cloud) and http://$SERVER/ (Server/DC)"
echo "Function log: $RUN/function.log"
if [ "$status" -ne 0 ]; then
  echo "DEMO FAILED: an event did not give the expected result (see above and $RUN)" >&2
elif [ "${DEMO_KEEP:-0}" = 1 ]; then
  echo "Stand-in kept running; Ctrl-C to stop."
  wait "${pids[0]}" || true
fi
echo "demo: $passed passed, $failed failed"
exit "$status"
