# calico-bgp-exporter image: docker build -t ghcr.io/calico-bgp-exporter/calico-bgp-exporter:0.1.0 .
#
# Stage 1 builds with Debian 12's own packages (the Makefile's `make deps` list) and CMake;
# stage 2 is Debian 12 slim with only the shared libraries the binary links, no compiler, no
# -dev packages, no debug symbols.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY Makefile ./
COPY .ci/install-packages .ci/install-packages
RUN apt-get update -q \
 && make deps \
 && apt-get install -y -q --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCBE_BUILD_TESTS=OFF \
 && cmake --build /build --target calico-bgp-exporter -j "$(nproc)" \
 && strip /build/calico-bgp-exporter \
 && /build/calico-bgp-exporter --version

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1 libyaml-cpp0.7 \
      libspdlog1.10 libfmt9 libmnl0 zlib1g libssl3 libcap2 libcrypt1 libcurl4 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/calico-bgp-exporter /usr/local/bin/calico-bgp-exporter
# civetweb's TLS on OpenSSL 3 (docs/tls.md): loaded from ../lib/calico-bgp-exporter by path.
COPY --from=build /build/lib/cbe-ssl/ /usr/local/lib/calico-bgp-exporter/
COPY deploy/config.example.yml /etc/calico-bgp-exporter/config.yml
# Root without capabilities (the DaemonSet drops all but NET_RAW): calico-node's BIRD socket
# is root:root 0755, and connecting to it needs its owner.
USER 0
# 10179: the node exporter; 10180: `intent serve` (the Deployment runs it as uid 65534).
EXPOSE 10179 10180
ENTRYPOINT ["/usr/local/bin/calico-bgp-exporter"]
CMD ["--config.file=/etc/calico-bgp-exporter/config.yml", "--web.listen-address=:10179"]
