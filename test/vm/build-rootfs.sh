#!/usr/bin/env bash
# Builds the cached Debian bookworm root file system of the cgroup v2 test VM, as an ext4 image plus the
# kernel and initrd from its /boot. Usage: build-rootfs.sh OUTDIR (OUTDIR must not exist; the caller
# builds into a temporary name and renames it into place, so a half build is never reused).
# The cache key is a hash of this file and of the files in rootfs/, so any change here rebuilds it.
# Everything project-specific (node, the built project, the cases, the runner) comes on a second disk
# per run, so a change to them does not cost a debootstrap.
set -euo pipefail

out=${1:?usage: build-rootfs.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${HEADROOM_VM_MIRROR:-http://deb.debian.org/debian}

# What a minimal systemd boot needs (udev for /dev/vdb, dbus for systemd-run's bus), what the cases run
# (python3 jobs, tmux for the live view, ps, unshare/nsenter, fincore from util-linux-extra).
packages=linux-image-amd64,systemd,systemd-sysv,udev,dbus,kmod,python3,tmux,procps,util-linux,util-linux-extra,e2fsprogs

mkdir "$out"
root="$out/root"
# Two stages, so that dpkg and initramfs-tools can be told, before anything is configured, not to fsync
# every file and to put only the modules this VM boots with in the initrd: together that halves the
# build, which CI pays on every fresh machine.
debootstrap --foreign --variant=minbase --include="$packages" bookworm "$root" "$mirror"
mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/initramfs-tools/conf.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/hrvm-unsafe-io"
mkdir -p "$root/usr/share/initramfs-tools/modules.d"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/hrvm"
# Not /etc/initramfs-tools/modules: that is a conffile, and dpkg would stop to ask about it.
printf '%s\n' virtio_pci virtio_blk ext4 >"$root/usr/share/initramfs-tools/modules.d/hrvm"
chroot "$root" /debootstrap/debootstrap --second-stage

echo hrvm >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
# No root password: nobody logs in, and the console getty would only add noise to the serial log.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$root/etc/systemd/system/getty@tty1.service"
# Timers that would wake apt, man-db or e2scrub in the middle of a measured case.
for unit in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer \
  systemd-tmpfiles-clean.timer dpkg-db-backup.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
install -m 0644 "$here/rootfs/hrvm.service" "$root/etc/systemd/system/hrvm.service"
install -m 0755 "$here/rootfs/hrvm-boot" "$root/usr/local/sbin/hrvm-boot"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants" "$root/opt/hrvm"
ln -sf ../hrvm.service "$root/etc/systemd/system/multi-user.target.wants/hrvm.service"
ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"

# Room for the cases' files (the page-cache case writes hundreds of MiB); the VM opens it copy-on-write.
used_mib=$(du -sm "$root" | cut -f1)
mkfs.ext4 -q -F -L hrvm-root -d "$root" "$out/rootfs.ext4" "$((used_mib + 3072))M"
rm -rf "$root"
