# calico-bgp-exporter: `make run` and `make test` are the two commands of the README.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

RUN_PACKAGES := cmake g++ make pkg-config prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev \
  libspdlog-dev libcli11-dev catch2 zlib1g-dev libmnl-dev nlohmann-json3-dev libssl-dev \
  libcap-dev libcrypt-dev libcurl4-openssl-dev
# The image: Debian's buildah/podman (runc: crun fails on this cgroup layout), mmdebstrap.
IMAGE_PACKAGES := buildah podman mmdebstrap runc
TEST_PACKAGES := $(RUN_PACKAGES) bird iproute2 iptables prometheus prometheus-alertmanager curl \
  libssh-gcrypt-4 libreadline8 python3-yaml util-linux systemd chrony faketime openssl binutils \
  clang-14 libclang-rt-14-dev autoconf flex bison m4 libncurses-dev libreadline-dev \
  $(IMAGE_PACKAGES)

VERSION := $(shell sed -n 's/^project(calico-bgp-exporter VERSION \([^ )]*\).*/\1/p' CMakeLists.txt)
IMAGE ?= localhost/calico-bgp-exporter:$(VERSION)

.PHONY: all build run test unit integration deps test-deps bird2 third-party-birds clean format \
  lint asan asan-build asan-test fuzz fuzz-build test-main image image-deps image-push image-test

all: build

deps:
	@.ci/install-packages $(RUN_PACKAGES)

test-deps:
	@.ci/install-packages $(TEST_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Only the daemon (the tests build in `make test`). It logs what it serves where (msg="serving").
run: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target calico-bgp-exporter
	@echo "make run: calico-bgp-exporter with deploy/config.example.yml on :10179 (Ctrl-C stops it)"
	$(BUILD)/calico-bgp-exporter --config.file=deploy/config.example.yml --web.listen-address=:10179

# BIRD 2 conflicts with BIRD 1.6 as a package: unpack it next to the build instead.
bird2: $(BUILD)/bird2/usr/sbin/bird
$(BUILD)/bird2/usr/sbin/bird:
	@.ci/unpack-bird2 $(BUILD)/bird2

# Calico's BIRD fork and BIRD 3.3.0, built from ../shared/third_party (CBE_THIRD_PARTY_DIR) into
# $(BUILD)/third_party once (a stamp keyed on the tarball's checksum: a no-op when built).
third-party-birds:
	@.ci/build-third-party-birds $(BUILD)/third_party

# Every tier: unit, integration (real BIRD in namespaces, probes, faults, TLS), deploy, e2e
# (Prometheus + Alertmanager); then each fuzzer briefly; then unit and integration again under
# ASan+UBSan. The sanitizer and fuzzer builds run while the tests do, at idle priority
# (SCHED_IDLE: they get only the CPU time the tests leave, never a test's); the tests mostly
# wait on BIRD, the network and timers. Their log: $(ASAN_BUILD).log. They run in a session of
# their own (setsid); the trap stops them at once when the recipe ends early (the main suite
# failed, make was interrupted).
test: test-deps
	$(MAKE) build bird2 third-party-birds
	@set -u; log=$(ASAN_BUILD).log; \
	echo "make test: building the ASan and fuzzer trees at idle priority meanwhile ($$log)"; \
	( exec chrt --idle 0 setsid $(MAKE) --no-print-directory asan-build fuzz-build > $$log 2>&1 ) & \
	builds=$$!; trap 'kill -TERM -- -$$builds 2>/dev/null' INT TERM EXIT; \
	status=0; $(MAKE) test-main || status=$$?; \
	if [ $$status -ne 0 ]; then \
	  echo "make test: the main suite failed; the ASan and fuzzer builds are stopped" >&2; \
	  exit $$status; \
	fi; \
	if ! wait $$builds; then \
	  tail -n 60 $$log; echo "make test: the ASan or fuzzer build failed ($$log)" >&2; exit 1; \
	fi; \
	tail -n 2 $$log
	$(MAKE) fuzz FUZZ_SECONDS=5
	$(MAKE) asan-test

test-main: build bird2 third-party-birds
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j 1

ASAN_BUILD ?= build-asan
asan: asan-build
	$(MAKE) asan-test

# Line tables only (-g1): enough for a sanitizer's stack trace (diagnosis_test.cc, by hand:
# 19.2 s to compile with -g, 15.3 s with -g1).
asan-build:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
	  -DCBE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	test -x $(ASAN_BUILD)/bird2/usr/sbin/bird || .ci/unpack-bird2 $(ASAN_BUILD)/bird2
	.ci/build-third-party-birds $(ASAN_BUILD)/third_party --reuse $(BUILD)/third_party

asan-test:
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --timeout 900 -j 1 -R '^(unit|integration|kube):'

FUZZ_SECONDS ?= 10
fuzz:
	CBE_BUILD_LOCK= tests/fuzz/run-fuzzers.sh $(FUZZ_SECONDS)

fuzz-build:
	CBE_BUILD_LOCK= tests/fuzz/run-fuzzers.sh --build-only

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build bird2 third-party-birds
	cd $(BUILD) && ctest --output-on-failure -L integration

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

lint: build
	clang-tidy -p $(BUILD) $$(git ls-files 'exporter/*.cc' 'probes/*.cc' 'probes/net/*.cc')

clean:
	rm -rf $(BUILD)

# The container image (Dockerfile) with buildah/podman from a local mmdebstrap base, no registry:
# .ci/build-image says how it stays fast. `make image-push IMAGE_REPO=registry/name` builds it,
# tags it IMAGE_REPO:VERSION and pushes it (podman push, with podman login's credentials).
image-deps:
	@.ci/install-packages $(IMAGE_PACKAGES)

image: image-deps
	.ci/build-image $(IMAGE)

# The image test alone (`make test` runs it too, label image): builds the image, runs it as the
# DaemonSet does.
image-test: test-deps
	tests/image/image-test.sh $(IMAGE)

image-push: image
	@test -n "$(IMAGE_REPO)" || \
	  { echo "usage: make image-push IMAGE_REPO=registry.example.com/team/calico-bgp-exporter"; exit 2; }
	podman push $(IMAGE) $(IMAGE_REPO):$(VERSION)
	@echo "pushed $(IMAGE_REPO):$(VERSION); deploy it with a kustomize overlay:" \
	  "images: [{name: localhost/calico-bgp-exporter, newName: $(IMAGE_REPO)}]"

