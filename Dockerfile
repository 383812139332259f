# Firebreak's image: a static binary on a distroless base, running as a
# non-root user. The binary needs no cgo (its SQLite is pure Go), so the
# image holds nothing but it and CA certificates.
#
#   docker build -t firebreak .
#   docker run --rm firebreak serve --temporal-address temporal:7233
#
# (This repository's CI machines have no Docker engine; the chart in
# deploy/helm/firebreak is tested instead, against a real kube-apiserver.)

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/firebreak ./cmd/firebreak

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/firebreak /usr/local/bin/firebreak
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/firebreak"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
