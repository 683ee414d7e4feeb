# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The opt-in audit rule on perf_event_open() (module perf_audit_rule) and its hits (facts).

* ``abis(machine)``: the audit ABIs (``-F arch=b64`` / ``b32``) that have perf_event_open on an
  architecture (a 64-bit kernel with a 32-bit compat ABI gets both);
* ``render``: the rules.d file; ``rule_lines`` its rules;
* ``loaded_abis``: which of those rules ``auditctl -l`` lists;
* ``immutable``: ``auditctl -s`` says ``enabled 2`` (rules locked until reboot);
* ``count_hits``: SYSCALL records carrying the rule's key, summarised (who, what, result).

Pure functions; Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

KEY = 'perfsec-perf'
RULES_DIR = '/etc/audit/rules.d'
DEFAULT_PATH = RULES_DIR + '/perfsec-perf.rules'
SYSCALL = 'perf_event_open'
MANAGED_PREFIX = '# Managed by perfsec.selinux'
MANAGED_LINE = MANAGED_PREFIX + ' (perf_audit_rule): local changes will be overwritten.'
KEY_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z')
NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.@+-]*\.rules\Z')
# uname -m -> ABIs with perf_event_open (b32 where the 64-bit kernel runs 32-bit programs)
MACHINE_ABIS = {
    'x86_64': ('b64', 'b32'), 'aarch64': ('b64', 'b32'), 's390x': ('b64', 'b32'),
    'ppc64': ('b64', 'b32'), 'ppc64le': ('b64',), 'riscv64': ('b64',), 'loongarch64': ('b64',),
    'mips64': ('b64', 'b32'),
    'i386': ('b32',), 'i486': ('b32',), 'i586': ('b32',), 'i686': ('b32',), 'armv7l': ('b32',),
    'armv6l': ('b32',), 'ppc': ('b32',), 's390': ('b32',),
}
MAX_LIST = 10


def abis(machine):
    """ABIs for ``machine`` (os.uname().machine); ('b64',) for an unknown 64-bit name, else ('b32',)."""
    if machine in MACHINE_ABIS:
        return MACHINE_ABIS[machine]
    return ('b64',) if '64' in (machine or '') else ('b32',)


def check_key(key):
    if not isinstance(key, str) or not KEY_RE.match(key):
        return ('invalid key %r: 1-63 letters, digits, _ . - (starting with a letter or digit), '
                'e.g. %s' % (key, KEY))
    return None


def check_path(path):
    if not isinstance(path, str) or path != RULES_DIR + '/' + path.rsplit('/', 1)[-1] or \
            not NAME_RE.match(path.rsplit('/', 1)[-1]):
        return ('path %r is not allowed: it must be a NAME.rules file directly in %s (read by '
                'augenrules), e.g. %s' % (path, RULES_DIR, DEFAULT_PATH))
    return None


def rule_lines(abi_list, key=KEY):
    return ['-a always,exit -F arch=%s -S %s -k %s' % (a, SYSCALL, key) for a in abi_list]


def render(abi_list, key=KEY):
    return '\n'.join([MANAGED_LINE,
                      '# Who opens perf events: every perf_event_open() call, with its result, '
                      'logged under key %s' % key,
                      '# (ausearch -k %s). Remove with perfsec.selinux.rollback '
                      '(rollback_audit_rule).' % key] + rule_lines(abi_list, key)) + '\n'


def _tokens(line):
    return line.split()


def parse_rule(line):
    """(abi, syscalls, key) of one ``auditctl -l`` / rules line of an exit rule, or None."""
    toks = _tokens(line)
    if len(toks) < 2 or toks[0] not in ('-a', '-A') or toks[1] not in ('always,exit', 'exit,always'):
        return None
    abi, key, syscalls = None, None, set()
    i = 2
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ''
        if t == '-F' and nxt.startswith('arch='):
            abi = nxt.split('=', 1)[1]
            i += 2
        elif t == '-F' and (nxt.startswith('key=') or nxt.startswith('k=')):
            key = nxt.split('=', 1)[1].strip('"')
            i += 2
        elif t == '-k':
            key = nxt.strip('"')
            i += 2
        elif t == '-S':
            syscalls.update(x for x in nxt.split(',') if x)
            i += 2
        else:
            i += 1
    return abi, syscalls, key


def loaded_abis(listing, key=KEY):
    """ABIs whose perf_event_open rule with ``key`` is in ``auditctl -l``'s output."""
    out = set()
    for line in (listing or '').splitlines():
        r = parse_rule(line.strip())
        if r and r[2] == key and SYSCALL in r[1] and r[0]:
            out.add(r[0])
    return out


