# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective-access verdict: who can use perf_event_open() on a host, and which gate decides.

``verdicts(facts)`` is a pure function of perf_mac_facts' facts (unit-tested row by row in
tests/unit/plugins/module_utils/test_access.py). It walks the kernel's own order of checks
for four uses of perf (README, "Who can use perf"):

* ``open``: any event on one's own processes in user space (``perf stat ./prog``);
* ``cpu``: CPU-wide events (``perf stat -a``, ``perf record -a``);
* ``kernel``: kernel profiling (events without ``exclude_kernel``);
* ``tracepoint``: raw and ftrace tracepoints (``perf record -e sched:*``, ``perf trace``).

The gates, in the order perf_event_open() meets them (kernel/events/core.c, Linux 5.8+):

1. ``hook``: without the perf_event LSM hook (``selinux_perf_event_open``, Linux 5.5, RHEL 8
   backport) SELinux is never asked; only the gates below decide.
2. ``paranoid`` (distro patch): Debian's CONFIG_SECURITY_PERF_EVENTS_RESTRICT patch (carried by
   Ubuntu) refuses every perf_event_open() without CAP_SYS_ADMIN at ``perf_event_paranoid`` >= 3
   ``if (perf_paranoid_any() && !capable(CAP_SYS_ADMIN)) return -EACCES;`` *before* the LSM hook,
   so SELinux logs no perf_event AVC and CAP_PERFMON does not help (the selinux-testsuite sets 2
   on Debian for that reason). Ubuntu's kernels default to 4 (the same check; some Ubuntu
   versions of the patch only test >= 4, see ``restrict_level``).
3. ``selinux`` ``open``: security_perf_event_open(PERF_SECURITY_OPEN).
4. ``paranoid`` (upstream): ``kernel`` needs paranoid <= 1, ``cpu`` <= 0, ``tracepoint`` <= -1,
   unless the process is perfmon_capable() (CAP_PERFMON, or CAP_SYS_ADMIN; CAP_SYS_ADMIN only on
   kernels before 5.8). perfmon_capable() is itself an LSM capability check (SELinux
   ``capability2 perfmon``). Only then SELinux checks ``kernel``/``cpu``/``tracepoint``: the
   paranoid check of kernel and CPU events runs before the SELinux one.
5. ``lockdown``: in ``confidentiality`` mode LOCKDOWN_PERF refuses PERF_SAMPLE_REGS_INTR to
   everybody, root included, and tracefs (tracepoint names and ids) and kprobes are locked: the
   ``tracepoint`` use is counted as refused. ``integrity`` does not touch perf.

SELinux itself: disabled or permissive lets everything through (permissive logs the AVCs);
a policy without class perf_event lets it through when it allows unknown classes
(handle_unknown allow) and refuses everybody when it denies them; a policy with the class needs
an allow rule for the process's domain. Unconfined domains get the class from the policy
that defines it (Fedora >= 34, EL, refpolicy); where the class comes from perfsec's rebuild or
class module, the policy has no rule for anybody and only local modules grant it.

The distro variant of paranoid (``paranoid_variant``) is read, in this order, from: the kernel
config (/proc/config.gz or /boot/config-RELEASE: the CONFIG_SECURITY_PERF_EVENTS_RESTRICT symbol
exists only with the patch, set or not), the kernel build string /proc/sys/kernel/version
("Debian" / "Ubuntu"), a running value above 2 that no sysctl file sets (only the patch's
built-in default is above 2), the kernel release's flavour suffix (Debian "-amd64",
"-cloud-amd64"...; Ubuntu "-generic", "-aws"...). Upstream kernels accept any integer, so a
value above 2 alone proves nothing: there it means 2.

Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import re

from ansible_collections.perfsec.selinux.plugins.module_utils.common import PROC_ROOT, read_sysctl, read_text
from ansible_collections.perfsec.selinux.plugins.module_utils.sysctl import kernel_config_text

