#!/usr/bin/env python3
"""Launcher for the perfsec SELinux test VMs (qemu, TCG by default).

  vm.py image    [--flavour F] [--mode M]                  build or reuse the image, print its dir
  vm.py snapshot [--flavour F] [--mode M] [--memory MiB] [--cpus N]
                                                         build or reuse the booted-guest snapshot
  vm.py start  --state-dir DIR [--name N] [--flavour F] [--mode M] [--memory MiB] [--cpus N]
               [--cold]                                  start one instance, print JSON
  vm.py stop   --state-dir DIR                           kill the instance, remove DIR
  vm.py ssh    --state-dir DIR [-- CMD...]               ssh into an instance as root
  vm.py accel                                            print the accelerator in use (probe)

Every instance lives in its own state dir: disk.qcow2 (copy of the snapshot overlay, or a
fresh overlay on the read-only base image with --cold), serial.log, qemu.pid,
instance.json; its monitor socket is /tmp/perfsec-vm-UID/<hash of DIR>.sock (short, see
monitor_sock). SSH is forwarded from 127.0.0.1:PORT (a free port picked per instance).
Environment: PERFSEC_IMAGE_CACHE (default .cache/images), PERFSEC_VM_ACCEL=tcg|kvm|auto
(default auto: KVM only when a probe boot on this machine proved it works, else TCG).
"""
import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("PERFSEC_IMAGE_CACHE", os.path.join(ROOT, ".cache", "images"))
SNAPSHOT = "booted"
SNAPSHOT_FORMAT = "3"  # bump when the qemu command line changes (snapshots become invalid)
CMDLINE = "console=ttyS0 root=/dev/vda rw selinux=1 security=selinux mitigations=off"
SSH_OPTS = [
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
]
ACCELS = {
    "tcg": ["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "qemu64"],
    "kvm": ["-accel", "kvm", "-cpu", "host"],
}


def log(msg):
    print("vm.py: %s" % msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def locked(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def image(flavour, mode):
    out = subprocess.run(
        [os.path.join(HERE, "build.sh"), "--flavour", flavour, "--mode", mode],
        check=True, stdout=subprocess.PIPE, text=True,
    ).stdout.strip().splitlines()
    return out[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def monitor_sock(state):
    """The instance's HMP socket. AF_UNIX paths are limited to 107 bytes, and a checkout
    under a deep directory (CI clones into /check/work/...) pushes STATE/monitor.sock past
    that, so the socket lives in a short per-user directory, named by a hash of STATE."""
    run = os.path.join("/tmp", "perfsec-vm-%d" % os.getuid())
    os.makedirs(run, mode=0o700, exist_ok=True)
    digest = hashlib.sha1(os.path.abspath(state).encode()).hexdigest()[:20]
    return os.path.join(run, digest + ".sock")


def qemu_argv(img, disk, accel, memory, cpus, port, state, name):
    return [
        "qemu-system-x86_64", "-name", "perfsec-%s" % name,
        "-machine", "q35", *ACCELS[accel], "-smp", str(cpus), "-m", str(memory),
        "-nodefaults", "-display", "none", "-rtc", "base=utc",
        "-kernel", os.path.join(img, "vmlinuz"), "-initrd", os.path.join(img, "initrd.img"),
        "-append", CMDLINE,
        "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe" % disk,
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22" % port,
        "-device", "virtio-net-pci,netdev=n0",
        "-device", "virtio-rng-pci",
        "-serial", "file:%s" % os.path.join(state, "serial.log"),
        "-monitor", "unix:%s,server=on,wait=off" % monitor_sock(state),
        "-pidfile", os.path.join(state, "qemu.pid"), "-daemonize",
    ]


def ssh_argv(img, port, user="root"):
    return ["ssh", *SSH_OPTS, "-i", os.path.join(img, "id_ed25519"), "-p", str(port),
            "%s@127.0.0.1" % user]


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def read_pid(state):
    try:
        with open(os.path.join(state, "qemu.pid")) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def our_qemu(pid, state):
    """True when PID is a qemu we started for STATE (never kill anything else)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return b"qemu-system" in argv[0] and any(state.encode() in a for a in argv)


def wait_ssh(img, port, pid, timeout, user="root"):
    start = time.time()
    while time.time() - start < timeout:
        if pid and not alive(pid):
            raise RuntimeError("qemu (pid %d) exited while waiting for SSH" % pid)
        r = subprocess.run(ssh_argv(img, port, user) + ["true"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if r.returncode == 0:
            return time.time() - start
        time.sleep(1)
    raise RuntimeError("no SSH on 127.0.0.1:%d after %d s" % (port, timeout))


def monitor(state, command, timeout=600):
    """Send one HMP command to the instance monitor, return its output."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(monitor_sock(state))
        buf = b""
        while not buf.endswith(b"(qemu) "):
            buf += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode(errors="replace")


def launch(img, disk, accel, memory, cpus, state, name, loadvm=None):
    """Start qemu daemonized on a free port; retry when the port got taken meanwhile."""
    for _ in range(5):
        port = free_port()
        argv = qemu_argv(img, disk, accel, memory, cpus, port, state, name)
        if loadvm:
            argv += ["-loadvm", loadvm]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           check=False)
        if r.returncode == 0:
            with open(os.path.join(state, "qemu.cmd"), "w") as fh:
                fh.write(" ".join(argv) + "\n")
            return port, read_pid(state)
        if "hostfwd" not in r.stdout and "forwarding" not in r.stdout:
            raise RuntimeError("qemu failed: %s" % r.stdout.strip())
    raise RuntimeError("could not find a free port for hostfwd")


def kill(state):
    pid = read_pid(state)
    if pid and our_qemu(pid, state):
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.unlink(monitor_sock(state))


def accel_probe():
    """auto: KVM only when a probe boot proves it works on this machine (cached)."""
    want = os.environ.get("PERFSEC_VM_ACCEL", "auto")
    if want in ACCELS:
        return want
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    qver = subprocess.run(["qemu-system-x86_64", "--version"], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.splitlines()[0]
    key = "%s|%s" % (os.uname().release, qver)
    cache = os.path.join(CACHE, "accel-probe.json")
    with locked(cache + ".lock"):
        with contextlib.suppress(OSError, ValueError):
            with open(cache) as fh:
                data = json.load(fh)
            if data.get("key") == key:
                return data["accel"]
        img = image("debian-default", "permissive")
        state = os.path.join(CACHE, "probe-kvm")
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        disk = os.path.join(state, "disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        os.path.join(img, "rootfs.img"), disk], check=True)
        result, why = "tcg", ""
        try:
            port, pid = launch(img, disk, "kvm", 1024, 2, state, "probe-kvm")
            # A working KVM prints the kernel banner within a second or two; PVM-only KVM
            # (these machines) either aborts or stays silent for minutes.
            time.sleep(15)
            if not os.path.getsize(os.path.join(state, "serial.log")):
                raise RuntimeError("no kernel output on the serial console after 15 s")
            secs = wait_ssh(img, port, pid, 60)
            result, why = "kvm", "KVM boot reached SSH in %.0f s" % secs
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            why = "KVM probe failed (%s)" % str(exc).splitlines()[0][:200]
        finally:
            kill(state)
            shutil.rmtree(state, ignore_errors=True)
        log("accelerator: %s: %s" % (result, why))
        with open(cache, "w") as fh:
            json.dump({"key": key, "accel": result, "why": why}, fh)
        return result


def snapshot(flavour, mode, memory, cpus):
    """Booted-guest snapshot: a qcow2 overlay on the base image holding a savevm state."""
    img = image(flavour, mode)
    accel = accel_probe()
    snap = os.path.join(img, "snap-v%s-%s-m%d-c%d.qcow2" % (SNAPSHOT_FORMAT, accel, memory, cpus))
    if os.path.exists(snap):
        return img, accel, snap
    with locked(snap + ".lock"):
        if os.path.exists(snap):
            return img, accel, snap
        state = snap + ".d"
        shutil.rmtree(state, ignore_errors=True)
        os.makedirs(state)
        disk = os.path.join(state, "disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        os.path.join(img, "rootfs.img"), disk], check=True)
        log("building snapshot %s (cold boot, serial log %s/serial.log)" % (snap, state))
        try:
            port, pid = launch(img, disk, accel, memory, cpus, state, "snapshot")
            secs = wait_ssh(img, port, pid, 600)
            log("cold boot to SSH: %.1f s" % secs)
            # Let the boot settle, then drop caches so the saved RAM state stays small.
            subprocess.run(ssh_argv(img, port) + [
                "systemctl is-system-running --wait >/dev/null; "
                "sync; echo 3 > /proc/sys/vm/drop_caches"],
                stdin=subprocess.DEVNULL, check=False, timeout=600)
            settled = time.time()
            out = monitor(state, "savevm %s" % SNAPSHOT)
            if "Error" in out:
                raise RuntimeError("savevm failed: %s" % out)
            log("savevm took %.1f s" % (time.time() - settled))
        finally:
            kill(state)
        os.rename(disk, snap)
        with open(os.path.join(img, "timings.log"), "a") as fh:
            fh.write("%s cold-boot-to-ssh accel=%s memory=%d cpus=%d seconds=%.1f\n"
                     % (time.strftime("%FT%TZ", time.gmtime()), accel, memory, cpus, secs))
        shutil.rmtree(state, ignore_errors=True)
    return img, accel, snap


def start(args):
    state = os.path.abspath(args.state_dir)
    if read_pid(state) and our_qemu(read_pid(state), state):
        raise RuntimeError("%s already runs (pid %d)" % (state, read_pid(state)))
    t0 = time.time()
    if args.cold:
        img = image(args.flavour, args.mode)
        accel, snap = accel_probe(), None
    else:
        img, accel, snap = snapshot(args.flavour, args.mode, args.memory, args.cpus)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    disk = os.path.join(state, "disk.qcow2")
    if snap:
        subprocess.run(["cp", "--sparse=always", "--reflink=auto", snap, disk], check=True)
    else:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        os.path.join(img, "rootfs.img"), disk], check=True)
    t1 = time.time()
    port, pid = launch(img, disk, accel, args.memory, args.cpus, state, args.name,
                       loadvm=SNAPSHOT if snap else None)
    secs = wait_ssh(img, port, pid, 120 if snap else 600)
    if snap:
        # A restored snapshot has the clock of the moment it was saved.
        subprocess.run(ssh_argv(img, port) + ["date -u -s @%.3f >/dev/null" % time.time()],
                       stdin=subprocess.DEVNULL, check=True)
    info = {
        "instance": args.name, "address": "127.0.0.1", "port": port, "user": "root",
        "identity_file": os.path.join(img, "id_ed25519"), "pid": pid, "state_dir": state,
        "serial_log": os.path.join(state, "serial.log"), "image": img, "accel": accel,
        "from_snapshot": bool(snap), "memory": args.memory, "cpus": args.cpus,
        "boot_to_ssh_seconds": round(secs, 1), "start_seconds": round(time.time() - t0, 1),
        "prepare_seconds": round(t1 - t0, 1),
    }
    with open(os.path.join(state, "instance.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    log("%s up on 127.0.0.1:%d (pid %d, %s, SSH after %.1f s)"
        % (args.name, port, pid, "snapshot" if snap else "cold boot", secs))
    print(json.dumps(info))


def stop(args):
    state = os.path.abspath(args.state_dir)
    kill(state)
    shutil.rmtree(state, ignore_errors=True)


def ssh(args):
    state = os.path.abspath(args.state_dir)
    with open(os.path.join(state, "instance.json")) as fh:
        info = json.load(fh)
    argv = ssh_argv(info["image"], info["port"], args.user) + args.cmd
    os.execvp(argv[0], argv)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="op", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--flavour", default="debian-default")
    common.add_argument("--mode", default="permissive", choices=["permissive", "enforcing"])
    common.add_argument("--memory", type=int, default=2048)
    common.add_argument("--cpus", type=int, default=2)
    sub.add_parser("image", parents=[common])
    sub.add_parser("snapshot", parents=[common])
    sub.add_parser("accel")
    s = sub.add_parser("start", parents=[common])
    s.add_argument("--state-dir", required=True)
    s.add_argument("--name", default="instance")
    s.add_argument("--cold", action="store_true", help="cold boot, no snapshot")
    s = sub.add_parser("stop")
    s.add_argument("--state-dir", required=True)
    s = sub.add_parser("ssh")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--user", default="root")
    s.add_argument("cmd", nargs="*")
    args = p.parse_args()
    try:
        if args.op == "image":
            print(image(args.flavour, args.mode))
        elif args.op == "snapshot":
            print(snapshot(args.flavour, args.mode, args.memory, args.cpus)[2])
        elif args.op == "accel":
            print(accel_probe())
        elif args.op == "start":
            start(args)
        elif args.op == "stop":
            stop(args)
        elif args.op == "ssh":
            ssh(args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        log("error: %s" % exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