def foreign_lines(listing, key=KEY):
    """Loaded rules with ``key`` that are not ours (other syscalls or filters): left alone."""
    out = []
    for line in (listing or '').splitlines():
        r = parse_rule(line.strip())
        if r and r[2] == key and r[1] != set([SYSCALL]):
            out.append(line.strip())
    return out


def immutable(status):
    """True when ``auditctl -s`` says ``enabled 2`` (rules locked until reboot)."""
    m = re.search(r'^enabled\s+(\d+)', status or '', re.M)
    return bool(m and m.group(1) == '2')


# --- hits in the audit log ----------------------------------------------------------------------

_TS = re.compile(r'msg=audit\((\d+(?:\.\d+)?):\d+\)')
_FIELD = re.compile(r'(?:^|\s)(\w+)=("[^"]*"|\S+)')


def _fields(line):
    # raw records may end with the enriched part after \x1d (ARCH=... AUID="name" UID="name")
    raw, _sep, enriched = line.partition('\x1d')
    f = dict((k, v.strip('"')) for k, v in _FIELD.findall(raw))
    e = dict((k, v.strip('"')) for k, v in _FIELD.findall(enriched))
    return f, e


def _bump(d, k):
    if k:
        d[k] = d.get(k, 0) + 1


def _top(d):
    return [{'name': k, 'count': v} for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_LIST]]


def count_hits(text, key=KEY, max_age=0, now=None):
    """SYSCALL records with ``key`` in an audit log text (raw or enriched format).

    Returns {count, success, failed, first, last, users (by auid name or number), uids, comms,
    exes, domains} - lists of {name, count}, at most 10 each, most frequent first.
    """
    out = {'count': 0, 'success': 0, 'failed': 0, 'first': None, 'last': None}
    users, uids, comms, exes, domains = {}, {}, {}, {}, {}
    needle = 'key="%s"' % key
    needle2 = 'key=%s' % key
    for line in (text or '').split('\n'):
        if 'type=SYSCALL' not in line or (needle not in line and needle2 not in line):
            continue
        f, e = _fields(line)
        if f.get('key') != key:
            continue
        m = _TS.search(line)
        ts = float(m.group(1)) if m else None
        if max_age and ts is not None and now is not None and ts < now - max_age:
            continue
        out['count'] += 1
        if f.get('success') == 'yes':
            out['success'] += 1
        else:
            out['failed'] += 1
        if ts is not None:
            out['first'] = ts if out['first'] is None else min(out['first'], ts)
            out['last'] = ts if out['last'] is None else max(out['last'], ts)
        auid = e.get('AUID') or f.get('auid')
        if auid in ('4294967295', 'unset'):
            auid = 'unset'
        _bump(users, auid)
        _bump(uids, e.get('UID') or f.get('uid'))
        _bump(comms, f.get('comm'))
        _bump(exes, f.get('exe'))
        subj = f.get('subj') or ''
        parts = subj.split(':')
        _bump(domains, parts[2] if len(parts) >= 3 else None)
    out.update(users=_top(users), uids=_top(uids), comms=_top(comms), exes=_top(exes),
               domains=_top(domains))
    return out


def hits_summary(h):
    """One line for the report."""
    if not h or not h.get('count'):
        return 'no perf_event_open() logged'
    who = ', '.join('%s (%d)' % (u['name'], u['count']) for u in h.get('users', [])[:3])
    return '%d perf_event_open() (%d failed) by %s' % (h['count'], h['failed'], who or 'unknown')


def file_state(text, mode, abi_list, key=KEY):
    """{present, managed, current, mode} of the rules file (text None: absent; mode an int or None)."""
    if text is None:
        return {'present': False, 'managed': False, 'current': False, 'mode': None}
    return {'present': True, 'managed': text.startswith(MANAGED_PREFIX),
            'current': text == render(abi_list, key) and mode == 0o600,
            'mode': '%04o' % mode if mode is not None else None}


def plan_reason(wanted, state, path=DEFAULT_PATH):
    """Reason of the plan's ``audit_rule`` step, or None (the rule is not wanted, or the file is right;
    whether it is loaded is checked by perf_audit_rule itself)."""
    if not wanted:
        return None
    if not state.get('present'):
        return 'the perf_event_open() audit rule is wanted and %s does not exist' % path
    if not state.get('current'):
        return ('%s differs from the wanted rule (or is not mode 0600)' % path if state.get('managed') else
                '%s exists but was not written by perfsec.selinux' % path)
    return None
