# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet denial harvest: per-host aggregation of perf denials and the controller-side merge.

On each host, :func:`aggregate` (called by perfsec.selinux.perf_denials) turns the lines of
:func:`audit.read_prefiltered` (with ``exe=True``) into denial groups, one per
(source type, target type, class, permission, comm, exe), with a count and the first and last
record stamps; nothing of the log text but validated names and the bounded ``comm`` / ``exe``
strings is returned. Every line not used is counted by reason.

On the controller, :func:`merge` takes every host's perf_denials result (untrusted: a host may
return anything) and keeps only what the contract of :func:`audit.generate_rules` allows:
class ``perf_event`` / ``capability2``, permissions of :func:`audit.allowed_perms`, source types
of ``allowed_domains``, target ``self`` (or an ``allowed_targets`` type for perf_event
read/write, :func:`audit.grant_target`). Each rule carries its evidence (denials, hosts, first
and last seen, comm, exe); everything else is counted per host and reason. :func:`render`
writes the one .te through :func:`audit.render_te` with a comment above each rule whose log
and host strings are neutralised by :func:`neutral` (printable ASCII, bounded).
:func:`diff_installed` compares the rules with the installed module's, per distinct checksum.
Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import time

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm

# bounds of the untrusted strings a host returns (TASK_COMM_LEN is 16; PATH_MAX 4096)
MAX_COMM = 64
MAX_EXE = 1024
# in a .te comment: each string, and how many of a list
COMMENT_ITEM = 48
COMMENT_LIST = 4
MAX_COUNT = 10 ** 15
HOST_REASONS = ('too_long', 'unparsable', 'not_avc', 'granted', 'class', 'perm', 'over_cap', 'over_groups')
MERGE_REASONS = ('no_result', 'invalid', 'class', 'perm', 'comm', 'domain', 'target')
_REASON_RE = re.compile(r'^[a-z_]{1,32}\Z')


# --- strings ---------------------------------------------------------------------------------

def bound(text, limit):
    """An untrusted string from a log, as a host returns it: lone surrogates (undecodable
    bytes) replaced, at most ``limit`` characters (cut ones end in ``...``). None stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    text = text.encode('utf-8', 'replace').decode('utf-8', 'replace') if _has_surrogate(text) else text
    return text if len(text) <= limit else text[:limit] + '...'


def _has_surrogate(text):
    try:
        text.encode('utf-8')
        return False
    except UnicodeError:
        return True


def neutral(text, limit=COMMENT_ITEM):
    """Any value → printable ASCII for a .te comment: every other character (newline, CR,
    control characters, DEL, non-ASCII, lone surrogates) as a ``\\xNN`` / ``\\uNNNN`` escape,
    backslash as ``\\\\``; at most ``limit`` characters (cut ones end in ``...``). None → ``-``."""
    if text is None:
        return '-'
    if not isinstance(text, str):
        text = str(text)
    out = []
    size = 0
    for ch in text:
        o = ord(ch)
        if ch == '\\':
            piece = '\\\\'
        elif 0x20 <= o < 0x7f:
            piece = ch
        elif o < 0x100:
            piece = '\\x%02x' % o
        elif o < 0x10000:
            piece = '\\u%04x' % o
        else:
            piece = '\\U%08x' % o
        if size + len(piece) > limit:
            out.append('...')
            break
        out.append(piece)
        size += len(piece)
    return ''.join(out)


def iso(ts):
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), or ``?``."""
    try:
        return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(float(ts)))
    except (TypeError, ValueError, OverflowError, OSError):
        return '?'


def _list(values, limit=COMMENT_LIST):
    vals = [neutral(v) for v in values]
    if len(vals) > limit:
        return ', '.join(vals[:limit]) + ' (+%d more)' % (len(vals) - limit)
    return ', '.join(vals) if vals else '-'


# --- on the host -----------------------------------------------------------------------------

def new_skipped(since=True):
    skipped = dict((r, 0) for r in HOST_REASONS)
    skipped[au.NOT_PERF] = 0
    if since:
        for r in au.SINCE_REASONS:
            skipped[r] = 0
    return skipped