VERDICTS = ('allowed', 'partial', 'blocked')
GATES = ('hook', 'paranoid', 'capability', 'selinux', 'lockdown')
USES = ('open', 'cpu', 'kernel', 'tracepoint')
USE_WORDS = {'open': 'own processes in user space', 'cpu': 'CPU-wide events',
             'kernel': 'kernel profiling', 'tracepoint': 'tracepoints'}
# the upstream paranoid level above which a use needs perfmon_capable()
PARANOID_ABOVE = {'kernel': 1, 'cpu': 0, 'tracepoint': -1}
ROOT, PERF_USERS, OTHER = 'root', 'perf_users', 'other'
UNCONFINED = 'unconfined_t'
LOCKDOWN_PATH = '/sys/kernel/security/lockdown'
_DEBIAN_FLAVOUR = re.compile(r'^\d+\.\d+\.\d+-\d+-(cloud-|rt-)?(amd64|arm64|armmp|armmp-lpae|686|686-pae|'
                             r'powerpc64le|s390x|loong64|mips64r2el|riscv64)$')
_UBUNTU_FLAVOUR = re.compile(r'^\d+\.\d+\.\d+-\d+-(generic|lowlatency|aws|azure|gcp|gke|kvm|oracle|'
                             r'raspi|ibm|nvidia|realtime)(-64k)?$')
_RESTRICT_SYMBOL = re.compile(r'^(# )?CONFIG_SECURITY_PERF_EVENTS_RESTRICT[= ]', re.M)
_CIL_ALLOW = re.compile(r'^\(allow\s+(\S+)\s+(\S+)\s+\((perf_event|capability2)\s+\(([^()]*)\)\)\)')


# --- readers' pure halves ---------------------------------------------------------------------

def parse_lockdown(text):
    """'none' | 'integrity' | 'confidentiality' from securityfs' lockdown file, or None."""
    m = re.search(r'\[(\w+)\]', text or '')
    return m.group(1) if m else None


def paranoid_variant(config_text, version, release, runtime, state=None):
    """Which meaning perf_event_paranoid has on this kernel: {variant, source, evidence}.

    variant: ``debian`` (levels >= 3 refuse without CAP_SYS_ADMIN), ``ubuntu`` (the same patch;
    the distro default is 4), ``upstream`` (-1..2; higher values act as 2).
    """
    version = version or ''
    ubuntu = 'Ubuntu' in version or bool(_UBUNTU_FLAVOUR.match(release or ''))
    if config_text and _RESTRICT_SYMBOL.search(config_text):
        return {'variant': 'ubuntu' if ubuntu else 'debian', 'source': 'config',
                'evidence': 'the kernel config has CONFIG_SECURITY_PERF_EVENTS_RESTRICT (the Debian patch)'}
    if 'Ubuntu' in version:
        return {'variant': 'ubuntu', 'source': 'version', 'evidence': 'Ubuntu kernel build (%s)' % version}
    if 'Debian' in version:
        return {'variant': 'debian', 'source': 'version', 'evidence': 'Debian kernel build (%s)' % version}
    if runtime is not None and runtime > 2 and state == 'runtime_only':
        return {'variant': 'ubuntu' if runtime >= 4 else 'debian', 'source': 'default',
                'evidence': 'the kernel runs perf_event_paranoid=%d and no sysctl file sets it: only the '
                            'restrict patch has a built-in default above 2' % runtime}
    if config_text:
        return {'variant': 'upstream', 'source': 'config',
                'evidence': 'the kernel config has no CONFIG_SECURITY_PERF_EVENTS_RESTRICT'}
    if _DEBIAN_FLAVOUR.match(release or ''):
        return {'variant': 'debian', 'source': 'release', 'evidence': 'Debian kernel release %s' % release}
    if ubuntu:
        return {'variant': 'ubuntu', 'source': 'release', 'evidence': 'Ubuntu kernel release %s' % release}
    return {'variant': 'upstream', 'source': 'none',
            'evidence': 'no kernel config and no distro build string: the upstream meaning is assumed'}


