# golfiq-serverless. `make run` serves every handler on :8000 with ./data; `make test` runs the tests.
# Function targets share their name with the crate, the binary and the SAM resource (runs -> RunsFunction).

SHELL := /bin/bash
DATA ?= $(CURDIR)/data

# A laptop run keeps everything under ./data (the image uses the runbook's /data paths instead).
export RUN_STORE_DIR ?= $(DATA)/runs
export RUNS_UPLOAD_DIR ?= $(DATA)/uploads
export GOLFIQ_ROUNDS_DIR ?= $(DATA)/rounds
export GOLFIQ_BAGS_DIR ?= $(DATA)/bags
export FEATURE_FLAGS_CONFIG_PATH ?= $(DATA)/config/feature_flags.json
export PORT ?= 8000

FUNCTIONS := runs health prune flags

.PHONY: setup run test build lint bench fmt $(FUNCTIONS) help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: ## libonnxruntime.so (PyPI onnxruntime wheel) into .ort/lib, test tools (moto) into .tools (idempotent)
	./scripts/setup-ort.sh
	./scripts/setup-tools.sh

run: setup ## the dispatcher on :$(PORT) with the file store under ./data and the bundled models
	cargo run --release -p local --bin dispatcher

test: setup ## every test of the workspace
	cargo test --workspace

build: ## release build of every binary
	cargo build --release --workspace

lint: ## formatting and clippy, warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench: ## benchmarks (figures go to docs/PERFORMANCE.md)
	cargo bench -p golfiq-tests --bench runs_list

$(FUNCTIONS): ## one function's Lambda binary (native build; cargo-lambda comes with the deployment issue)
	cargo build --release -p $@ --bin $@
