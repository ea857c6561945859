# calico-bgp-exporter image, two stages:
#   build    compiles the daemon with Debian 12's own packages (the Makefile's RUN_PACKAGES) and
#            CMake, Release, stripped; lists the Debian packages of every shared library the
#            binary and its TLS compatibility libraries link (.ci/image-compile).
#   runtime  Debian 12 with exactly those packages, the binary, the two TLS compatibility
#            libraries civetweb loads by path (docs/tls.md) and the example config. No compiler,
#            no -dev package, no debug symbols.
#
# `make image` builds it with Debian's buildah (or podman) from a Debian 12 base that mmdebstrap
# makes from this machine's apt sources (no registry), tagged localhost/calico-bgp-exporter:VERSION.
# Any other OCI builder with BuildKit-style RUN mounts works too, from Docker Hub's Debian:
#   podman build -t calico-bgp-exporter .        (or: docker build -t calico-bgp-exporter .)
ARG BASE=docker.io/library/debian:12
ARG RUNTIME_BASE=docker.io/library/debian:12-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# The packages first (a layer of its own, cached until the Makefile's list changes).
COPY Makefile /src/Makefile
COPY .ci/install-packages /src/.ci/install-packages
# apt's downloads stay in a cache mount (reused by the next build, never part of a layer).
RUN --mount=type=cache,target=/var/cache/apt/archives,id=calico-bgp-exporter-apt,sharing=locked \
    /src/.ci/install-packages make \
 && make -C /src deps \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY . /src
ARG REVISION=unknown
# The build directory is a cache mount: a rebuild compiles only the files whose content changed.
RUN --mount=type=cache,target=/var/cache/cbe-build,id=calico-bgp-exporter-build \
    /src/.ci/image-compile /src /var/cache/cbe-build /out "${REVISION}"

FROM ${RUNTIME_BASE}
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /usr/local/share/calico-bgp-exporter/runtime-packages
RUN --mount=type=cache,target=/var/cache/apt/archives,id=calico-bgp-exporter-apt,sharing=locked \
    apt-get update -q \
 && xargs apt-get install -y -q --no-install-recommends \
      < /usr/local/share/calico-bgp-exporter/runtime-packages \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old \
      /var/log/*
COPY --from=build /out/usr/local/ /usr/local/
COPY deploy/config.example.yml /etc/calico-bgp-exporter/config.yml
# Root without capabilities (the DaemonSet drops all but NET_RAW): calico-node's BIRD socket
# is root:root 0755, and connecting to it needs its owner.
USER 0
# 10179: the node exporter; 10180: `intent serve` (the Deployment runs it as uid 65534).
EXPOSE 10179 10180
ENTRYPOINT ["/usr/local/bin/calico-bgp-exporter"]
CMD ["--config.file=/etc/calico-bgp-exporter/config.yml", "--web.listen-address=:10179"]
