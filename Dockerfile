# llm-tower in a container: a multi-stage build (the release build of the README) and a
# small Debian runtime that runs the proxy as a non-root user.
#
#   docker build -t llm-tower .
#   docker run --rm -p 4000:4000 -e LITELLM_MASTER_KEY=sk-1234 \
#     -v "$PWD/config.yaml:/config.yaml:ro" llm-tower --config /config.yaml --demo

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin llm-tower

FROM debian:bookworm-slim
# ca-certificates: nothing (rustls carries its roots) but tools an operator runs; curl: the
# health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin llm-tower
COPY --from=build /src/target/release/llm-tower /usr/local/bin/llm-tower
USER 10001
ENV LLM_TOWER_HOST=0.0.0.0 \
    LLM_TOWER_PORT=4000 \
    LLM_TOWER_LOG_FORMAT=json
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:4000/health/liveliness || exit 1
ENTRYPOINT ["llm-tower"]
CMD ["--config", "/config.yaml"]
