"""Label a root file system with security.selinux xattrs through libselinux's selabel API.

Run inside the image chroot (python3-selinux installed there): `python3 label.py /`.
setfiles/restorecon refuse while the build host's kernel has SELinux off, but root may
still write the xattr; the contexts come from the chroot's own policy file_contexts.
"""
import os
import stat
import sys

import selinux

SKIP = ("/proc", "/sys", "/dev/pts")


def main(top):
    handle = selinux.selabel_open(selinux.SELABEL_CTX_FILE, None, 0)
    done = missing = 0
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in SKIP]
        # os.walk lists symlinks to directories (usrmerge's /lib, /bin, ...) in dirnames
        # without descending: label them here, real directories when walked into.
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for path in [dirpath] + [os.path.join(dirpath, f) for f in filenames + links]:
            mode = os.lstat(path).st_mode
            try:
                ctx = selinux.selabel_lookup_raw(handle, path, stat.S_IFMT(mode))
            except OSError:
                missing += 1
                continue
            if isinstance(ctx, (list, tuple)):
                ctx = ctx[-1]
            os.setxattr(path, "security.selinux", ctx.encode() + b"\0", follow_symlinks=False)
            done += 1
    print("label.py: labelled %d files, %d without a context" % (done, missing))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/")