def restrict_level(variant):
    """The paranoid level from which the distro patch refuses without CAP_SYS_ADMIN, or None."""
    return 3 if variant in ('debian', 'ubuntu') else None


def perf_rules(cil_text):
    """perf_event and capability2 perfmon allow rules of a module's CIL:
    [{source, target, class, perms}] (what SELinux would grant a domain)."""
    out = []
    for line in (cil_text or '').split('\n'):
        m = _CIL_ALLOW.match(line.strip())
        if not m:
            continue
        perms = sorted(set(m.group(4).split()))
        if m.group(3) == 'capability2':
            perms = [p for p in perms if p == 'perfmon']
            if not perms:
                continue
        out.append({'source': m.group(1), 'target': m.group(2), 'class': m.group(3), 'perms': perms})
    return out


def file_caps(text):
    """The capabilities a file grants in its effective set, from getcap's text
    ('cap_perfmon,cap_syslog=ep'): a set of names without 'cap_'; None when unknown."""
    if text is None:
        return None
    caps = set()
    for clause in text.split():
        m = re.match(r'^([a-z_,]+)[=+]([eip]*)$', clause.strip())
        if m and 'e' in m.group(2) and 'p' in m.group(2):
            caps.update(c[4:] for c in m.group(1).split(',') if c.startswith('cap_'))
    return caps


# --- the verdict ------------------------------------------------------------------------------

class _Host(object):
    """The facts the gates read, with defaults for what a host did not say."""

    def __init__(self, facts):
        k = facts.get('kernel') or {}
        s = facts.get('selinux') or {}
        self.hook = k.get('perf_event_hook')
        self.release = k.get('release') or 'unknown'
        self.cap_perfmon = bool(k.get('cap_perfmon'))
        p = k.get('perf_event_paranoid')
        self.paranoid_known = p is not None
        self.paranoid = 2 if p is None else p
        self.variant = (k.get('paranoid_variant') or {}).get('variant') or 'upstream'
        self.lockdown = k.get('lockdown')
        self.selinux = bool(s.get('enabled'))
        self.mode = s.get('mode')
        self.klass = bool(s.get('perf_event_class'))
        self.perfmon = bool(s.get('perfmon'))
        self.deny_unknown = bool(s.get('deny_unknown'))
        mods = [m for m in facts.get('modules') or [] if m.get('enabled') is not False]
        self.disabled = sorted(m['name'] for m in facts.get('modules') or [] if m.get('enabled') is False)
        self.grants = {}
        self.granted_by = {}
        for m in mods:
            for r in m.get('perf_rules') or []:
                if r['target'] not in ('self', r['source']):
                    continue    # open/cpu/kernel/tracepoint and capabilities are checked domain to itself
                key = (r['source'], r['class'])
                self.grants.setdefault(key, set()).update(r['perms'])
                self.granted_by.setdefault(r['source'], set()).add(m['name'])
        rec = facts.get('policy_packages') or {}
        names = set(m.get('name') for m in facts.get('modules') or [])
        cm = (facts.get('class_module') or {}).get('name', 'perfsec_perf_event')
        # the class from perfsec's rebuild or class module comes without any allow rule
        self.base_rules = not (rec.get('current') or cm in names)
        self.class_note = ('class perf_event comes from module %s (no allow rules of its own)' % cm if cm in names else
                           'class perf_event comes from perfsec\'s rebuilt packages (no allow rules for it)'
                           if rec.get('current') else None)

    def paranoid_words(self):
        if not self.paranoid_known:
            return 'perf_event_paranoid (unreadable, taken as 2)'
        return 'perf_event_paranoid %d (%s)' % (self.paranoid, self.variant)


