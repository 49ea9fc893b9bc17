#!/usr/bin/env bash
# Builds and runs docker-compose.staging.yml for real with podman + podman-compose from Debian,
# without any container registry: the base image is debootstrapped locally, and the image is built
# from the `prebuilt` target (host-built dispatcher + .ort/lib). Then curls /health and /ready.
# Not part of `make test` (it needs root, minutes, and Debian's mirrors through apt).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v podman >/dev/null && command -v podman-compose >/dev/null && command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose debootstrap curl
}
base=localhost/golfiq-base:bookworm
if ! podman image exists "$base"; then
  root=$(mktemp -d)
  # The default mirror, the one apt on this machine already reaches.
  debootstrap --variant=minbase --include=ca-certificates,curl bookworm "$root"
  tar -C "$root" -c . | podman import - "$base"
  rm -rf "$root"
fi
./scripts/setup-ort.sh
cargo build --release -p local --bin dispatcher
[ -f server/.env.staging ] || {
  cp server/.env.staging.example server/.env.staging
  for s in API_KEY ADMIN_TOKEN LIVE_SIGN_SECRET LIVE_VIEWER_SIGN_KEY; do
    sed -i "s/^$s=$/$s=smoke-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')/" server/.env.staging
  done
  echo "wrote server/.env.staging with throwaway secrets"
}
podman build --target prebuilt --build-arg BASE_IMAGE="$base" -t golfiq-serverless:staging .
export PODMAN_COMPOSE_PROVIDER=podman-compose
podman-compose -f docker-compose.staging.yml up -d --no-build
trap 'podman-compose -f docker-compose.staging.yml down' EXIT
for _ in $(seq 1 60); do curl -fsS http://127.0.0.1:8000/health >/dev/null 2>&1 && break; sleep 1; done
curl -fsS http://127.0.0.1:8000/health; echo
code=$(curl -s -o /tmp/golfiq-ready.json -w '%{http_code}' http://127.0.0.1:8000/ready)
cat /tmp/golfiq-ready.json; echo
echo "ready: $code"
[ "$code" = 200 ]
