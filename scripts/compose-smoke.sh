#!/usr/bin/env bash
# Builds and runs docker-compose.staging.yml for real with podman + podman-compose from Debian,
# without any container registry: the base image is debootstrapped locally, and the image is built
# from the `prebuilt` target (host-built dispatcher + .ort/lib). Then curls /health and /ready.
# Not part of `make test` (it needs root, minutes, and Debian's mirrors through apt).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v podman >/dev/null && command -v podman-compose >/dev/null && command -v debootstrap >/dev/null \
  && command -v runc >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman podman-compose debootstrap runc curl
}
# This sandbox's cgroups are in hybrid mode, which crun refuses, and it forbids
# setrlimit(RLIMIT_NPROC), which podman always requests for root containers. So containers run
# under runc with the cgroupfs manager, through a shim that drops the rlimits from the OCI config.
shim_dir=$(mktemp -d)
cat > "$shim_dir/runc-norlimits" <<'SHIM'
#!/bin/sh
bundle=""; prev=""
for a in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then bundle="$a"; fi
  prev="$a"
done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c.get("process",{}).pop("rlimits",None); json.dump(c,open(p,"w"))' "$bundle/config.json"
fi
exec runc "$@"
SHIM
chmod +x "$shim_dir/runc-norlimits"
conf="$shim_dir/containers.conf"
printf '[engine]\nruntime = "runc-norlimits"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n[engine.runtimes]\nrunc-norlimits = ["%s"]\n' \
  "$shim_dir/runc-norlimits" > "$conf"
export CONTAINERS_CONF="$conf"
base=localhost/golfiq-base:bookworm
if ! podman image exists "$base"; then
  root=$(mktemp -d)
  # The default mirror, the one apt on this machine already reaches.
  debootstrap --variant=minbase --include=ca-certificates,curl bookworm "$root"
  tar -C "$root" -c . | podman import - "$base"
  rm -rf "$root"
fi
./scripts/setup-ort.sh
cargo build --release -p local --bin dispatcher -p admin --bin golfiq-admin
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
