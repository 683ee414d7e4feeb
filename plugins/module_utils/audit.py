# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse kernel AVC denials and turn the perf ones into allow rules.

Only kernel AVC records are read: ``type=AVC msg=audit(...)`` lines as written by auditd /
``ausearch --raw`` (optionally prefixed by ``node=NAME``), and ``audit: type=1400
audit(...)`` lines as printed by the kernel (dmesg, ``journalctl -k -o cat``). USER_AVC and
anything else is skipped and counted, never granted.

Security contract of :func:`generate_rules`: a rule is emitted only for a *denied* record
whose class is ``perf_event`` or ``capability2``, whose permissions are in the allow-list for
that class (capability2: ``perfmon``, plus ``bpf`` only when asked), whose source type is in
``allowed_domains``, and whose target is the denied tcontext type (``self`` when equal to the
source, like audit2allow). Output is sorted, so the same records always give the same module.
Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import binascii
import re

PERF_EVENT_PERMS = frozenset(['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write'])
CAP2_PERMS = frozenset(['perfmon'])
CAP2_BPF = 'bpf'

TYPE_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9_]*$')
PERM_RE = re.compile(r'^[a-z][a-z0-9_]*$')

AVC_RE = re.compile(
    r'^(?:node=\S+ )?'
    r'(?:type=AVC msg=audit\([^()\s]+\)'           # auditd / ausearch --raw
    r'|(?:audit: )?type=1400 audit\([^()\s]+\))'    # kernel printk (dmesg, journalctl -k)
    r'\s?:\s+avc:\s+(denied|granted)\s+\{([^{}]*)\}\s+for\s+(.*)$')
FIELD_RE = re.compile(r'([a-z_]+)=("[^"]*"|\S+)')
SKIP_REASONS = ('unparsable', 'not_avc', 'granted', 'comm', 'class', 'domain', 'perm')