class Aggregator(object):
    """Denial groups from audit lines (str, :class:`audit.BulkSkip`, :class:`audit.ExeHint`).
    ``feed`` an iterable, then read ``groups()``, ``skipped`` (with ``total``), ``forms`` and
    ``records`` (denial records aggregated). A record is held until the next item, so that the
    ExeHint of its event (right after it) gives it its ``exe``. A record's ``time`` may be given
    by the caller (``feed_record``: the journal's own stamp)."""

    def __init__(self, since=None, include_bpf=False, max_records=100000, max_groups=1000):
        self.since = since
        self.include_bpf = include_bpf
        self.max_records = max_records
        self.max_groups = max_groups
        self.skipped = new_skipped(since is not None)
        self.forms = dict((f, 0) for f in au.FORMS)
        self.records = 0
        self._groups = {}
        self._pending = None

    def feed(self, items):
        for item in items:
            if isinstance(item, au.ExeHint):
                p = self._pending
                if p is not None and p[0]['event'] is not None and p[0]['event'] == item.event:
                    p[0]['exe'] = item.exe
                self._flush()
                continue
            self._flush()
            if isinstance(item, au.BulkSkip):
                self.skipped[item.reason] = self.skipped.get(item.reason, 0) + item.count
                continue
            if isinstance(item, bytes):
                item = item.decode('utf-8', 'replace')
            reason, rec = au.parse_line(item)
            if reason == 'ignored':
                continue
            if reason:
                self.skipped[reason] += 1
                continue
            self.feed_record(rec)
        self._flush()

    def feed_record(self, rec, time_=None):
        """One parsed AVC record (audit.parse_avc); ``time_`` overrides its stamp."""
        self._flush()
        if time_ is not None:
            rec = dict(rec, time=time_)
        if self.since is not None:
            if rec['time'] is None:
                self.skipped['no_time'] += 1
                return
            if rec['time'] < self.since:
                self.skipped['before_since'] += 1
                return
        self.forms[rec['form']] += 1
        if rec['result'] != 'denied':
            self.skipped['granted'] += 1
            return
        allowed = au.allowed_perms(rec['tclass'], self.include_bpf)
        if not allowed:
            self.skipped['class'] += 1
            return
        perms = [p for p in rec['perms'] if p in allowed]
        if not perms:
            self.skipped['perm'] += 1
            return
        self._pending = (rec, perms)

    def _flush(self):
        if self._pending is None:
            return
        rec, perms = self._pending
        self._pending = None
        if self.records >= self.max_records:
            self.skipped['over_cap'] += 1
            return
        comm = bound(rec['comm'], MAX_COMM)
        exe = bound(rec['exe'], MAX_EXE)
        keys = [(rec['stype'], rec['ttype'], rec['tclass'], p, comm, exe) for p in perms]
        new = [k for k in keys if k not in self._groups]
        if new and len(self._groups) + len(new) > self.max_groups:
            self.skipped['over_groups'] += 1
            return
        self.records += 1
        t = rec['time']
        permissive = rec.get('permissive') == '1'
        for k in keys:
            g = self._groups.get(k)
            if g is None:
                g = self._groups[k] = {'count': 0, 'first': None, 'last': None, 'permissive': 0}
            g['count'] += 1
            if permissive:
                g['permissive'] += 1
            if t is not None:
                g['first'] = t if g['first'] is None else min(g['first'], t)
                g['last'] = t if g['last'] is None else max(g['last'], t)

    def groups(self):
        self._flush()
        out = []
        for k in sorted(self._groups, key=lambda k: tuple('' if v is None else v for v in k)):
            g = self._groups[k]
            out.append({'stype': k[0], 'ttype': k[1], 'tclass': k[2], 'perm': k[3], 'comm': k[4], 'exe': k[5],
                        'count': g['count'], 'first': g['first'], 'last': g['last'],
                        'permissive': g['permissive']})
        return out

    def total(self):
        self._flush()
        self.skipped['total'] = sum(v for k, v in self.skipped.items() if k != 'total')
        return self.skipped


