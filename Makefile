# calico-bgp-exporter: `make run` and `make test` are the two commands of the README.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

RUN_PACKAGES := cmake g++ make pkg-config prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev \
  libspdlog-dev libcli11-dev catch2 zlib1g-dev libmnl-dev nlohmann-json3-dev libssl-dev \
  libcap-dev libcrypt-dev libcurl4-openssl-dev
TEST_PACKAGES := $(RUN_PACKAGES) bird iproute2 iptables prometheus prometheus-alertmanager curl \
  libssh-gcrypt-4 libreadline8 python3-yaml util-linux systemd chrony faketime openssl binutils \
  clang-14 libclang-rt-14-dev

.PHONY: all build run test unit integration deps test-deps bird2 clean format lint asan fuzz \
  test-main

all: build

deps:
	@.ci/install-packages $(RUN_PACKAGES)

test-deps:
	@.ci/install-packages $(TEST_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	$(BUILD)/calico-bgp-exporter --config.file=deploy/config.example.yml --web.listen-address=:10179

# BIRD 2 conflicts with BIRD 1.6 as a package: unpack it next to the build instead.
bird2: $(BUILD)/bird2/usr/sbin/bird
$(BUILD)/bird2/usr/sbin/bird:
	@.ci/unpack-bird2 $(BUILD)/bird2

# Every tier: unit, integration (real BIRD in namespaces, probes, faults, TLS), deploy, e2e
# (Prometheus + Alertmanager); then each fuzzer briefly; then unit and integration again under
# ASan+UBSan.
test: test-deps
	$(MAKE) test-main
	$(MAKE) fuzz FUZZ_SECONDS=5
	$(MAKE) asan

test-main: build bird2
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j 1

ASAN_BUILD ?= build-asan
asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCBE_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	test -x $(ASAN_BUILD)/bird2/usr/sbin/bird || .ci/unpack-bird2 $(ASAN_BUILD)/bird2
	cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --timeout 900 -j 1 -R '^(unit|integration|kube):'

FUZZ_SECONDS ?= 10
fuzz:
	CBE_BUILD_LOCK= tests/fuzz/run-fuzzers.sh $(FUZZ_SECONDS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build bird2
	cd $(BUILD) && ctest --output-on-failure -L integration

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

lint: build
	clang-tidy -p $(BUILD) $$(git ls-files 'exporter/*.cc' 'probes/*.cc' 'probes/net/*.cc')

clean:
	rm -rf $(BUILD)
