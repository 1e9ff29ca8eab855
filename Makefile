# sealed-secrets-rs: the two commands are `make demo` (the main job end to end on a local control plane)
# and `make test` (every test). Everything fetched or built for tests lives in a cache outside the repo.
SHELL := /bin/bash
CARGO ?= cargo
CACHE_DIR ?= $(HOME)/.cache/sealed-secrets-rs
export SSRS_CACHE_DIR := $(CACHE_DIR)

.PHONY: all build dist test-dist test test-unit test-backends test-python test-e2e test-node test-gitops test-image test-chart bench bench-library bench-kubeseal bench-controller demo demo-process image cluster-up cluster-down manifests check-manifests fuzz fmt lint audit template-oracle check-structure

all: build

build:
	$(CARGO) build --workspace --release

## ---- tests -------------------------------------------------------------------------------------
# make test = unit tests (both crypto backends) + CLI tests + end-to-end tests on a real control plane + the image and
# manifests as Pods on a real node (with the Helm chart) + the chart rendered and checked against Bitnami's + the
# release artifacts.
test: check-manifests check-structure test-unit test-backends test-python test-e2e test-chart test-node test-gitops test-dist

test-unit:
	$(CARGO) test --workspace --exclude sealed-secrets-e2e

test-backends:
	$(CARGO) test -p sealed-secrets --no-default-features --features rust-crypto
	$(CARGO) test -p sealed-secrets --features rust-crypto

# The independent Python implementation (pyca/cryptography) against the known-answer vectors; the venv is
# created once in $(CACHE_DIR)/venv. (cargo test also runs the Rust<->Python interop through it.)
test-python:
	"$$(scripts/python-test-env.sh)" -m pytest -q -p no:cacheprovider crates/sealed-secrets/tests/python

# End-to-end tests on a private local control plane (etcd + kube-apiserver + kube-controller-manager), always
# torn down afterwards; SSRS_REQUIRE_CLUSTER=1 makes a missing control plane a failure, never a skip.
# Pass a test filter with E2E_FILTER=smoke::rbac. See docs/testing.md.
test-e2e: testbin
	CARGO=$(CARGO) scripts/test-e2e.sh $(E2E_FILTER)

# The image (checked against the Dockerfile) and the shipped manifests as real Pods on a real node (kubelet +
# containerd + runc): tests/e2e/node, one at a time. NODE_FILTER=failover narrows them.
test-node: testbin
	CARGO=$(CARGO) scripts/test-e2e.sh --node $(NODE_FILTER)

# The GitOps workflow with the real agents (tests/e2e/gitops, docs/gitops.md): Argo CD and Flux built once from Go
# modules into $(CACHE_DIR)/gitops (scripts/setup-gitops.sh), run as local processes against a private control plane
# with a real node (Flux installs our image there as Pods), syncing SealedSecrets from a Git repository served on
# 127.0.0.1. GITOPS_FILTER="--skip argocd" runs only the Flux tests.
test-gitops: testbin
	CARGO=$(CARGO) scripts/test-e2e.sh --gitops $(GITOPS_FILTER)

# The image alone: built, checked against the Dockerfile, failure modes of the build.
test-image: testbin
	CARGO=$(CARGO) scripts/test-image.sh

# The Helm chart (charts/sealed-secrets): helm lint --strict, golden renders (UPDATE_GOLDEN=1 rewrites
# tests/chart/golden), the values it must refuse, each render through a server-side dry run and compared with Bitnami's
# chart 2.18.5 on a private control plane (no node), and install/upgrade/uninstall of releases there.
test-chart: testbin
	CARGO=$(CARGO) scripts/test-chart.sh

## ---- control plane -----------------------------------------------------------------------------
.PHONY: testbin
# Builds (once; cached in $(CACHE_DIR)/testbin, nodebin and helm) kube-apiserver, kube-controller-manager, kubectl,
# kubelet, kube-scheduler, etcd, Bitnami's kubeseal + controller, the node's containerd, runc, CNI plugins and
# crane, and Helm, from Go modules; installs missing system tools first.
testbin:
	@scripts/ensure-tools.sh
	@scripts/setup-testbin.sh >/dev/null
	@scripts/setup-nodebin.sh >/dev/null
	@scripts/setup-helm.sh >/dev/null

# A control plane for working by hand; prints the variables to use. Stop it with `make cluster-down`.
# NODE=1 adds a real node (kubelet + containerd): `make cluster-up NODE=1`, then `make image` and
# `scripts/node.sh import DIR target/image/*.oci.tar` to run the controller as Pods.
cluster-up: testbin
	@dir=$$(scripts/cluster.sh up --current $(if $(filter 1,$(NODE)),--node) | tail -n 1) && \
	  echo "control plane up: $$dir" && echo "use it with:" && echo "  eval \"\$$(scripts/cluster.sh env)\"" && \
	  echo "  export KUBECONFIG=$$dir/admin.kubeconfig"

cluster-down:
	@scripts/cluster.sh down

## ---- demo --------------------------------------------------------------------------------------
# The real install path end to end: the image, a control plane with a real node, kubectl apply -k of the shipped
# manifests, Ready Pods, kubeseal through the service proxy, the Secret appears; then everything is torn down.
demo: testbin
	CARGO=$(CARGO) scripts/demo.sh