# --- installed module ------------------------------------------------------------------------

_CIL_ALLOW_RE = re.compile(r'^\(allow ([^ ()]+) ([^ ()]+) \(([^ ()]+) \(([^()]*)\)\)\)\Z')


def cil_allow_rules(cil_text):
    """The ``allow`` statements of a module's CIL (as the store keeps it) → sorted
    (source, target, class, [perms]), or None when the text is not CIL (semodule.cil_statements
    refuses it)."""
    try:
        statements = sm.cil_statements(cil_text or '')
    except ValueError:
        return None
    acc = {}
    for st in statements:
        m = _CIL_ALLOW_RE.match(st)
        if m:
            acc.setdefault((m.group(1), m.group(2), m.group(3)), set()).update(m.group(4).split(' '))
    return [(k[0], k[1], k[2], sorted(p for p in v if p)) for k, v in sorted(acc.items())]


def _valid_rule(r):
    return (isinstance(r, (list, tuple)) and len(r) == 4 and isinstance(r[0], str) and au.TYPE_RE.match(r[0])
            and isinstance(r[1], str) and (r[1] == 'self' or au.TYPE_RE.match(r[1]))
            and isinstance(r[2], str) and au.PERM_RE.match(r[2]) and isinstance(r[3], (list, tuple)) and r[3]
            and all(isinstance(p, str) and au.PERM_RE.match(p) for p in r[3]))


def _atoms(rules):
    out = set()
    for r in rules:
        for p in r[3]:
            out.add((r[0], r[1], r[2], p))
    return out


def _regroup(atoms):
    acc = {}
    for a in atoms:
        acc.setdefault(a[:3], set()).add(a[3])
    return [(k[0], k[1], k[2], sorted(v)) for k, v in sorted(acc.items())]


# --- on the controller -----------------------------------------------------------------------

