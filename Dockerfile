# Multi-stage build: a static binary on a distroless base that carries the
# CA certificates (needed to verify MX and MTA-STS certificates) and runs as
# a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=main \
        -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/deliverability_exporter ./cmd/deliverability_exporter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/deliverability_exporter /bin/deliverability_exporter
COPY config.example.yml /etc/deliverability_exporter/config.yml
USER nonroot:nonroot
EXPOSE 10075
ENTRYPOINT ["/bin/deliverability_exporter"]
CMD ["--config.file=/etc/deliverability_exporter/config.yml"]
