# healthmonitor image: Swift build stage with the -dev packages, then a slim Debian runtime with
# only the runtime libraries. Usage as the original:
#   docker build -t healthmonitor .
#   docker run -v $(pwd)/config.yml:/src/config.yml healthmonitor
# CONFIG / CONFIG_FILE / CHECKS / CHECKS_FILE / NOTIFIERS / NOTIFIERS_FILE work as on the host.
# ICMP (ping checks) needs CAP_NET_RAW (kept by Docker's default capability set; with
# `--cap-drop ALL` add `--cap-add NET_RAW`) or an unprivileged ICMP range
# (`--sysctl net.ipv4.ping_group_range="0 2147483647"`).

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        pkg-config libcurl4-openssl-dev libssl-dev librabbitmq-dev libmongoc-dev libbson-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Dependencies first, so source edits do not invalidate the resolved packages layer.
COPY Package.swift ./
RUN swift package resolve
# Every target directory the manifest names must exist, tests and benchmarks included.
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
# The Swift runtime and Foundation are linked in statically: the runtime image needs no Swift.
RUN swift build -c release --product healthmonitor --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/healthmonitor" /out/healthmonitor

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        librabbitmq4 libmongoc-1.0-0 libbson-1.0-0 libcurl4 libssl3 libsqlite3-0 ca-certificates tzdata libcap2-bin \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 healthmonitor \
    && useradd --system --uid 10001 --gid healthmonitor --home-dir /src --no-create-home \
        --shell /usr/sbin/nologin healthmonitor \
    && mkdir -p /src/state \
    && chown healthmonitor:healthmonitor /src/state
COPY --from=build /out/healthmonitor /usr/local/bin/healthmonitor
# File capability: the non-root process may open raw ICMP sockets, nothing else. setcap runs
# here (not in the build stage) because COPY does not keep extended attributes everywhere.
RUN setcap cap_net_raw+ep /usr/local/bin/healthmonitor \
    && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# libmongoc keeps counters in /dev/shm/mongoc-PID, never removed when the process is killed;
# in memory instead.
ENV MONGOC_DISABLE_SHM=1
USER healthmonitor:healthmonitor
VOLUME ["/src/state"]
# The running monitor writes state/heartbeat.json every 10 s; `health` fails when it is stale.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["healthmonitor", "health", "--log-level", "error"]
# The HTTP face (settings.http.listen; config.compose.yml listens on :9464).
EXPOSE 9464
ENTRYPOINT ["healthmonitor"]
CMD ["run"]
