# provenance: the service and the batch tool in one image.
#   docker build -t provenance .
#   docker run -p 8080:8080 -v /srv/provenance:/data provenance
# The index lives in the /data volume (INDEX = /data/index, keys in
# /data/index/keys.json: `docker run ... provenance keys add --keys
# /data/index/keys.json --role officer --name NAME`). Import into it first
# (`docker run ... provenance import --index /data/index RECORDS.jsonl`; an
# empty file makes an empty index): serve refuses a folder with no index.

# Build: the same features the tests use, HEIC included (Debian's libheif).
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libheif-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --features heic \
 && cp target/release/provenance /provenance

# Run: Debian's runtime libraries only, as a user without privileges.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libheif1 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin provenance \
 && mkdir -p /data && chown provenance /data
COPY --from=build /provenance /usr/local/bin/provenance
USER 10001
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["provenance"]
CMD ["serve", "--index", "/data/index", "--addr", "0.0.0.0:8080", "--log-format", "json"]
