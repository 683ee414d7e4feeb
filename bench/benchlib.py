# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the bench/ scripts: timing a shell command, environment, tables."""
from __future__ import (absolute_import, division, print_function)

import os
import platform
import resource
import shutil
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GNU_TIME = '/usr/bin/time'


def run_timed(cmd, cwd=None, env=None, stdout_path=os.devnull, stderr_path=os.devnull):
    """Run ``cmd`` (a bash command line) once: wall seconds, peak RSS (KiB) of the largest
    single process of the command (GNU time %M when available, else getrusage of children),
    user+sys seconds and the exit status."""
    tfile = os.path.join(ROOT, 'bench', '.data', '.time.%d' % os.getpid())
    os.makedirs(os.path.dirname(tfile), exist_ok=True)
    if os.path.exists(GNU_TIME):
        argv = [GNU_TIME, '-f', '%e %M %U %S', '-o', tfile, 'bash', '-o', 'pipefail', '-c', cmd]
    else:
        argv = ['bash', '-o', 'pipefail', '-c', cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(stdout_path, 'w') as out, open(stderr_path, 'w') as err:
        rc = subprocess.call(argv, cwd=cwd, env=env, stdout=out, stderr=err)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = after.ru_maxrss
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if os.path.exists(GNU_TIME):
        with open(tfile) as f:
            last = f.read().strip().splitlines()[-1].split()
        os.unlink(tfile)
        rss = int(last[1])
        cpu = float(last[2]) + float(last[3])
    return {'wall_s': round(wall, 3), 'max_rss_kib': rss, 'cpu_s': round(cpu, 2), 'rc': rc}


def median(xs):
    return round(statistics.median(xs), 3) if xs else None


def tool_version(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=30).stdout
        return out.strip().splitlines()[0] if out.strip() else ''
    except (OSError, subprocess.SubprocessError):
        return None


def machine():
    """nproc, kernel, load and memory at the time of the call."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    mem = {}
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                k, v = line.split(':', 1)
                if k in ('MemTotal', 'MemAvailable'):
                    mem[k] = v.strip()
    except IOError:
        pass
    qemu = 0
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/comm' % pid) as f:
                    if f.read().startswith('qemu'):
                        qemu += 1
            except IOError:
                pass
    return {'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'nproc': os.cpu_count(),
            'kernel': platform.release(), 'loadavg': load, 'mem': mem, 'qemu_processes': qemu,
            'python': platform.python_version(), 'gnu_time': os.path.exists(GNU_TIME),
            'shutil_which_time': shutil.which('time')}


def table(headers, rows):
    """A plain-text table."""
    cols = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cols) for i in range(len(headers))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in cols]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)
