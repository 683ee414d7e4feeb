#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_denials
short_description: Read a host's perf_event and capability2 perfmon/bpf AVC denials since a point in time
description:
  - Reads the kernel's denied AVC records of class C(perf_event) and C(capability2) C(perfmon)
    (C(bpf) with O(include_bpf)) since O(since) from the auditd log and its rotated files, and
    returns them aggregated, one group per (source type, target type, class, permission, comm,
    exe) with a count and the first and last record stamps. No log text is returned but
    validated type and permission names and the bounded C(comm) / C(exe) strings.
  - Files are read newest first, C(audit.log), C(audit.log.1), C(audit.log.2) ... up to the first
    number missing, through the collection's byte prefilter (only lines with a C({) and a perf
    C(tclass=) are decoded and parsed; the others are counted as C(not_perf)). A rotated file
    whose modification time is before O(since) ends the list (it and the older ones hold only
    older records).
  - Bounded per host, whatever the logs hold. At most O(max_bytes) bytes are read in all (a file
    bigger than what is left is read from its tail, the newest part), at most O(max_records) denial
    records are aggregated and at most O(max_groups) groups returned; the rest is counted in
    RV(skipped_reasons) as C(over_cap) / C(over_groups) and RV(truncated) is set.
  - The C(exe) of a record comes from the C(SYSCALL) record of the same audit event when it
    follows the AVC record within 16 KiB in the same 1 MiB block (kernel AVC records for
    perf_event carry no C(exe)); it is null otherwise. C(comm) and C(exe) are chosen by the
    process - evidence, never a trust boundary.
  - Read-only, also outside check mode; RV(changed) is always false. Meant as the first half of
    the fleet harvest (playbook C(perfsec.selinux.harvest)); the rules are made on the controller
    by M(perfsec.selinux.perf_harvest_merge), which applies the allow-list of domains.
  - Without an audit log, the journal's audit transport is read with
    C(journalctl -o json _TRANSPORT=audit _AUDIT_TYPE=1400 -n N --since ...) (the kernel's AVC records only) when O(journal=auto), N being
    O(max_bytes) / 4096 entries (the newest), then at most O(max_bytes) bytes of its output;
    C(exe) is not correlated there.
version_added: 0.2.0
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  since:
    description:
      - Only records stamped at or after this time are used, as epoch seconds (an integer or a
        number with a fraction, or a string of digits such as C(1764337200) or C(1764337200.5)).
        A date text is refused; for the last 7 days use C("{{ now().timestamp() | int - 604800 }}").
      - Records before it are counted as C(before_since), records without a stamp as C(no_time).
    type: raw
    required: true
  path:
    description:
      - The live auditd log (host view; below O(root) when set).
    type: path
    default: /var/log/audit/audit.log
  rotated:
    description:
      - Also read the rotated copies C(PATH.1) (the newest) ... C(PATH.N) as auditd names them.
    type: bool
    default: true
  max_bytes:
    description:
      - The most bytes read from all files together (at least 1).
    type: int
    default: 67108864
  max_records:
    description:
      - The most denial records aggregated (at least 1); further ones are counted as C(over_cap).
    type: int
    default: 100000
  max_groups:
    description:
      - The most groups returned (at least 1); a record that needs a new group beyond it is counted
        as C(over_groups).
    type: int
    default: 1000
  include_bpf:
    description:
      - Also read C(capability2) C(bpf) denials.
    type: bool
    default: false
  journal:
    description:
      - C(auto) reads the journal's audit transport only when there is no audit log, C(never)
        never does, C(always) reads the journal instead of the files.
    type: str
    choices: [auto, always, never]
    default: auto
  module_name:
    description:
      - The installed perf module whose rules and checksum are returned as RV(installed), read from
        the policy store (no command is run), for the merge's diff.
    type: str
    default: perfsec_perf
  module_priority:
    description:
      - The priority of O(module_name) in the store.
    type: int
    default: 300
  store:
    description:
      - The policy store (default SELINUXTYPE of C(ROOT/etc/selinux/config)).
    type: str
  root:
    description:
      - Read O(path) and the policy store below this directory. For tests (fake roots); on a live
        host leave it alone.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    details: The module never writes anything, in check mode or not.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The journal fallback passes O(since) to C(journalctl --since) in the host's local time and
    checks every entry's own stamp (C(_SOURCE_REALTIME_TIMESTAMP)) against O(since) again.
  - A rotated file older than O(since) (by its modification time) and the older ones are not
    read, so their records are not counted in C(before_since).
seealso:
  - module: perfsec.selinux.perf_harvest_merge
  - module: perfsec.selinux.perf_semodule
'''

EXAMPLES = r'''
- name: Read this host's perf denials of the last 7 days
  perfsec.selinux.perf_denials:
    since: "{{ now().timestamp() | int - 604800 }}"
  register: denials

- name: Bounded harder on a busy host, with bpf
  perfsec.selinux.perf_denials:
    since: 1764288000
    max_bytes: 16777216
    max_records: 10000
    include_bpf: true
'''

RETURN = r'''
changed:
  description: Always false (read-only).
  returned: always
  type: bool
available:
  description: Whether an audit log (or, as a fallback, the journal) could be read.
  returned: always
  type: bool
source:
  description: C(auditd) (the log files), C(journal) (the journal's audit transport), or null.
  returned: always
  type: str
msg:
  description: A one-line summary; says so when no audit log exists.
  returned: always
  type: str
since:
  description: O(since) as epoch seconds.
  returned: always
  type: float
files:
  description:
    - The files looked at, in reading order, each with its C(status) - C(read), C(tail) (only its
      newest part, within O(max_bytes)), C(before_since) (older than O(since), not read),
      C(over_max_bytes) (not read) or C(not_regular) (not a regular file, not read).
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/var/log/audit/audit.log", "size": 6512, "bytes_read": 6512, "status": "read"}]
bytes_read:
  description: Bytes read from all files.
  returned: always
  type: int
truncated:
  description: Whether a bound (O(max_bytes), O(max_records), O(max_groups)) left records out.
  returned: always
  type: bool
records:
  description: Denial records aggregated into RV(denials).
  returned: always
  type: int
denials:
  description:
    - One group per (C(stype), C(ttype), C(tclass), C(perm), C(comm), C(exe)), with C(count) (records),
      C(first) and C(last) (epoch seconds, from the records' own stamps) and C(permissive) (how many of
      them were logged in permissive mode). C(comm) is at most 64 and C(exe) at most 1024 characters.
  returned: always
  type: list
  elements: dict
  sample: [{"stype": "user_t", "ttype": "user_t", "tclass": "perf_event", "perm": "open", "comm": "perf",
            "exe": "/usr/bin/perf", "count": 3, "first": 1764337200.101, "last": 1764337260.5, "permissive": 0}]
by_class:
  description:
    - The C(count)s of RV(denials) summed per class (C(perf_event), C(capability2)); a record denying two
      permissions counts twice. A class without denials is absent.
  returned: always
  type: dict
  sample: {"perf_event": 3}
skipped_reasons:
  description:
    - Lines and records not used, by reason, and their C(total) - C(not_perf) (lines without a perf
      class, never parsed), C(too_long), C(unparsable), C(not_avc), C(granted), C(class), C(perm)
      (no permission of the class's allow-list), C(before_since), C(no_time), C(over_cap),
      C(over_groups), C(partial) (the cut first line of a file read from its tail).
  returned: always
  type: dict
forms:
  description: AVC records read in the time window, by the form they were in.
  returned: always
  type: dict
installed:
  description:
    - The installed O(module_name) at O(module_priority) - C(name), C(priority), C(checksum) (sha256
      of its CIL, as C(semodule -lfull -m) shows) and C(rules) (its allow rules as
      [source, target, class, [perms]]); null when it is not installed or the store cannot be read.
  returned: always
  type: dict
'''

import errno
import json
import os
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import harvest as hv
from ansible_collections.perfsec.selinux.plugins.module_utils import plan as planner
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils.common import rooted

MAX_ROTATED = 999


class _Limited(object):
    """A binary file's readinto, stopping after ``limit`` bytes (a live log may grow)."""

    def __init__(self, f, limit):
        self.f = f
        self.left = limit
        self.read_bytes = 0

    def readinto(self, b):
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        got = self.f.readinto(memoryview(b)[:n]) or 0
        self.left -= got
        self.read_bytes += got
        return got


def audit_files(path, rotated):
    """PATH, PATH.1, PATH.2 ... (newest first) up to the first number missing."""
    out = [path]
    if rotated:
        n = 1
        while n <= MAX_ROTATED and os.path.lexists('%s.%d' % (path, n)):
            out.append('%s.%d' % (path, n))
            n += 1
    return out


def _skip_partial_line(f, start):
    """Position ``f`` after the first newline at or after ``start - 1``; the bytes skipped."""
    if start == 0:
        return 0
    f.seek(start - 1)
    skipped = 0
    while True:
        chunk = f.read(4096)
        if not chunk:
            return skipped
        i = chunk.find(b'\n')
        if i >= 0:
            f.seek(start - 1 + skipped + i + 1)
            return skipped + i
        skipped += len(chunk)


def read_files(agg, files, since, budget, view=None):
    """Feed the files (newest first) to the aggregator; return (file entries, bytes read,
    truncated)."""
    entries = []
    total = 0
    truncated = False
    for i, path in enumerate(files):
        entry = {'path': view[i] if view else path, 'size': None, 'bytes_read': 0, 'status': 'read'}
        entries.append(entry)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0))
        except (IOError, OSError) as e:
            entry['status'] = 'unreadable'
            entry['error'] = e.strerror or str(e)
            continue
        with os.fdopen(fd, 'rb', 0) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                entry['status'] = 'not_regular'
                continue
            entry['size'] = st.st_size
            if i > 0 and st.st_mtime < since:
                entry['status'] = 'before_since'
                for j in range(i + 1, len(files)):
                    entries.append({'path': view[j] if view else files[j], 'size': None,
                                    'bytes_read': 0, 'status': 'before_since'})
                break
            left = budget - total
            if left <= 0:
                entry['status'] = 'over_max_bytes'
                truncated = True
                continue
            if st.st_size > left:
                entry['status'] = 'tail'
                truncated = True
                skipped = _skip_partial_line(f, st.st_size - left)
                if skipped:
                    agg.skipped['partial'] = agg.skipped.get('partial', 0) + 1
                left -= skipped
                total += skipped
            lim = _Limited(f, max(left, 0))
            agg.feed(au.read_prefiltered(lim, exe=True))
            total += lim.read_bytes
            entry['bytes_read'] = lim.read_bytes
    return entries, total, truncated


def read_journal(module, agg, since, budget):
    """Feed the journal's audit transport (journalctl -o json, the newest entries first cut at
    ``budget`` // 4096 entries, then at most ``budget`` bytes of it) to the aggregator; return
    (available, bytes read, truncated, error)."""
    journalctl = module.get_bin_path('journalctl')
    if not journalctl:
        return False, 0, False, 'journalctl not found'
    limit = max(1, budget // 4096)
    argv = [journalctl, '-o', 'json', '--no-pager', '-q', '_TRANSPORT=audit', '_AUDIT_TYPE=1400', '-n', str(limit),
            '--since', time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))]
    rc, out, err = module.run_command(argv, environ_update={'LC_ALL': 'C', 'SYSTEMD_PAGER': ''},
                                      encoding=None)
    if rc != 0:
        return False, 0, False, to_native(err or b'journalctl exited with %d' % rc, errors='surrogate_or_replace')
    total = 0
    truncated = False
    for raw in out.split(b'\n'):
        if not raw:
            continue
        total += len(raw) + 1
        if total > budget:
            truncated = True
            break
        if len(raw) > au.MAX_LINE * 4:
            agg.skipped['too_long'] += 1
            continue
        _journal_entry(agg, raw)
    agg.feed([])
    return True, min(total, budget), truncated, None


def _journal_entry(agg, raw):
    try:
        entry = json.loads(raw.decode('utf-8', 'replace'))
    except ValueError:
        agg.skipped['unparsable'] += 1
        return
    msg = entry.get('MESSAGE') if isinstance(entry, dict) else None
    if isinstance(msg, list):           # journald's form of a message that is not UTF-8
        try:
            msg = bytes(bytearray(msg)).decode('utf-8', 'surrogateescape')
        except (TypeError, ValueError):
            msg = None
    if not isinstance(msg, str):
        agg.skipped['unparsable'] += 1
        return
    if not msg.startswith('AVC '):
        agg.skipped['not_avc'] += 1     # journald's MESSAGE is "TYPE text"; only AVC records count
        return
    stamp = entry.get('_SOURCE_REALTIME_TIMESTAMP') or entry.get('__REALTIME_TIMESTAMP')
    try:
        t = int(stamp) / 1e6
    except (TypeError, ValueError):
        t = None
    reason, rec = au.parse_line(msg)
    if reason == 'ignored':
        return
    if reason:
        agg.skipped[reason] += 1
        return
    if t is None:
        agg.feed_record(rec)
    else:
        agg.feed_record(rec, time_=t)


def installed_module(root, store, name, priority):
    sdir = sm.store_dir(root, store)
    if not sdir:
        return None
    cil = planner.store_cil(sdir, name, priority)
    if cil is None:
        return None
    rules = hv.cil_allow_rules(cil) or []
    return {'name': name, 'priority': priority, 'checksum': planner.store_checksum(sdir, name, priority),
            'rules': [[r[0], r[1], r[2], r[3]] for r in rules]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            since=dict(type='raw', required=True),
            path=dict(type='path', default='/var/log/audit/audit.log'),
            rotated=dict(type='bool', default=True),
            max_bytes=dict(type='int', default=64 * 1024 * 1024),
            max_records=dict(type='int', default=100000),
            max_groups=dict(type='int', default=1000),
            include_bpf=dict(type='bool', default=False),
            journal=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            module_name=dict(type='str', default='perfsec_perf'),
            module_priority=dict(type='int', default=300),
            store=dict(type='str'),
            root=dict(type='path', default='/'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        since = au.parse_since(p['since'])
    except ValueError:
        module.fail_json(msg='since must be epoch seconds (a number such as 1764337200 or 1764337200.5, at '
                             'least 0; not a date text); for the last 7 days use the Jinja expression '
                             'now().timestamp() | int - 604800')
    for key in ('max_bytes', 'max_records', 'max_groups'):
        if isinstance(p[key], bool) or p[key] < 1:
            module.fail_json(msg='%s must be a positive integer, got %r' % (key, p[key]))
    if not sm.valid_name(p['module_name']):
        module.fail_json(msg='invalid module_name: use letters, digits, _ and -, starting with a letter')
    if isinstance(p['module_priority'], bool) or not 1 <= p['module_priority'] <= 999:
        module.fail_json(msg='module_priority must be an integer between 1 and 999')
    root = p['root']
    agg = hv.Aggregator(since, p['include_bpf'], p['max_records'], p['max_groups'])
    result = dict(changed=False, available=False, source=None, since=since, files=[], bytes_read=0,
                  truncated=False, records=0, denials=[], by_class={}, skipped_reasons={}, forms={}, installed=None, msg='')
    live = rooted(root, p['path'])
    have_log = os.path.lexists(live)
    error = None
    if p['journal'] != 'always' and have_log:
        files = audit_files(live, p['rotated'])
        view = [p['path'] + f[len(live):] for f in files]
        entries, total, truncated = read_files(agg, files, since, p['max_bytes'], view)
        result.update(files=entries, bytes_read=total, truncated=truncated, source='auditd',
                      available=any(e['status'] not in ('unreadable', 'not_regular') for e in entries))
        if not result['available']:
            error = '; '.join('%s: %s' % (e['path'], e.get('error') or e['status']) for e in entries)
    elif p['journal'] != 'never':
        ok, total, truncated, error = read_journal(module, agg, since, p['max_bytes'])
        result.update(available=ok, source='journal' if ok else None, bytes_read=total, truncated=truncated)
    result['denials'] = agg.groups()
    result['records'] = agg.records
    for group in result['denials']:
        result['by_class'][group['tclass']] = result['by_class'].get(group['tclass'], 0) + group['count']
    result['skipped_reasons'] = agg.total()
    result['forms'] = agg.forms
    if agg.skipped.get('over_cap') or agg.skipped.get('over_groups'):
        result['truncated'] = True
    try:
        result['installed'] = installed_module(root, p['store'], p['module_name'], p['module_priority'])
    except (IOError, OSError) as e:
        if e.errno not in (errno.ENOENT, errno.EACCES):
            raise
    when = hv.iso(since)
    if not result['available']:
        if not have_log and p['journal'] != 'always':
            result['msg'] = ('no audit log %s on this host%s' % (p['path'], '' if p['journal'] == 'never' else
                                                                 ' and the journal could not be read (%s)' % error))
        else:
            result['msg'] = 'no audit records could be read: %s' % error
        if not have_log and p['journal'] == 'never':
            result['msg'] = 'no audit log %s on this host (journal=never)' % p['path']
    elif not result['denials']:
        result['msg'] = 'no perf denials since %s (%d lines skipped)' % (when, result['skipped_reasons']['total'])
    else:
        result['msg'] = '%d perf denial records since %s in %d groups%s' % (
            result['records'], when, len(result['denials']), ' (truncated)' if result['truncated'] else '')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
