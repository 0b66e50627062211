# deltaport worker image: Debian 12, two stages.
#   docker build -t deltaport:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# The build stage compiles with the hardening flags and runs the unit tests;
# the runtime stage holds the binary, the Avro schemas and the example
# configuration, runs as uid/gid 10001 (the chart's runAsUser) and writes
# only to /tmp. tests/helm/check_dockerfile.sh keeps the package lists in step
# with scripts/setup.sh.

ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      librdkafka-dev libavro-dev libcurl4-openssl-dev libjansson-dev libssl-dev \
      libmicrohttpd-dev libsqlite3-dev libcunit1-dev libdeflate-dev libsnappy-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CFLAGS="-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE" \
    LDFLAGS="-pie -Wl,-z,relro,-z,now"
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local \
      -DDP_WERROR=ON \
 && cmake --build /build -j"$(nproc)" \
 && (cd /build && ctest -L unit --output-on-failure) \
 && cmake --install /build \
 && strip /usr/local/bin/deltaport

FROM ${DEBIAN_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="deltaport" \
      org.opencontainers.image.description="Kafka to Databricks loader: validate, route, COPY INTO, commit after load" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.documentation="docs/OPERATIONS.md" \
      org.opencontainers.image.base.name="debian:12-slim"
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libavro23 libcurl4 libjansson4 libssl3 libmicrohttpd12 libdeflate0 libsnappy1v5 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin deltaport
COPY --from=build /usr/local/bin/deltaport /usr/local/bin/deltaport
COPY --from=build /usr/local/share/deltaport/schemas /usr/local/share/deltaport/schemas
COPY config/production.example.json /etc/deltaport/config.json
COPY config/production.example.json /usr/local/share/deltaport/production.example.json
RUN ! ldd /usr/local/bin/deltaport | grep "not found"
USER 10001:10001
WORKDIR /tmp
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/deltaport"]
CMD ["run", "--config", "/etc/deltaport/config.json"]