def _selinux(h, domain, perm, klass='perf_event'):
    """(ok, why) of SELinux's check of ``klass perm`` for ``domain`` to itself."""
    if not h.selinux:
        return True, 'SELinux is not enabled'
    if klass == 'perf_event':
        defined = h.klass
    else:
        defined = h.perfmon
    what = 'class perf_event' if klass == 'perf_event' else 'capability2 perfmon'
    if h.mode == 'permissive':
        return True, 'SELinux is permissive (denials are only logged)'
    if not defined:
        if h.deny_unknown:
            return False, 'the policy lacks %s and denies unknown permissions' % what
        return True, 'the policy lacks %s and allows unknown permissions' % what
    if domain == UNCONFINED and h.base_rules:
        return True, 'the policy grants unconfined domains %s' % what
    if perm in h.grants.get((domain, klass), set()):
        names = ', '.join(sorted(h.granted_by.get(domain, [])))
        return True, 'module %s grants %s %s { %s }' % (names, domain, klass, perm)
    why = 'no enabled module grants %s %s { %s }' % (domain, klass, perm)
    if domain == UNCONFINED and h.class_note:
        why = '%s, and %s' % (h.class_note, why)
    return False, why


def _uses(h, domain, caps):
    """{use: (ok, gate, why)} in the kernel's order for a process in ``domain`` with ``caps``."""
    sys_admin = 'sys_admin' in caps
    out = {}
    restrict = restrict_level(h.variant)
    if restrict is not None and h.paranoid >= restrict and not sys_admin:
        why = ('%s refuses perf_event_open() without CAP_SYS_ADMIN before SELinux is asked (no AVC)'
               % h.paranoid_words())
        return dict((u, (False, 'paranoid', why)) for u in USES)
    hook = h.hook is not False
    if hook:
        ok, why = _selinux(h, domain, 'open')
        if not ok:
            return dict((u, (False, 'selinux', why)) for u in USES)
    # perfmon_capable(): CAP_PERFMON (Linux >= 5.8) or CAP_SYS_ADMIN, each an LSM capability check
    capable, cap_gate, cap_why = sys_admin, 'capability', 'CAP_SYS_ADMIN'
    if not capable and 'perfmon' in caps and h.cap_perfmon:
        ok, why = _selinux(h, domain, 'perfmon', 'capability2') if hook else (True, '')
        capable, cap_why = ok, 'CAP_PERFMON'
        if not ok:
            cap_gate, cap_why = 'selinux', 'CAP_PERFMON is refused: %s' % why
    for use in ('kernel', 'cpu', 'tracepoint'):
        if h.paranoid > PARANOID_ABOVE[use] and not capable:
            if cap_gate == 'selinux':
                out[use] = (False, 'selinux', cap_why)
            else:
                why = '%s refuses %s without CAP_PERFMON' % (h.paranoid_words(), USE_WORDS[use])
                out[use] = (False, 'paranoid', why)
            continue
        if hook:
            ok, why = _selinux(h, domain, use)
            if not ok:
                out[use] = (False, 'selinux', why)
                continue
        out[use] = (True, None, None)
    if h.lockdown == 'confidentiality':
        out['tracepoint'] = (False, 'lockdown', 'lockdown=confidentiality locks tracefs, kprobes and '
                                                'interrupt-register sampling for everybody')
    out['open'] = (True, None, None)
    return out


def _grant_gate(h, domain, caps, confined):
    """(gate, words) for a row whose uses all pass."""
    if h.hook is False:
        se = 'SELinux cannot mediate perf_event_open() on kernel %s (no perf_event LSM hook)' % h.release
    else:
        se = _selinux(h, domain, 'kernel')[1]
    if confined:
        return ('hook' if h.hook is False else 'selinux'), se
    if 'sys_admin' in caps:
        return 'capability', 'CAP_SYS_ADMIN passes perf_event_paranoid and %s' % se
    if 'perfmon' in caps:
        return 'capability', 'CAP_PERFMON on the privileged perf copy passes perf_event_paranoid and %s' % se
    return 'paranoid', '%s lets unprivileged users use perf and %s' % (h.paranoid_words(), se)


