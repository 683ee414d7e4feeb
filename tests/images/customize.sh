#!/usr/bin/env bash
# mmdebstrap hooks for tests/images/build.sh.  customize.sh essential|customize ROOTFS
# Environment (from build.sh): PERFSEC_MODE, PERFSEC_POLICY, PERFSEC_FLAVOUR_DIR, PERFSEC_PUBKEY.
set -euo pipefail
stage=$1
R=$2
case $stage in
essential)
  # Before the kernel is installed: a small initramfs with just what a virtio disk needs.
  mkdir -p "$R/etc/initramfs-tools/conf.d" "$R/usr/share/initramfs-tools/modules.d"
  printf 'MODULES=list\nCOMPRESS=zstd\n' >"$R/etc/initramfs-tools/conf.d/perfsec.conf"
  printf 'virtio_pci\nvirtio_blk\next4\n' >"$R/usr/share/initramfs-tools/modules.d/perfsec"
  ;;
customize)
  echo testbed >"$R/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 testbed\n' >"$R/etc/hosts"
  printf '/dev/vda / ext4 rw,relatime 0 0\n' >"$R/etc/fstab"
  # Network: DHCP from qemu's user-mode network.
  mkdir -p "$R/etc/systemd/network"
  printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$R/etc/systemd/network/10-dhcp.network"
  chroot "$R" systemctl enable systemd-networkd.service >/dev/null 2>&1
  # Quiet test VM: no periodic jobs.
  for t in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
           dpkg-db-backup.timer man-db.timer logrotate.timer systemd-tmpfiles-clean.timer; do
    ln -sf /dev/null "$R/etc/systemd/system/$t"
  done
  # SELinux boot mode and policy, explicit.
  cat >"$R/etc/selinux/config" <<CFG
# written by perfsec tests/images (flavour $(basename "$PERFSEC_FLAVOUR_DIR"))
SELINUX=$PERFSEC_MODE
SELINUXTYPE=$PERFSEC_POLICY
CFG
  # SSH: root and the unprivileged test user by key only.
  install -d -m 700 "$R/root/.ssh"
  install -m 600 "$PERFSEC_PUBKEY" "$R/root/.ssh/authorized_keys"
  chroot "$R" useradd -m -s /bin/bash -c 'perfsec test user' perfuser
  install -d -m 700 "$R/home/perfuser/.ssh"
  install -m 600 "$PERFSEC_PUBKEY" "$R/home/perfuser/.ssh/authorized_keys"
  chroot "$R" chown -R perfuser:perfuser /home/perfuser/.ssh
  mkdir -p "$R/etc/ssh/sshd_config.d"
  printf 'PasswordAuthentication no\nUseDNS no\n' >"$R/etc/ssh/sshd_config.d/perfsec.conf"
  # Serial console root login without password (only reachable through the serial log/socket).
  mkdir -p "$R/etc/systemd/system/serial-getty@ttyS0.service.d"
  # shellcheck disable=SC2016 # $TERM is for systemd to expand
  printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %%I $TERM\n' \
    >"$R/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
  # Flavour hook: extra files copied over the rootfs, then an optional script.
  if [[ -d $PERFSEC_FLAVOUR_DIR/files ]]; then
    cp -a "$PERFSEC_FLAVOUR_DIR/files/." "$R/"
  fi
  if [[ -x $PERFSEC_FLAVOUR_DIR/customize ]]; then
    "$PERFSEC_FLAVOUR_DIR/customize" "$R"
  fi
  ;;
*) echo "customize.sh: unknown stage $stage" >&2; exit 2 ;;
esac
