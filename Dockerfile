# The controller image (sealed-secrets-controller, kubeseal, and `controller`, upstream's name for the controller),
# for users with Docker:
#   docker build --build-arg VERSION=$(cargo metadata ...) -t sealed-secrets-rs/controller .
# `make image` builds the same image without Docker (scripts/image.sh): it lays out the same root filesystem with
# scripts/image-rootfs.sh and applies the final stage below (USER, EXPOSE, ENTRYPOINT, LABEL), so this file is the
# one source of truth for both; scripts/check-image.py (run by make test) checks that they agree.
# Build stage: static musl binaries (aws-lc-rs builds its C code with the musl toolchain).
FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools cmake clang ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
        -p sealed-secrets-controller --bin sealed-secrets-controller -p kubeseal --bin kubeseal \
    && scripts/image-rootfs.sh /rootfs target/x86_64-unknown-linux-musl/release/sealed-secrets-controller \
        target/x86_64-unknown-linux-musl/release/kubeseal /etc/ssl/certs/ca-certificates.crt

# The image: nothing but the root filesystem above; non-root (uid 1001, as upstream's image).
FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
COPY --from=build /rootfs/ /
USER 1001:1001
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/sealed-secrets-controller"]
LABEL org.opencontainers.image.title="sealed-secrets-controller" \
      org.opencontainers.image.description="Sealed Secrets controller and kubeseal, in Rust; a drop-in for Bitnami Sealed Secrets v0.36" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://example.invalid/sealed-secrets-rs" \
      org.opencontainers.image.licenses="Apache-2.0"