def _row(h, who, label, domain, caps, confined=False, note=None):
    uses = _uses(h, domain, caps)
    ok = [u for u in USES if uses[u][0]]
    refused = [u for u in USES if not uses[u][0]]
    if not ok:
        verdict = 'blocked'
    elif refused:
        verdict = 'partial'
    else:
        verdict = 'allowed'
    if verdict == 'allowed':
        gate, why = _grant_gate(h, domain, caps, confined)
        reason = '%s can use perf fully: %s.' % (label, why)
    elif verdict == 'blocked':
        gate, why = uses['open'][1], uses['open'][2]
        if h.hook is False and confined:
            gate = 'hook'
            why = 'SELinux cannot mediate here (no perf_event LSM hook), so %s is treated like any user: %s' % (
                domain, why)
        reason = '%s cannot use perf: %s.' % (label, why)
    else:
        first = refused[0]
        gate, why = uses[first][1], uses[first][2]
        if h.hook is False and confined:
            gate = 'hook'
            why = 'SELinux cannot mediate here (no perf_event LSM hook), so %s is treated like any user: %s' % (
                domain, why)
        reason = '%s can use perf for %s, not for %s: %s.' % (
            label, ', '.join(USE_WORDS[u] for u in ok), ', '.join(USE_WORDS[u] for u in refused), why)
    if note:
        reason = reason[:-1] + ' (%s).' % note
        why = '%s (%s)' % (why, note)
    return {'who': who, 'verdict': verdict, 'gate': gate, 'reason': reason, 'why': why,
            'uses': dict((u, uses[u][0]) for u in USES)}


def confined_domains(facts, expected=None):
    """The confined domains worth a row: granted perf_event by a local module, asking for it in
    recent denials, or named in the operator's expected_access."""
    doms = set()
    for m in facts.get('modules') or []:
        for r in m.get('perf_rules') or []:
            if r['class'] == 'perf_event':
                doms.add(r['source'])
    for g in (facts.get('denials') or {}).get('groups') or []:
        if g.get('tclass') == 'perf_event':
            doms.add(g['stype'])
    for k in expected or {}:
        if k not in (ROOT, PERF_USERS, OTHER):
            doms.add(k)
    doms.discard(UNCONFINED)
    return sorted(d for d in doms if re.match(r'^[A-Za-z0-9_]+$', d))


def verdicts(facts, expected=None):
    """[{who, verdict, gate, reason, why, uses}] for root, the perf_users group, each confined domain
    that matters, and any other user, in that order."""
    h = _Host(facts)
    rows = [_row(h, ROOT, 'root (uid 0, CAP_SYS_ADMIN, unconfined)', UNCONFINED, set(['sys_admin', 'perfmon']))]
    pu = facts.get('perf_users') or {}
    caps = file_caps(pu.get('capabilities')) if pu.get('binary') else set()
    if pu.get('binary'):
        note = None
        if caps is None:
            caps, note = set(), 'getcap is missing: the copy\'s capabilities are unknown and taken as none'
        elif 'perfmon' in caps and not h.cap_perfmon and 'sys_admin' not in caps:
            note = 'the kernel has no CAP_PERFMON (before 5.8): cap_perfmon on the copy does nothing'
        rows.append(_row(h, PERF_USERS, 'perf_users members (%s, %s)' % (
            pu['binary'], pu.get('capabilities') or 'no file capabilities'), UNCONFINED, caps, note=note))
    else:
        where = pu.get('dir') or 'the perf_users dir'
        rows.append(_row(h, PERF_USERS, 'perf_users members', UNCONFINED, set(),
                         note='no privileged perf copy in %s: they are like any other user' % where))
    for dom in confined_domains(facts, expected):
        rows.append(_row(h, dom, 'confined domain %s' % dom, dom, set(), confined=True))
    rows.append(_row(h, OTHER, 'any other user (unprivileged, unconfined)', UNCONFINED, set()))
    return rows