def _int(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_COUNT:
        return None
    return value


def _time(value):
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not (0 <= value < 1e11):
        return None
    return float(value)


def _usable(result):
    return (isinstance(result, dict) and result.get('failed') is not True and result.get('skipped') is not True
            and result.get('unreachable') is not True and isinstance(result.get('denials'), list))


def merge(results, allowed_domains, allowed_targets=None, include_bpf=False, comm=None):
    """Every host's perf_denials result ({host: result}) → one rule set. Returns a dict:

    ``rules``: sorted (source, target, class, [perms]); ``evidence``: {(source, target, class):
    {denials, perms: {perm: denials}, hosts, perm_hosts: {perm: hosts}, first, last, comm, exe}};
    ``skipped``: {host:
    {reason: count}} (the host's own reasons plus the merge's: MERGE_REASONS, in denial records
    except ``no_result`` / ``invalid``, which count results and groups); ``hosts``: {host:
    {status, denials, source, msg}}; ``since``: the earliest ``since`` of the hosts;
    ``records``: the denial records of the rules."""
    domains = set(d for d in (allowed_domains or []) if isinstance(d, str) and au.TYPE_RE.match(d))
    targets = set(t for t in (allowed_targets or []) if isinstance(t, str) and au.TYPE_RE.match(t) and t != 'self')
    comms = set(comm or [])
    acc = {}
    skipped = {}
    hosts = {}
    since = None
    for host in sorted(results or {}, key=str):
        res = results[host]
        sk = dict((r, 0) for r in MERGE_REASONS)
        skipped[host] = sk
        info = {'status': 'ok', 'denials': 0, 'source': None, 'msg': None}
        hosts[host] = info
        if not _usable(res):
            sk['no_result'] += 1
            info['status'] = 'no_result'
            if isinstance(res, dict) and isinstance(res.get('msg'), str):
                info['msg'] = bound(res['msg'], 200)
            continue
        info['source'] = res.get('source') if res.get('source') in ('auditd', 'journal', None) else None
        if isinstance(res.get('msg'), str):
            info['msg'] = bound(res['msg'], 200)
        if not res.get('available', True):
            info['status'] = 'no_log'
        t = _time(res.get('since'))
        if t is not None:
            since = t if since is None else min(since, t)
        host_sk = res.get('skipped_reasons')
        for reason, n in host_sk.items() if isinstance(host_sk, dict) else ():
            if reason != 'total' and isinstance(reason, str) and _REASON_RE.match(reason) and _int(n) is not None:
                sk[reason] = sk.get(reason, 0) + n
        for g in res['denials']:
            if not isinstance(g, dict):
                sk['invalid'] += 1
                continue
            stype, ttype, tclass, perm = g.get('stype'), g.get('ttype'), g.get('tclass'), g.get('perm')
            count = _int(g.get('count'))
            gcomm, gexe = g.get('comm'), g.get('exe')
            if (not all(isinstance(v, str) for v in (stype, ttype, tclass, perm)) or not au.TYPE_RE.match(stype)
                    or not au.TYPE_RE.match(ttype) or not au.PERM_RE.match(tclass) or not au.PERM_RE.match(perm)
                    or not count or (gcomm is not None and not isinstance(gcomm, str))
                    or (gexe is not None and not isinstance(gexe, str))):
                sk['invalid'] += 1
                continue
            allowed = au.allowed_perms(tclass, include_bpf)
            if not allowed:
                sk['class'] += count
                continue
            if perm not in allowed:
                sk['perm'] += count
                continue
            if comms and gcomm not in comms:
                sk['comm'] += count
                continue
            if stype not in domains:
                sk['domain'] += count
                continue
            target, perms = au.grant_target({'stype': stype, 'ttype': ttype, 'tclass': tclass}, [perm], targets)
            if not perms:
                sk['target'] += count
                continue
            ev = acc.get((stype, target, tclass))
            if ev is None:
                ev = acc[(stype, target, tclass)] = {'denials': 0, 'perms': {}, 'hosts': set(), 'first': None,
                                                     'last': None, 'comm': set(), 'exe': set(), 'perm_hosts': {}}
            ev['denials'] += count
            ev['perms'][perm] = ev['perms'].get(perm, 0) + count
            ev['hosts'].add(host)
            ev['perm_hosts'].setdefault(perm, set()).add(host)
            for key, fn in (('first', min), ('last', max)):
                v = _time(g.get(key))
                if v is not None:
                    ev[key] = v if ev[key] is None else fn(ev[key], v)
            ev['comm'].add(bound(gcomm, MAX_COMM) if gcomm is not None else None)
            ev['exe'].add(bound(gexe, MAX_EXE) if gexe is not None else None)
            info['denials'] += count
    for sk in skipped.values():
        sk['total'] = sum(v for k, v in sk.items() if k != 'total')
    evidence = {}
    for k, ev in acc.items():
        evidence[k] = {'denials': ev['denials'], 'perms': dict(sorted(ev['perms'].items())),
                       'hosts': sorted(ev['hosts'], key=str),
                       'perm_hosts': dict((p, sorted(h, key=str)) for p, h in sorted(ev['perm_hosts'].items())),
                       'first': ev['first'], 'last': ev['last'],
                       'comm': sorted(ev['comm'], key=lambda v: (v is None, v or '')),
                       'exe': sorted(ev['exe'], key=lambda v: (v is None, v or ''))}
    rules = [(k[0], k[1], k[2], sorted(evidence[k]['perms'])) for k in sorted(evidence)]
    return {'rules': rules, 'evidence': evidence, 'skipped': skipped, 'hosts': hosts, 'since': since,
            'records': sum(ev['denials'] for ev in evidence.values())}


def comment_lines(ev):
    """The comment lines above a rule: its evidence, every host / log string neutralised. A rule
    whose permissions came from different host sets gets one line per permission naming its
    hosts, so a reviewer sees which host asked for which permission."""
    perms = ', '.join('%s %d' % (p, n) for p, n in sorted(ev['perms'].items()))
    lines = ['%d denial%s (%s) on %d host%s: %s' % (ev['denials'], '' if ev['denials'] == 1 else 's', perms,
                                                    len(ev['hosts']), '' if len(ev['hosts']) == 1 else 's',
                                                    _list(ev['hosts']))]
    by_perm = ev.get('perm_hosts') or {}
    if len(ev['perms']) > 1 and any(len(h) != len(ev['hosts']) for h in by_perm.values()):
        for p, n in sorted(ev['perms'].items()):
            h = by_perm.get(p, [])
            lines.append('  %s: %d denial%s on %s' % (p, n, '' if n == 1 else 's', _list(h)))
    lines += ['first seen %s, last seen %s' % (iso(ev['first']), iso(ev['last'])),
              'comm: %s' % _list(ev['comm']),
              'exe: %s' % _list(ev['exe'])]
    # each piece is printable ASCII already (neutral): only the length is bounded here
    return [t if len(t) <= au.COMMENT_MAX else t[:au.COMMENT_MAX - 3] + '...' for t in lines]


def render(name, merged, version='1.0'):
    """The merged .te (audit.render_te) with the evidence above each rule; None without rules."""
    if not merged['rules']:
        return None
    comments = dict((k, comment_lines(ev)) for k, ev in merged['evidence'].items())
    # no time of the run here (nor the window's start): the same denials give the same file
    header = ['Generated by perfsec.selinux.perf_harvest_merge from the perf denials of %d host%s.'
              % (len(merged['hosts']), '' if len(merged['hosts']) == 1 else 's'),
              'Least privilege: only denied perf_event / capability2 permissions of the allowed',
              'domains. Review the evidence above each rule before installing.']
    return au.render_te(name, merged['rules'], version, comments=comments, header=header)


def diff_installed(rules, results):
    """The merged rules against each host's installed module (perf_denials' ``installed``), one
    entry per distinct installed checksum (None: not installed or unreadable): {checksum,
    hosts, installed (rule texts), add (rules the merge grants that it lacks), drop (rules it
    grants that the merge does not)}. Invalid installed rules from a host are ignored."""
    want = _atoms(rules)
    by_sum = {}
    for host in sorted(results or {}, key=str):
        res = results[host]
        if not _usable(res):
            continue
        inst = res.get('installed') if isinstance(res.get('installed'), dict) else None
        csum = inst.get('checksum') if inst else None
        if not (isinstance(csum, str) and re.match(r'^[0-9a-f]{64}\Z', csum)):
            csum = None
        entry = by_sum.get(csum)
        if entry is None:
            have = []
            if inst and isinstance(inst.get('rules'), list):
                have = [(r[0], r[1], r[2], list(r[3])) for r in inst['rules'] if _valid_rule(r)]
            entry = by_sum[csum] = {'checksum': csum, 'hosts': [], 'atoms': _atoms(have)}
        entry['hosts'].append(host)
    out = []
    for csum in sorted(by_sum, key=lambda c: (c is None, c or '')):
        e = by_sum[csum]
        out.append({'checksum': csum, 'hosts': e['hosts'],
                    'installed': [au.rule_text(r) for r in _regroup(e['atoms'])],
                    'add': [au.rule_text(r) for r in _regroup(want - e['atoms'])],
                    'drop': [au.rule_text(r) for r in _regroup(e['atoms'] - want)]})
    return out


def summary(result):
    """The lines the harvest playbook prints: the message, the rules, each host's status, the
    records skipped per host, and the rule counts against each installed module checksum."""
    diff = result.get('installed_diff') or []
    return [
        result.get('msg', ''),
        'rules: %s' % (result.get('rules') or [],),
        'hosts: %s' % ', '.join('%s=%s' % (h, v.get('status')) for h, v in (result.get('hosts') or {}).items()),
        'skipped by host: %s' % ', '.join('%s=%s' % (h, v.get('total'))
                                          for h, v in (result.get('skipped_reasons') or {}).items()),
        'against the installed modules (per checksum): %s rules to add, %s installed rules not in this file '
        '(not denied in this window; installing the file would remove them)'
        % ([len(d.get('add') or []) for d in diff], [len(d.get('drop') or []) for d in diff]),
    ]
