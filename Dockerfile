# wxlogin's container image: a static binary on a distroless base, run as
# a non-root user, with its data in one volume so the root filesystem can
# be read-only:
#
#   docker build -t wxlogin .
#   docker run --read-only -v wxlogin-data:/var/lib/wxlogin -p 8080:8080 \
#     -e WXLOGIN_APPS=wx1111111111111111 \
#     -e WXLOGIN_APP_SECRET_WX1111111111111111_FILE=/run/secrets/wx-secret \
#     -e WXLOGIN_MASTER_KEY_FILE=/run/secrets/wxlogin-master-key \
#     -v /srv/wxlogin/secrets:/run/secrets:ro wxlogin
#
# The tests check what this file relies on (a static build, serving as a
# non-root user with only the data folder writable): no Docker daemon runs
# where they run.

FROM golang:1.27.3-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: the SQLite driver is pure Go, so the binary needs no libc
# and runs on a base image with none.
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/wxlogin ./cmd/wxlogin \
 && mkdir -p /out/data

# distroless/static: CA certificates (WeChat's API is HTTPS), tzdata and an
# /etc/passwd with the nonroot user (65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wxlogin /usr/local/bin/wxlogin
# The volume's mount point owned by the user, so a new named volume is
# writable by it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/wxlogin
USER 65532:65532
ENV WXLOGIN_ADDR=0.0.0.0:8080 \
    WXLOGIN_STORE=sqlite:///var/lib/wxlogin/wxlogin.db \
    WXLOGIN_LOG_FORMAT=json
VOLUME ["/var/lib/wxlogin"]
EXPOSE 8080
# No shell in the image: the binary checks itself (GET /readyz on loopback).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/wxlogin", "health", "--timeout", "3s"]
ENTRYPOINT ["/usr/local/bin/wxlogin"]
CMD ["serve"]