def _untrusted(value):
    """Decode an audit "untrusted string": quoted as-is, or hex-encoded when unquoted."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    if value and len(value) % 2 == 0 and re.match(r'^[0-9A-F]+$', value):
        try:
            return binascii.unhexlify(value).decode('utf-8', 'replace')
        except (binascii.Error, TypeError, ValueError):
            return None
    return value


def context_type(ctx):
    parts = (ctx or '').split(':')
    if len(parts) < 3 or not TYPE_RE.match(parts[2]):
        return None
    return parts[2]


def parse_avc(line):
    """One line → dict(result, perms, comm, stype, ttype, tclass, permissive) or None
    when the line is not a well-formed kernel AVC record. Raises nothing."""
    m = AVC_RE.match(line.strip())
    if not m:
        return None
    perms = m.group(2).split()
    if not perms or not all(PERM_RE.match(p) for p in perms):
        return None
    fields = {}
    rest = m.group(3)
    pos = 0
    for fm in FIELD_RE.finditer(rest):
        if rest[pos:fm.start()].strip():
            return None                     # stray text between fields: not a kernel record
        pos = fm.end()
        key = fm.group(1)
        if key in fields:
            return None                     # duplicated key: forged or mangled
        fields[key] = fm.group(2)
    if rest[pos:].strip():
        return None
    for key in ('scontext', 'tcontext', 'tclass'):
        if key not in fields:
            return None
    stype = context_type(fields['scontext'])
    ttype = context_type(fields['tcontext'])
    tclass = fields['tclass']
    if not stype or not ttype or not PERM_RE.match(tclass):
        return None
    comm = _untrusted(fields['comm']) if 'comm' in fields else None
    return {'result': m.group(1), 'perms': sorted(set(perms)), 'comm': comm,
            'stype': stype, 'ttype': ttype, 'tclass': tclass,
            'permissive': fields.get('permissive')}


def allowed_perms(tclass, include_bpf=False):
    if tclass == 'perf_event':
        return PERF_EVENT_PERMS
    if tclass == 'capability2':
        return CAP2_PERMS | (frozenset([CAP2_BPF]) if include_bpf else frozenset())
    return frozenset()


def generate_rules(text, allowed_domains, comm=None, include_bpf=False):
    """Denials in ``text`` → (rules, skipped) where rules is a sorted list of
    ``(source, target, tclass, [perms])`` (target ``self`` when equal to source) and
    skipped a dict {reason: count, 'total': n}. ``comm``: list of command names to keep
    (empty/None: any); it is a filter, not a trust boundary (comm is chosen by the process).
    ``text`` is a string or an iterable of lines (a large log is streamed, never held whole).
    """
    allowed_domains = set(allowed_domains or [])
    comms = set(comm or [])
    skipped = dict((r, 0) for r in SKIP_REASONS)
    acc = {}
    lines = (text or '').splitlines() if isinstance(text, str) else (text or [])
    for line in lines:
        s = line.strip()
        if not s or s == '----' or s.startswith('time->'):
            continue
        # AVC_RE needs "avc:": most lines of a real log are other records, skip the full parse
        rec = parse_avc(s) if 'avc:' in s else None
        if rec is None:
            if re.match(r'^(?:node=\S+ )?type=', s) and not re.match(r'^(?:node=\S+ )?type=AVC ', s):
                skipped['not_avc'] += 1
            elif re.match(r'^(?:audit: )?type=\d+ audit\(', s) and ' type=1400 ' not in ' ' + s:
                skipped['not_avc'] += 1
            else:
                skipped['unparsable'] += 1
            continue
        if rec['result'] != 'denied':
            skipped['granted'] += 1
            continue
        if comms and rec['comm'] not in comms:
            skipped['comm'] += 1
            continue
        allowed = allowed_perms(rec['tclass'], include_bpf)
        if not allowed:
            skipped['class'] += 1
            continue
        if rec['stype'] not in allowed_domains:
            skipped['domain'] += 1
            continue
        perms = [p for p in rec['perms'] if p in allowed]
        if not perms:
            skipped['perm'] += 1
            continue
        target = 'self' if rec['ttype'] == rec['stype'] else rec['ttype']
        acc.setdefault((rec['stype'], target, rec['tclass']), set()).update(perms)
    rules = [(k[0], k[1], k[2], sorted(v)) for k, v in sorted(acc.items())]
    skipped['total'] = sum(skipped[r] for r in SKIP_REASONS)
    return rules, skipped


def rule_text(rule):
    src, tgt, tclass, perms = rule
    p = perms[0] if len(perms) == 1 else '{ %s }' % ' '.join(perms)
    return 'allow %s %s:%s %s;' % (src, tgt, tclass, p)


def render_te(name, rules, version='1.0'):
    """A .te for the rules (audit2allow's layout, sorted)."""
    types = set()
    classes = {}
    for src, tgt, tclass, perms in rules:
        types.add(src)
        if tgt != 'self':
            types.add(tgt)
        classes.setdefault(tclass, set()).update(perms)
    lines = ['', 'module %s %s;' % (name, version), '', 'require {']
    for t in sorted(types):
        lines.append('\ttype %s;' % t)
    for c in sorted(classes):
        perms = sorted(classes[c])
        lines.append('\tclass %s %s;' % (c, perms[0] if len(perms) == 1 else '{ %s }' % ' '.join(perms)))
    lines.append('}')
    by_src = {}
    for r in rules:
        by_src.setdefault(r[0], []).append(r)
    for src in sorted(by_src):
        lines += ['', '#============= %s ==============' % src]
        lines += [rule_text(r) for r in by_src[src]]
    return '\n'.join(lines) + '\n'


AUDIT2ALLOW_RULE_RE = re.compile(r'^allow\s+(\S+)\s+(\S+?):(\S+)\s+(?:\{([^}]*)\}|(\S+));\s*$')


def parse_allow_rules(te_text):
    """``allow`` lines of a .te / audit2allow output → sorted (src, tgt, class, [perms])."""
    acc = {}
    for line in (te_text or '').splitlines():
        m = AUDIT2ALLOW_RULE_RE.match(line.strip())
        if not m:
            continue
        perms = (m.group(4) or m.group(5) or '').split()
        acc.setdefault((m.group(1), m.group(2), m.group(3)), set()).update(perms)
    return [(k[0], k[1], k[2], sorted(v)) for k, v in sorted(acc.items())]
