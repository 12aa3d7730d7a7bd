# syntax=docker/dockerfile:1
# cmfd in a container: the single binary on a minimal glibc image, as a non-root user,
# configured by CMFD_* environment variables only, its data in the /data volume.
#
#   docker build -t cmfd .
#   docker run -d --name cmfd -p 8080:8080 -v cmfd-data:/data cmfd
#   docker logs cmfd     # the first start prints the admin API key (or set CMFD_BOOTSTRAP_API_KEY)
#
# A bind mount for /data must be writable by uid 65532. The binary writes its native addons to
# BUN_TMPDIR (/tmp) at every start: with --read-only, mount one that allows exec
# (--tmpfs /tmp:exec; Docker's tmpfs default is noexec).

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts are needed (see .ci/run); Bun's postinstall only links its runtime into place.
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && (cd node_modules/bun && node install.js)
COPY tsconfig.json ./
COPY scripts/build.ts scripts/
COPY src/ src/
RUN node_modules/.bin/bun scripts/build.ts \
 && dist/cmfd --version --verbose \
 && mkdir -p /out/data

# glibc, libstdc++ and libgcc (needed by the lmdb addon), a nonroot user (65532), /tmp; no shell.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/cmfd /usr/local/bin/cmfd
COPY --from=build --chown=65532:65532 /out/data /data
ENV CMFD_DATA_DIR=/data \
    CMFD_HOST=0.0.0.0 \
    CMFD_PORT=8080 \
    BUN_TMPDIR=/tmp
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/cmfd", "healthcheck"]
# Exec form: cmfd is PID 1 and gets `docker stop`'s SIGTERM; it finishes requests, closes the store, exits 0.
ENTRYPOINT ["/usr/local/bin/cmfd"]
CMD ["serve"]
