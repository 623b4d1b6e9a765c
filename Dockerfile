# syntax=docker/dockerfile:1

# One image for the three hookbridge binaries (receiver, worker, hookbridge
# CLI); docker-compose.yml picks the entrypoint of each service.
#
#   docker build -t hookbridge:local .

FROM golang:1.26 AS build
WORKDIR /src

# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# Static binaries (no cgo) run on distroless/static. The build cache mount
# keeps rebuilds after a source change incremental.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/receiver ./cmd/worker ./cmd/hookbridge

# An empty /data owned by the nonroot user: a named volume mounted there
# starts as a copy of it, so the worker (not root) can write blobs into it.
# Distroless has no shell to mkdir/chown in the final stage.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/receiver /out/worker /out/hookbridge /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532

# 8000: the receiver's webhook endpoint; 9090: its Prometheus metrics;
# 9091: the worker's metrics, /healthz and /readyz.
EXPOSE 8000 9090 9091

ENTRYPOINT ["/usr/local/bin/hookbridge"]