# The same job with the controller as a local process (no node, no image), for machines that cannot run a kubelet.
demo-process: testbin
	CARGO=$(CARGO) scripts/demo-process.sh

## ---- image -------------------------------------------------------------------------------------
# The controller image as an OCI archive in target/image/ (no Docker daemon, no registry; see scripts/image.sh).
image: testbin
	CARGO=$(CARGO) scripts/image.sh

## ---- release artifacts ---------------------------------------------------------------------------
# target/dist/: kubeseal and controller archives (linux/amd64, static), the image archive, the packaged chart,
# CycloneDX SBOMs, a krew manifest and SHA256SUMS, checked before they replace the old directory (scripts/dist.sh).
dist: testbin
	CARGO=$(CARGO) scripts/dist.sh

# make dist, then the check again and planted faults it must catch (scripts/test-dist.sh).
test-dist: dist
	scripts/test-dist.sh

## ---- fuzzing (cargo fuzz on stable via RUSTC_BOOTSTRAP; not part of make test) --------------------
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## ---- the template engine's oracle: every case of crates/go-template/tests/cases rendered again by Go ---
template-oracle:
	cd crates/go-template/tests/oracle && go run . check ../cases/*.json

## ---- advisories (cargo-audit offline; the database snapshot lives in the cache, see docs/security.md) --
audit:
	scripts/audit.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## ---- benchmarks (not tests) -------------------------------------------------------------------
# One question each; every report is printed and written to target/bench/ (BENCHMARKS.md reads them).
#   bench-library:    the format library's throughput per crypto backend (crates/sealed-secrets/benches/crypto.rs)
#   bench-kubeseal:   our kubeseal next to Bitnami's v0.36, whole processes (crates/bench, kubeseal-vs-bitnami)
#   bench-controller: our controller next to Bitnami's at scale on a private control plane (crates/bench,
#                     controller-at-scale; ~25 minutes, most of it Bitnami's rate-limited runs)
BENCH_OUT := target/bench
TESTBIN_DIR = $$(scripts/setup-testbin.sh --print-dir)

bench: bench-library bench-kubeseal bench-controller

bench-library:
	@mkdir -p $(BENCH_OUT)
	$(CARGO) bench -q -p sealed-secrets --bench crypto | tee $(BENCH_OUT)/library-aws-lc.txt
	$(CARGO) bench -q -p sealed-secrets --bench crypto --no-default-features --features rust-crypto \
	  | tee $(BENCH_OUT)/library-rust-crypto.txt

bench-kubeseal: testbin
	$(CARGO) build -q --release -p kubeseal -p sealed-secrets-bench --bin kubeseal --bin kubeseal-vs-bitnami
	target/release/kubeseal-vs-bitnami --ours target/release/kubeseal --bitnami $(TESTBIN_DIR)/bitnami-kubeseal \
	  --out $(BENCH_OUT) $(BENCH_ARGS)

bench-controller: testbin
	$(CARGO) build -q --release -p sealed-secrets-controller -p sealed-secrets-bench \
	  --bin sealed-secrets-controller --bin controller-at-scale
	SSRS_START_CLUSTER=1 target/release/controller-at-scale --controller target/release/sealed-secrets-controller \
	  --bitnami $(TESTBIN_DIR)/bitnami-controller --out $(BENCH_OUT) $(BENCH_ARGS)

## ---- structure: no module cycle inside any crate; docs whose links, anchors and make targets resolve --
check-structure:
	@python3 scripts/check-module-cycles.py
	@python3 scripts/check-docs.py

## ---- generated manifests ---------------------------------------------------------------------
# controller-manifests/crd.yaml is generated from the Rust type (crates/sealed-secrets/src/types.rs); the Helm chart
# carries the same file in its crds/.
CHART_CRD := charts/sealed-secrets/crds/sealedsecrets.bitnami.com.yaml
manifests:
	$(CARGO) run --quiet -p sealed-secrets-controller --bin crdgen > controller-manifests/crd.yaml.tmp
	mv controller-manifests/crd.yaml.tmp controller-manifests/crd.yaml
	cp controller-manifests/crd.yaml $(CHART_CRD)

# Fails when the committed CRD differs from what the Rust type generates, or the chart's copy from it.
check-manifests:
	@cmp -s controller-manifests/crd.yaml $(CHART_CRD) || { \
	  diff -u controller-manifests/crd.yaml $(CHART_CRD) | head -40; \
	  echo "$(CHART_CRD) differs from controller-manifests/crd.yaml: run make manifests and commit the result" >&2; exit 1; }
	@$(CARGO) run --quiet -p sealed-secrets-controller --bin crdgen > $${TMPDIR:-/tmp}/ssrs-crd.yaml
	@diff -u controller-manifests/crd.yaml $${TMPDIR:-/tmp}/ssrs-crd.yaml >/dev/null 2>&1 || { \
	  diff -u controller-manifests/crd.yaml $${TMPDIR:-/tmp}/ssrs-crd.yaml | head -40; \
	  echo "controller-manifests/crd.yaml is out of date: run make manifests and commit the result" >&2; exit 1; }
	@echo "controller-manifests/crd.yaml and its copy in the chart are up to date"
