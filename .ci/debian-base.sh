#!/usr/bin/env bash
# A python base image made with debootstrap, for machines that can reach Debian's packages but no image
# registry. Usage: .ci/debian-base.sh [IMAGE]  (default localhost/ske-sandbox-base:bookworm)
# The root file system is cached as a tarball under $SKE_SANDBOX_CACHE (default /var/tmp/ske-sandbox), so
# only the first run pays for debootstrap.
set -euo pipefail
image="${1:-localhost/ske-sandbox-base:bookworm}"
cache="${SKE_SANDBOX_CACHE:-/var/tmp/ske-sandbox}"
tarball="$cache/debian-bookworm-python3-v2.tar"

if podman image exists "$image"; then
  exit 0
fi
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" \
    >"$cache/debootstrap.log" 2>&1 || { tail -5 "$cache/debootstrap.log" >&2; exit 1; }
  # mktemp made the root 0700: as the image's / it would lock every non-root user out
  chmod 755 "$rootfs"
  # no package lists or caches in the image
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
fi
podman import --quiet "$tarball" "$image" >/dev/null
