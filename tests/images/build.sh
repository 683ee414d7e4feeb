#!/usr/bin/env bash
# Build (or reuse) a Debian 12 SELinux test VM image from Debian's packages.
#
#   tests/images/build.sh [--flavour NAME] [--mode permissive|enforcing]
#
# Prints the image directory on the last line of stdout. The directory name carries a
# content hash of the recipe (this script, label.py, the flavour directory, the mode), so a
# second run with an unchanged recipe returns in well under a second. Downloaded .debs are
# kept in $PERFSEC_IMAGE_CACHE/debs, so a rebuild after a recipe change downloads nothing.
#
# Image directory contents: rootfs.img (raw ext4, labelled), vmlinuz, initrd.img,
# id_ed25519{,.pub} (SSH key generated per build), recipe.txt, build.log, COMPLETE.
set -euo pipefail
export LC_ALL=C.UTF-8
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${PERFSEC_IMAGE_CACHE:-$ROOT/.cache/images}
FLAVOUR=${PERFSEC_IMAGE_FLAVOUR:-debian-default}
MODE=${PERFSEC_IMAGE_MODE:-permissive}
MIRROR=${PERFSEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECMIRROR=${PERFSEC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SIZE=${PERFSEC_IMAGE_SIZE:-4G}

while (($#)); do
  case $1 in
    --flavour) FLAVOUR=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $MODE in permissive|enforcing) ;; *) echo "build.sh: --mode must be permissive or enforcing" >&2; exit 2 ;; esac
FDIR=$HERE/flavours/$FLAVOUR
[[ -d $FDIR ]] || { echo "build.sh: no flavour directory $FDIR" >&2; exit 2; }

# Base package set (every flavour). A flavour adds packages in flavours/NAME/packages.
PACKAGES=(
  linux-image-amd64 initramfs-tools zstd systemd systemd-sysv udev dbus libpam-systemd
  openssh-server python3 sudo iproute2 procps kmod attr less
  selinux-basics selinux-policy-default policycoreutils policycoreutils-python-utils
  semodule-utils checkpolicy setools auditd python3-selinux python3-semanage
  linux-perf rpm libcap2-bin
)
if [[ -f $FDIR/packages ]]; then
  mapfile -t extra < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$FDIR/packages")
  PACKAGES+=("${extra[@]}")
fi
POLICY=default
[[ -f $FDIR/policy ]] && POLICY=$(tr -d '[:space:]' <"$FDIR/policy")

recipe() {
  echo "flavour=$FLAVOUR mode=$MODE policy=$POLICY size=$SIZE mirror=$MIRROR"
  echo "packages=${PACKAGES[*]}"
  sha256sum "$HERE/build.sh" "$HERE/customize.sh" "$HERE/label.py" | sed "s|$HERE/||"
  (cd "$FDIR" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
  # A flavour that installs inputs from elsewhere (built packages) prints their digests.
  if [[ -x $FDIR/inputs ]]; then "$FDIR/inputs"; fi
}
# computed once: a flavour's inputs hook may build what it hashes
RECIPE=$(recipe)
HASH=$(printf '%s\n' "$RECIPE" | sha256sum | cut -c1-12)
OUT=$CACHE/$FLAVOUR-$MODE-$HASH
if [[ -f $OUT/COMPLETE ]]; then
  echo "$OUT"
  exit 0
fi

mkdir -p "$CACHE/debs"
exec 9>"$CACHE/.build.lock"
echo "build.sh: waiting for the image build lock" >&2
flock 9
if [[ -f $OUT/COMPLETE ]]; then echo "$OUT"; exit 0; fi

TMP=$OUT.tmp
rm -rf "$TMP"
mkdir -p "$TMP"
LOG=$TMP/build.log
start=$(date +%s)
printf '%s\n' "$RECIPE" >"$TMP/recipe.txt"
echo "build.sh: building $OUT (log: $LOG)" >&2
ssh-keygen -q -t ed25519 -N '' -C "perfsec-testbed-$HASH" -f "$TMP/id_ed25519"

export PERFSEC_MODE=$MODE PERFSEC_POLICY=$POLICY PERFSEC_FLAVOUR_DIR=$FDIR
export PERFSEC_PUBKEY=$TMP/id_ed25519.pub
IFS=,
pkgs="${PACKAGES[*]}"
unset IFS
{
  # shellcheck disable=SC2016 # the hooks' "$1" is for mmdebstrap's hook shell, not this one
  mmdebstrap --mode=root --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$pkgs" \
    --skip=download/empty --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
    --essential-hook="$HERE/customize.sh essential \"\$1\"" \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
    --customize-hook="$HERE/customize.sh customize \"\$1\"" \
    bookworm "$TMP/rootfs" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECMIRROR bookworm-security main"
  rm -f "$TMP"/rootfs/var/cache/apt/archives/*.deb
  # Label every file through libselinux's selabel API inside the chroot (setfiles refuses
  # while the build host runs with SELinux off); mkfs.ext4 -d copies the xattrs.
  cp "$HERE/label.py" "$TMP/rootfs/tmp/label.py"
  chroot "$TMP/rootfs" /usr/bin/python3 /tmp/label.py /
  rm -f "$TMP/rootfs/tmp/label.py"
  kver=$(find "$TMP/rootfs/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
  cp "$TMP/rootfs/boot/vmlinuz-$kver" "$TMP/vmlinuz"
  cp "$TMP/rootfs/boot/initrd.img-$kver" "$TMP/initrd.img"
  echo "kernel=$kver" >>"$TMP/recipe.txt"
  truncate -s "$SIZE" "$TMP/rootfs.img"
  mkfs.ext4 -q -L root -d "$TMP/rootfs" "$TMP/rootfs.img"
  rm -rf "$TMP/rootfs"
} >>"$LOG" 2>&1 || { echo "build.sh: FAILED, see $LOG" >&2; tail -n 30 "$LOG" >&2; exit 1; }
echo "build_seconds=$(($(date +%s) - start))" >>"$TMP/recipe.txt"
touch "$TMP/COMPLETE"
rm -rf "$OUT"
mv "$TMP" "$OUT"
echo "build.sh: built in $(($(date +%s) - start)) s" >&2
echo "$OUT"
