# calico-bgp-exporter: `make run` and `make test` are the two commands of the README.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

RUN_PACKAGES := cmake g++ make pkg-config prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev \
  libspdlog-dev libcli11-dev catch2 zlib1g-dev libmnl-dev nlohmann-json3-dev libssl-dev \
  libcap-dev libcrypt-dev
TEST_PACKAGES := $(RUN_PACKAGES) bird iproute2 iptables prometheus prometheus-alertmanager curl \
  libssh-gcrypt-4 libreadline8 python3-yaml util-linux systemd chrony faketime openssl binutils

.PHONY: all build run test unit integration deps test-deps bird2 clean format lint

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

test: test-deps build bird2
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j 1

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
