#!/usr/bin/env bash
# Rootful podman with runc (and podman-compose for the compose recipe), for the container tests on a CI machine without a Docker daemon. Idempotent:
# installs only what is missing and writes the engine configuration only when it differs.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "container engine set-up skipped: needs root" >&2
  exit 0
fi

missing=()
for tool in podman runc debootstrap podman-compose; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap podman-compose; } \
      >/tmp/ske-sandbox-apt.log 2>&1; then
    echo "container engine set-up failed (see /tmp/ske-sandbox-apt.log); the container test will skip" >&2
    exit 0
  fi
fi

write_if_changed() {  # path, content
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" >"$1"
  fi
}

# runc + cgroupfs: no systemd in the machine; no default ulimits: the machine's own limits cannot be raised
write_if_changed /etc/containers/containers.conf '[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'

# vfs: works on any file system, with no overlay support needed from the kernel
write_if_changed /etc/containers/storage.conf '[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"'