def evaluate(facts, expected=None):
    """perf_mac_facts' ``access`` fact: {rows, expected, mismatches, who_can, only_root, summary}.

    ``expected`` maps a row's ``who`` to allowed|blocked|partial; a row that differs (or a name
    without a row) is a mismatch, also set on the row as ``expected``/``mismatch``.
    """
    expected = dict(expected or {})
    rows = verdicts(facts, expected)
    mismatches = []
    by_who = dict((r['who'], r) for r in rows)
    for who in sorted(expected):
        want = expected[who]
        row = by_who.get(who)
        if row is None:
            mismatches.append({'who': who, 'expected': want, 'verdict': None})
            continue
        row['expected'] = want
        row['mismatch'] = row['verdict'] != want
        if row['mismatch']:
            mismatches.append({'who': who, 'expected': want, 'verdict': row['verdict']})
    who_can = [r['who'] for r in rows if r['verdict'] != 'blocked']
    only_root = who_can == [ROOT]
    return {'rows': rows, 'expected': expected, 'mismatches': mismatches, 'who_can': who_can,
            'only_root': only_root, 'summary': summary(rows)}


def paranoid_gate(facts):
    """Whether the distro paranoid patch (gate 2) refuses every process without CAP_SYS_ADMIN on
    this host right now, before SELinux is asked: {blocks, level, variant, restrict_level,
    reason}. ``blocks`` is false where the level is unreadable or the kernel has the upstream
    meaning. A probe as an unprivileged user collects no perf_event denial while it blocks."""
    h = _Host(facts)
    at = restrict_level(h.variant)
    blocks = bool(h.paranoid_known and at is not None and h.paranoid >= at)
    evidence = ((facts.get('kernel') or {}).get('paranoid_variant') or {}).get('evidence') or ''
    if blocks:
        reason = ('kernel.perf_event_paranoid is %d on this %s kernel (%s): at %d and above its patch '
                  'refuses perf_event_open() to every process without CAP_SYS_ADMIN, before SELinux is '
                  'asked, so an unprivileged user gets EACCES and no perf_event AVC is logged'
                  % (h.paranoid, h.variant.capitalize(), evidence, at))
    elif not h.paranoid_known:
        reason = 'kernel.perf_event_paranoid is unreadable'
    else:
        reason = 'kernel.perf_event_paranoid %d does not refuse before SELinux (%s)' % (h.paranoid, h.variant)
    return {'blocks': blocks, 'level': h.paranoid if h.paranoid_known else None, 'variant': h.variant,
            'restrict_level': at, 'reason': reason}


def read_paranoid_gate(proc_root=PROC_ROOT, root='/'):
    """:func:`paranoid_gate` of the running kernel, read from proc_root (for perf_paranoid, which
    has no perf_mac_facts facts at hand)."""
    release = read_text(os.path.join(proc_root, 'sys/kernel/osrelease'))
    version = read_text(os.path.join(proc_root, 'sys/kernel/version'))
    level = read_sysctl('kernel.perf_event_paranoid', proc_root)
    variant = paranoid_variant(kernel_config_text(proc_root, root, release), version, release, level)
    return paranoid_gate({'kernel': {'perf_event_paranoid': level, 'paranoid_variant': variant}})


def summary(rows):
    """One line in words: who can use perf here."""
    parts = []
    for r in rows:
        if r['verdict'] != 'blocked':
            parts.append('%s%s' % (r['who'], '' if r['verdict'] == 'allowed' else ' (partly)'))
    if not parts:
        return 'nobody can use perf'
    if parts == [ROOT]:
        return 'only root can use perf'
    return '%s can use perf' % ', '.join(parts)


def validate_expected(expected):
    """Error strings for an expected_access dict (values allowed|blocked|partial)."""
    errors = []
    for who, want in sorted((expected or {}).items()):
        if want not in VERDICTS:
            errors.append('expected_access[%s] is %r: use allowed, partial or blocked' % (who, want))
    return errors
