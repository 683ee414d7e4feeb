#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a large, deterministic, auditd-like log for bench/audit_log.py.

Mostly unrelated events (SYSCALL+CWD+PATH+PROCTITLE, USER_*/CRED_*, AVC denials of other
classes), with a small share (~0.2% of events) of perf_event / capability2 AVCs:

* denied, comm="perf", allow-listed domains (unconfined_t, staff_t)   -> must become rules
* denied, comm="perf", other domains (user_t, guest_t, xguest_t)      -> not allow-listed
* denied, permissive=1                                                -> still a denial
* granted                                                             -> never a rule
* comm != perf (bpftrace, pmdaperfevent, java)                        -> filtered by comm
* comm="perf" AVCs of other classes (file, dir, capability)           -> audit2allow emits them

Usage: gen_audit_log.py --size 1G --seed 8 --out bench/.data/audit-1G.log
Prints a JSON summary (bytes, lines, events, planted counts by kind) on stdout.
Same --size and --seed give a byte-identical file.
"""
from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import random
import sys

UNITS = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}

ALLOWED = ['unconfined_t', 'staff_t']
NOT_ALLOWED = ['user_t', 'guest_t', 'xguest_t']
PERF_PERMS = ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write']
USERS = {'unconfined_t': 'unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023',
         'staff_t': 'staff_u:staff_r:staff_t:s0-s0:c0.c1023',
         'sysadm_t': 'staff_u:sysadm_r:sysadm_t:s0-s0:c0.c1023',
         'user_t': 'user_u:user_r:user_t:s0',
         'guest_t': 'guest_u:guest_r:guest_t:s0',
         'xguest_t': 'xguest_u:xguest_r:xguest_t:s0',
         'pcp_pmcd_t': 'system_u:system_r:pcp_pmcd_t:s0'}
DAEMONS = [('sshd', '/usr/sbin/sshd', 'system_u:system_r:sshd_t:s0-s0:c0.c1023'),
           ('crond', '/usr/sbin/crond', 'system_u:system_r:crond_t:s0-s0:c0.c1023'),
           ('systemd', '/usr/lib/systemd/systemd', 'system_u:system_r:init_t:s0'),
           ('httpd', '/usr/sbin/httpd', 'system_u:system_r:httpd_t:s0'),
           ('bash', '/usr/bin/bash', 'unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023'),
           ('python3', '/usr/bin/python3.7', 'system_u:system_r:unconfined_service_t:s0'),
           ('rsyslogd', '/usr/sbin/rsyslogd', 'system_u:system_r:syslogd_t:s0'),
           ('chronyd', '/usr/sbin/chronyd', 'system_u:system_r:chronyd_t:s0')]
FILES = [('/etc/passwd', 'system_u:object_r:passwd_file_t:s0', '0100644'),
         ('/var/log/messages', 'system_u:object_r:var_log_t:s0', '0100600'),
         ('/etc/shadow', 'system_u:object_r:shadow_t:s0', '0100000'),
         ('/var/www/html/index.html', 'system_u:object_r:httpd_sys_content_t:s0', '0100644'),
         ('/home/alice/.bashrc', 'unconfined_u:object_r:user_home_t:s0', '0100644'),
         ('/usr/lib64/libc-2.30.so', 'system_u:object_r:lib_t:s0', '0100755')]
OTHER_AVCS = [('httpd_t', 'read', 'user_home_t', 'file', 'httpd'),
              ('sshd_t', 'search', 'var_lib_t', 'dir', 'sshd'),
              ('syslogd_t', 'name_connect', 'unreserved_port_t', 'tcp_socket', 'rsyslogd'),
              ('chronyd_t', 'sys_time', 'chronyd_t', 'capability', 'chronyd'),
              ('crond_t', 'write', 'tmp_t', 'file', 'crond')]
# comm="perf" denials of other classes: audit2allow turns them into rules, we never do
PERF_OTHER = [('unconfined_t', 'read', 'proc_kcore_t', 'file', '/proc/kcore'),
              ('staff_t', 'search', 'debugfs_t', 'dir', '/sys/kernel/debug'),
              ('staff_t', 'sys_admin', 'staff_t', 'capability', None)]
USER_TYPES = ['USER_AUTH', 'USER_ACCT', 'CRED_ACQ', 'USER_START', 'USER_LOGIN', 'USER_END', 'CRED_DISP']
SYSCALLS = [(257, 'openat'), (2, 'open'), (59, 'execve'), (4, 'stat'), (42, 'connect')]


def parse_size(s):
    s = s.strip().upper().rstrip('B')
    if s and s[-1] in UNITS:
        return int(float(s[:-1]) * UNITS[s[-1]])
    return int(s)


class Gen(object):
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.ts = 1700000000.0
        self.serial = 1000
        self.counts = {}

    def hdr(self):
        self.ts += self.r.random() * 0.05
        self.serial += 1
        return 'msg=audit(%.3f:%d):' % (self.ts, self.serial)

    def count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def syscall(self, h, sc, comm, exe, subj, success, pid):
        ok = 'yes' if success else 'no'
        ex = '3' if success else '-13'
        return ('type=SYSCALL %s arch=c000003e syscall=%d success=%s exit=%s a0=ffffff9c a1=7ffd%08x '
                'a2=80000 a3=0 items=1 ppid=%d pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 '
                'fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm="%s" exe="%s" subj=%s '
                'key=(null)\n' % (h, sc, ok, ex, self.r.getrandbits(32), pid - 1, pid, comm, exe, subj))

    def avc(self, h, result, perms, pid, comm, sctx, tctx, tclass, permissive, extra=''):
        return ('type=AVC %s avc:  %s  { %s } for  pid=%d comm="%s"%s scontext=%s tcontext=%s '
                'tclass=%s permissive=%d\n' % (h, result, ' '.join(perms), pid, comm, extra, sctx, tctx,
                                                tclass, permissive))

    def proctitle(self, h, cmd):
        return 'type=PROCTITLE %s proctitle=%s\n' % (h, cmd.encode('ascii').hex().upper())

    def file_event(self):
        r = self.r
        h = self.hdr()
        comm, exe, subj = r.choice(DAEMONS)
        sc, _ = r.choice(SYSCALLS)
        pid = r.randint(300, 99999)
        name, obj, mode = r.choice(FILES)
        out = [self.syscall(h, sc, comm, exe, subj, True, pid),
               'type=CWD %s cwd="/"\n' % h,
               'type=PATH %s item=0 name="%s" inode=%d dev=fd:00 mode=%s ouid=0 ogid=0 rdev=00:00 '
               'obj=%s nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0\n'
               % (h, name, r.randint(1000, 9999999), mode, obj),
               self.proctitle(h, exe)]
        self.count('file_event')
        return ''.join(out)

    def user_event(self):
        r = self.r
        h = self.hdr()
        t = r.choice(USER_TYPES)
        self.count('user_event')
        return ("type=%s %s pid=%d uid=0 auid=1000 ses=3 subj=system_u:system_r:sshd_t:s0-s0:c0.c1023 "
                "msg='op=PAM:%s grantors=pam_unix acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=10.0.%d.%d "
                "addr=10.0.%d.%d terminal=ssh res=success'\n"
                % (t, h, r.randint(300, 99999), t.lower(), r.randint(0, 255), r.randint(1, 254),
                   r.randint(0, 255), r.randint(1, 254)))

    def other_avc_event(self):
        r = self.r
        h = self.hdr()
        st, perm, tt, tclass, comm = r.choice(OTHER_AVCS)
        pid = r.randint(300, 99999)
        sctx = 'system_u:system_r:%s:s0' % st
        tctx = sctx if tt == st else 'system_u:object_r:%s:s0' % tt
        self.count('other_avc')
        return (self.avc(h, 'denied', [perm], pid, comm, sctx, tctx, tclass, 0, ' name="x%d"' % r.randint(0, 99))
                + self.syscall(h, 257, comm, '/usr/sbin/' + comm, sctx, False, pid))

    def perf_event(self):
        """One perf-related event; kind chosen with fixed weights."""
        r = self.r
        h = self.hdr()
        pid = r.randint(300, 99999)
        kind = r.choices(['deny_allowed', 'deny_other_domain', 'deny_permissive', 'granted',
                          'other_comm', 'perf_other_class', 'cap2_perfmon', 'deny_other_target'],
                         weights=[30, 20, 10, 5, 10, 15, 5, 5])[0]
        self.count('perf:' + kind)
        comm, exe = 'perf', '/usr/bin/perf'
        perms = sorted(r.sample(PERF_PERMS, r.randint(1, 2)))
        tclass = 'perf_event'
        permissive = 0
        result = 'denied'
        dom = r.choice(ALLOWED)
        if kind == 'deny_allowed':
            dom = r.choice(ALLOWED)
        elif kind == 'deny_other_domain':
            dom = r.choice(NOT_ALLOWED)
        elif kind == 'deny_permissive':
            dom, permissive = r.choice(ALLOWED + ['sysadm_t']), 1
        elif kind == 'granted':
            dom, result = r.choice(ALLOWED), 'granted'
        elif kind == 'other_comm':
            comm, exe = r.choice([('bpftrace', '/usr/bin/bpftrace'), ('pmdaperfevent', '/var/lib/pcp/pmdas/perfevent/pmdaperfevent'),
                                  ('java', '/usr/lib/jvm/bin/java')])
            dom = r.choice(ALLOWED + ['pcp_pmcd_t'])
        elif kind == 'cap2_perfmon':
            dom, tclass, perms = r.choice(ALLOWED), 'capability2', ['perfmon']
        elif kind == 'deny_other_target':
            dom = 'staff_t'
        sctx = USERS[dom]
        tctx = sctx
        extra = ''
        if kind == 'deny_other_target':
            tctx = 'system_u:system_r:init_t:s0'
        if kind == 'perf_other_class':
            dom, perm, tt, tclass, path = r.choice(PERF_OTHER)
            sctx = USERS[dom]
            perms = [perm]
            tctx = sctx if tt == dom else 'system_u:object_r:%s:s0' % tt
            extra = ' name="%s"' % path if path else ' capability=21'
        sc = 298 if tclass in ('perf_event', 'capability2') else 257
        return (self.avc(h, result, perms, pid, comm, sctx, tctx, tclass, permissive, extra)
                + self.syscall(h, sc, comm, exe, sctx, result == 'granted' or permissive == 1, pid)
                + self.proctitle(h, '%s stat -a' % comm))

    def event(self):
        x = self.r.random()
        if x < 0.002:
            return self.perf_event()
        if x < 0.03:
            return self.other_avc_event()
        if x < 0.25:
            return self.user_event()
        return self.file_event()


def generate(out, size, seed):
    g = Gen(seed)
    written = 0
    lines = 0
    tmp = out + '.tmp'
    with open(tmp, 'w') as f:
        buf = []
        blen = 0
        while written + blen < size:
            e = g.event()
            buf.append(e)
            blen += len(e)
            if blen > (4 << 20):
                chunk = ''.join(buf)
                f.write(chunk)
                lines += chunk.count('\n')
                written += blen
                buf, blen = [], 0
        chunk = ''.join(buf)
        f.write(chunk)
        lines += chunk.count('\n')
        written += blen
    os.rename(tmp, out)
    events = sum(g.counts.values())
    perf = dict((k[5:], v) for k, v in sorted(g.counts.items()) if k.startswith('perf:'))
    return {'path': out, 'bytes': written, 'lines': lines, 'events': events, 'seed': seed,
            'events_by_kind': dict((k, v) for k, v in sorted(g.counts.items()) if not k.startswith('perf:')),
            'perf_events_by_kind': perf, 'allowed_domains': ALLOWED}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='1G', help='target size: 1G (default), 100M, 500K, or bytes')
    ap.add_argument('--seed', type=int, default=8)
    ap.add_argument('--out', required=True)
    a = ap.parse_args(argv)
    d = os.path.dirname(os.path.abspath(a.out))
    if not os.path.isdir(d):
        os.makedirs(d)
    summary = generate(a.out, parse_size(a.size), a.seed)
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
