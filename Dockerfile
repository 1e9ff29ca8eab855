# Minimal static image of sealed-secrets-controller (and kubeseal).
#   docker build -t sealed-secrets-rs/controller .
# Build: a static musl binary (aws-lc-rs builds its C code with the musl toolchain); run: distroless static,
# non-root (uid 1001, as upstream's image), nothing but the binaries and CA certificates.
FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools cmake clang \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
        -p sealed-secrets-controller --bin sealed-secrets-controller \
    && cargo build --release --locked --target x86_64-unknown-linux-musl -p kubeseal --bin kubeseal

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/sealed-secrets-controller /usr/local/bin/sealed-secrets-controller
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/kubeseal /usr/local/bin/kubeseal
# Upstream's manifests and charts run `controller`; keep that name working too.
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/sealed-secrets-controller /usr/local/bin/controller
USER 1001:1001
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/sealed-secrets-controller"]
