#!/usr/bin/env bash
# Builds the cached Debian bookworm root file system the single executable is tested in: Python and
# nothing of Node, as in deploy/airflow/Dockerfile's image. Usage: build-chroot.sh OUTDIR (OUTDIR must not
# exist; the caller builds into a temporary name and renames it into place, so a half build is never
# reused). The root is OUTDIR/root. The cache key is a hash of this file, so any change here rebuilds it.
set -euo pipefail

out=${1:?usage: build-chroot.sh OUTDIR}
mirror=${HEADROOM_CHROOT_MIRROR:-${HEADROOM_VM_MIRROR:-http://deb.debian.org/debian}}

# python3 for the jobs; util-linux-extra because the Airflow image installs it (fincore names the files
# behind page cache), so that the chroot runs what that image would, with nothing else added.
packages=python3,util-linux-extra

mkdir "$out"
root="$out/root"
# Two stages, so that dpkg is told before it configures anything not to fsync every file it unpacks.
debootstrap --foreign --variant=minbase --include="$packages" bookworm "$root" "$mirror"
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/hrexe-unsafe-io"
chroot "$root" /debootstrap/debootstrap --second-stage
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

# The point of the image is that there is no Node in it; a dependency that pulled one in would make the
# executable's test prove nothing.
if found=$(find "$root" \( -name node -o -name nodejs -o -name 'libnode*' \) -print -quit) && [ -n "$found" ]; then
  echo "build-chroot.sh: the rootfs has Node in it: $found" >&2
  exit 1
fi
