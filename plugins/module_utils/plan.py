# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One plan per host: what the perf_event_open() MAC rollout must do on it, and why.

``decide(host, want)`` is the only place where the rollout's decisions are made (README,
"Decision rules"); it is a pure function of what was read from the host, so the unit tests
check it row by row. The readers below (kernel hook, CAP_PERFMON, the policy installed on
disk, the perf module in the store) feed it; perfsec.selinux.perf_mac_facts calls them all in
one round trip and returns the plan under ansible_facts.perfsec.plan. Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import bz2
import os
import re

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    kernel_version, read_int,
)

# The steps a host may need, in the order the plays carry them out.
# (With probe_permissive, module comes before final_mode: see _probe_permissive.)
STEPS = ('policy_build', 'policy_install', 'class_module', 'selinux_enable', 'permissive', 'relabel',
         'paranoid', 'audit_rule', 'final_mode', 'module')
# steps decided outside this file and passed in host['extra_steps'] {step: reason or None}:
# 'paranoid' (module_utils/compliance.profile_step), 'audit_rule' (module_utils/auditrules.plan_reason)
EXTRA_STEPS = ('paranoid', 'audit_rule')
HOOK_SYMBOL = b'selinux_perf_event_open'
HOOK_SINCE = (5, 5)        # the perf_event LSM hook (security_perf_event_open) came in Linux 5.5
CAP_PERFMON = 38           # CAP_PERFMON is capability 38 (Linux 5.8)
CAP_PERFMON_SINCE = (5, 8)
BUILD_CHOICES = ('auto', 'always', 'never')
RELABEL_CHOICES = ('auto', 'always', 'never')
FINAL_MODES = ('enforcing', 'permissive')
MODULE_STATES = ('present', 'absent', 'enabled', 'disabled')
# Where class perf_event comes from when the policy lacks it: the seed's rebuild of the policy
# packages, or a CIL module that declares it (no rebuild, no package replaced, no reboot; a
# module cannot add perfmon to capability2, which stays unmediated where unknown permissions
# are allowed).
CLASS_SOURCES = ('rebuild', 'module')
PERF_EVENT_PERMS = C.PERF_EVENT_PERMS
CLASS_MODULE_NAME = 'perfsec_perf_event'
CLASS_MODULE_PRIORITY = 250
CLASS_MODULE_CIL = ('; perfsec.selinux: class perf_event for a policy that lacks it (perfsec_class_source=module)\n'
                    '(class perf_event (%s))\n(classorder (unordered perf_event))\n' % ' '.join(PERF_EVENT_PERMS))
_CIL_CLASS = re.compile(r'^\((class|common)\s+(\S+)\s+\(([^()]*)\)\s*\)')
_CIL_CLASSCOMMON = re.compile(r'^\(classcommon\s+(\S+)\s+(\S+)\s*\)')
_CIL_HANDLE = re.compile(r'^\(handleunknown\s+(\w+)\s*\)')
_CIL_MLS = re.compile(r'^\(mls\s+(\w+)\s*\)')


# --- readers -------------------------------------------------------------------------------

def _find_in_stream(f, needle, block=1 << 20):
    """Whether ``needle`` followed by a newline stands as a whole word in a binary stream."""
    word = b' ' + needle + b'\n'
    tail = b''
    while True:
        chunk = f.read(block)
        if not chunk:
            return False
        data = tail + chunk
        if word in data:
            return True
        tail = data[-len(word):]


def kernel_hook(proc_root='/proc'):
    """Whether the running kernel has SELinux's perf_event hook.

    Read from the kernel itself: the symbol ``selinux_perf_event_open`` in /proc/kallsyms
    (RHEL 8 backports the hook to 4.18, so the version alone misleads). Only when kallsyms
    cannot be read (or is empty) the version (>= 5.5) decides. Returns {present, source}.
    """
    try:
        with open(os.path.join(proc_root, 'kallsyms'), 'rb') as f:
            first = f.read(1)
            if first:
                f.seek(0)
                return {'present': _find_in_stream(f, HOOK_SYMBOL), 'source': 'kallsyms'}
    except (IOError, OSError):
        pass
    ver = kernel_version(proc_root)
    if ver is None:
        return {'present': None, 'source': 'unknown'}
    return {'present': ver >= HOOK_SINCE, 'source': 'version'}


def cap_perfmon(proc_root='/proc'):
    """Whether the kernel knows CAP_PERFMON: cap_last_cap >= 38, else the version (>= 5.8)."""
    last = read_int(os.path.join(proc_root, 'sys/kernel/cap_last_cap'))
    if last is not None:
        return last >= CAP_PERFMON
    ver = kernel_version(proc_root)
    return bool(ver and ver >= CAP_PERFMON_SINCE)


def parse_base_cil(text):
    """Class perf_event, capability2 perfmon, handleunknown and mls of a base module's CIL."""
    classes, commons, classcommon = {}, {}, {}
    handle = mls = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('('):
            continue
        m = _CIL_CLASS.match(line)
        if m:
            (classes if m.group(1) == 'class' else commons)[m.group(2)] = m.group(3).split()
            continue
        m = _CIL_CLASSCOMMON.match(line)
        if m:
            classcommon[m.group(1)] = m.group(2)
            continue
        m = _CIL_HANDLE.match(line)
        if m:
            handle = m.group(1)
            continue
        m = _CIL_MLS.match(line)
        if m:
            mls = m.group(1) == 'true'
    cap2 = list(classes.get('capability2', [])) + list(commons.get(classcommon.get('capability2'), []))
    return {'perf_event_class': 'perf_event' in classes, 'perfmon': 'perfmon' in cap2,
            'deny_unknown': None if handle is None else handle in ('deny', 'reject'),
            'reject_unknown': None if handle is None else handle == 'reject', 'mls': mls}


def installed_policy(root='/', policy_type=None):
    """The policy installed on disk (what the next boot loads), read from the module store's
    base module (CIL, bzip2-compressed or not). Used when no policy is loaded."""
    out = {'source': None, 'path': None, 'perf_event_class': None, 'perfmon': None,
           'deny_unknown': None, 'reject_unknown': None, 'mls': None, 'error': None}
    if not policy_type:
        out['error'] = 'no SELINUXTYPE in /etc/selinux/config'
        return out
    store = os.path.join(root, 'var/lib/selinux', policy_type, 'active/modules')
    cands = []
    try:
        for prio in os.listdir(store):
            path = os.path.join(store, prio, 'base', 'cil')
            if prio.isdigit() and os.path.isfile(path):
                cands.append((int(prio), path))
    except OSError as e:
        out['error'] = 'cannot read the module store %s: %s' % (store, e.strerror or e)
        return out
    if not cands:
        out['error'] = 'no base module in %s' % store
        return out
    path = sorted(cands)[-1][1]
    try:
        with open(path, 'rb') as f:
            data = f.read()
        if data[:3] == b'BZh':
            data = bz2.decompress(data)
        text = data.decode('utf-8', 'replace')
    except (IOError, OSError, ValueError) as e:
        out['error'] = 'cannot read %s: %s' % (path, e)
        return out
    out.update(parse_base_cil(text))
    out['source'] = 'store'
    out['path'] = path[len(root.rstrip('/')):] if root not in ('', '/') else path
    return out


# --- the decision table --------------------------------------------------------------------

def _policy_view(host):
    """Which policy the decision reads: the loaded one, else the one installed on disk."""
    se = host['selinux']
    if se.get('enabled'):
        return dict(source='loaded', perf_event_class=se.get('perf_event_class'),
                    perfmon=se.get('perfmon'), deny_unknown=se.get('deny_unknown'),
                    reject_unknown=se.get('reject_unknown'), mls=se.get('mls'))
    disk = host.get('installed_policy') or {}
    cm = host.get('class_module') or {}
    cls = disk.get('perf_event_class')
    if cls is False and cm.get('installed') and cm.get('enabled') is not False:
        cls = True
    return dict(source='installed' if disk.get('source') else 'unknown',
                perf_event_class=cls, perfmon=disk.get('perfmon'),
                deny_unknown=disk.get('deny_unknown'), reject_unknown=disk.get('reject_unknown'),
                mls=disk.get('mls'), error=disk.get('error'))


def _class_module_reason(host, want, policy, name):
    """Why the class module needs work on the module route (None when it is as wanted)."""
    cm = host.get('class_module') or {}
    where = '%s@%d' % (cm.get('name') or CLASS_MODULE_NAME, cm.get('priority') or CLASS_MODULE_PRIORITY)
    if cm.get('installed'):
        if cm.get('enabled') is False:
            return '%s (class perf_event) is installed but disabled' % where
        if cm.get('checksum') and cm.get('desired_checksum') and cm['checksum'] != cm['desired_checksum']:
            return '%s differs from the class module of this version' % where
        return None
    if policy['perf_event_class'] is False:
        return ('the %s lacks class perf_event: declare it with the CIL module %s (perfsec_class_source=module: '
                'no rebuild, no package replaced, no reboot)' % (name, where))
    return None


def _rebuild_gone(host, policy):
    """A note when a rebuild of ours was installed and the policy no longer has the class."""
    rec = host.get('policy_record') or {}
    if policy['perf_event_class'] is False and rec.get('installed'):
        return ('class perf_event is gone although perfsec installed %s (%s): the policy packages were '
                'replaced, e.g. by a distro update; rebuilding' % (', '.join(rec['installed']), rec.get('path')))
    return None


def _replaced_reason(host, want):
    """Why to rebuild although the policy has the class: the rebuilt packages of our record are
    no longer installed (an update replaced them; the store may still hold our old base because
    the update's own policy build failed)."""
    rec = host.get('policy_record') or {}
    if want.get('class_source', 'rebuild') == 'rebuild' and rec.get('installed') and rec.get('current') is False:
        return ('the rebuilt packages perfsec installed (%s) are no longer installed: a package update replaced '
                'them' % ', '.join(rec['installed']))
    return None


def _build_reason(host, want, policy):
    """(reason to rebuild or None, note or None)."""
    name = '%s policy (%s)' % (policy['source'], host['selinux'].get('policy_type') or 'unknown type')
    denies = bool(policy.get('deny_unknown') or policy.get('reject_unknown'))
    cm = host.get('class_module') or {}
    if want['build'] == 'always':
        if cm.get('installed'):
            return None, ('perfsec_build=always, but class perf_event comes from module %s: the rebuilt policy '
                          'would declare it twice; not rebuilt (roll the class module back first)' % cm.get('name'))
        return 'perfsec_build=always', None
    if policy['perf_event_class'] is None:
        return None, ('cannot tell whether the %s defines class perf_event (%s): not rebuilt; the next '
                      'run decides once a policy is loaded' % (name, policy.get('error') or 'unreadable'))
    reason = None
    module_route = want.get('class_source') == 'module'
    if policy['perf_event_class'] and (policy['perfmon'] or not _perfmon_needed(host, want, policy, denies)):
        reason = _replaced_reason(host, want)
        if reason and want['build'] == 'never':
            return None, '%s, but perfsec_build=never: not rebuilt' % reason
        if reason or policy['perfmon']:
            return reason, None
    if not policy['perf_event_class']:
        if module_route and not _perfmon_needed(host, want, policy, denies):
            return None, None
        reason = 'the %s lacks class perf_event' % name
        if module_route:
            reason += ' and capability2 perfmon, which only a rebuild adds (the rebuild adds the class too)'
    elif not policy['perfmon'] and cm.get('installed'):
        note = 'class perf_event from module %s, perfmon not mediated' % cm.get('name')
        if _perfmon_needed(host, want, policy, denies):
            note += ('; a rebuild for perfmon would declare the class twice: not rebuilt (roll the class '
                     'module back, then run with perfsec_class_source=rebuild)')
        return None, note
    elif not policy['perfmon']:
        if host['kernel'].get('cap_perfmon') and denies:
            reason = ('the %s lacks capability2 perfmon and denies unknown permissions: users with '
                      'CAP_PERFMON would be refused' % name)
        elif want['require_perfmon']:
            reason = 'the %s lacks capability2 perfmon and perfsec_require_perfmon=true' % name
        else:
            return None, ('the %s lacks capability2 perfmon; it allows unknown permissions, so '
                          'CAP_PERFMON still works: not rebuilt (perfsec_require_perfmon=true to rebuild)'
                          % name)
    if reason and want['build'] == 'never':
        return None, '%s, but perfsec_build=never: not rebuilt' % reason
    return reason, None


def _perfmon_needed(host, want, policy, denies):
    """Whether a policy without perfmon must be rebuilt for it (only a rebuild can add it)."""
    if policy.get('perfmon'):
        return False
    return bool((host['kernel'].get('cap_perfmon') and denies) or want['require_perfmon'])


def _module_reason(mod):
    """Why the perf module needs work (None when it is as wanted)."""
    want = mod['state']
    where = '%s@%d' % (mod['name'], mod['priority'])
    if want == 'absent':
        return ('%s is installed: remove it' % where) if mod.get('installed') else None
    if not mod.get('installed'):
        if want in ('enabled', 'disabled') and not mod.get('installed_any'):
            return None
        return '%s is not installed' % where
    if want == 'disabled':
        return ('%s is enabled: disable it' % where) if mod.get('enabled') else None
    if mod.get('enabled') is False:
        return '%s is installed but disabled' % where
    if want == 'enabled':
        return None
    if mod.get('desired_checksum') and mod.get('checksum') != mod.get('desired_checksum'):
        return '%s differs from the wanted module (installed %s, wanted %s)' % (
            where, (mod.get('checksum') or 'unknown')[:19], mod['desired_checksum'][:19])
    if mod.get('generate') and mod.get('new_denials'):
        return 'perf_event denials of %s ask for %s, which %s does not grant' % (
            ', '.join(mod.get('new_denial_domains') or []), ' '.join(mod.get('new_denial_perms') or []), where)
    return None


def decide(host, want):
    """The plan for one host: {converged, supported, steps: [{step, reason}], needs, notes, policy}.

    host: {'kernel': {hook, hook_source, cap_perfmon, release}, 'selinux': perf_mac_facts'
    selinux facts, 'installed_policy': installed_policy() (read when none is loaded),
    'module': the perf module's state (see _module_reason) or None}.
    want: {build, require_perfmon, final_mode, relabel_mode, policy_installed}.
    Raises ValueError for a host that cannot be planned (no SELinux at all).
    """
    se, kern = host['selinux'], host['kernel']
    reasons = {}
    notes = []
    for step in EXTRA_STEPS:
        why = (host.get('extra_steps') or {}).get(step)
        if why:
            reasons[step] = why
    if se.get('status') == 'absent':
        raise ValueError('no SELinux on this host (no /etc/selinux/config, no selinuxfs): install the '
                         'policy packages first (Fedora/EL: selinux-policy-targeted; Debian: '
                         'selinux-basics selinux-policy-default, then selinux-activate)')
    policy = _policy_view(host)
    cm = host.get('class_module') or {}
    policy['class_from'] = (None if not policy['perf_event_class'] else
                            'module %s' % cm['name'] if cm.get('installed') else 'policy')
    if kern.get('hook') is False:
        notes.append('kernel %s has no SELinux perf_event hook (%s): SELinux cannot control '
                     'perf_event_open() here; nothing SELinux-wise is changed (a kernel >= 5.5, or '
                     'a vendor kernel with the backport, is needed)'
                     % (kern.get('release') or 'unknown', 'no %s in /proc/kallsyms' % HOOK_SYMBOL.decode()
                        if kern.get('hook_source') == 'kallsyms' else 'by its version'))
        return _result(reasons, notes, policy, supported=False)

    build, note = _build_reason(host, want, policy)
    if note:
        notes.append(note)
    if build:
        gone = _rebuild_gone(host, policy)
        if gone:
            notes.append(gone)
        reasons['policy_build'] = build
        reasons['policy_install'] = 'the rebuilt policy is not installed: %s' % build
    elif want.get('class_source') == 'module' or (host.get('class_module') or {}).get('installed'):
        name = '%s policy (%s)' % (policy['source'], se.get('policy_type') or 'unknown type')
        why = _class_module_reason(host, want, policy, name)
        if why:
            reasons['class_module'] = why
            if not policy.get('perfmon'):
                notes.append('class perf_event from module %s, perfmon not mediated'
                             % (host.get('class_module') or {}).get('name', CLASS_MODULE_NAME))

    if not se.get('enabled'):
        if se.get('lsm') is False:
            why = 'the kernel was booted without the SELinux LSM (no selinuxfs)'
        else:
            why = 'no SELinux policy is loaded'
        reasons['selinux_enable'] = '%s; /etc/selinux/config says SELINUX=%s' % (why, se.get('config_mode'))

    relabel = []
    if want.get('policy_installed'):
        relabel.append('the caller installed new policy packages')
    if 'policy_install' in reasons and se.get('enabled') and want['relabel_mode'] != 'always':
        notes.append('the rebuilt packages load the policy live (their %post runs load_policy and relabels '
                     'only changed file contexts): no reboot')
    if 'selinux_enable' in reasons:
        relabel.append('SELinux is being enabled: files written while it was off carry no labels')
    if se.get('autorelabel_pending'):
        relabel.append('/.autorelabel is pending')
    if want['relabel_mode'] == 'always':
        relabel.append('relabel_mode=always')
    if relabel and want['relabel_mode'] == 'never':
        notes.append('a relabel would be due (%s), but relabel_mode=never' % '; '.join(relabel))
        relabel = []
    if relabel:
        reasons['relabel'] = '; '.join(relabel)
        if se.get('enabled') and 'enforcing' in (se.get('mode'), se.get('config_mode')):
            reasons['permissive'] = ('a relabel is due and SELinux is enforcing (runtime %s, config %s): '
                                     'permissive until the relabel boot is done'
                                     % (se.get('mode'), se.get('config_mode')))

    final = want['final_mode']
    if relabel or 'selinux_enable' in reasons:
        reasons['final_mode'] = '%s after the relabel boot' % final
    elif se.get('mode') != final or se.get('config_mode') != final:
        reasons['final_mode'] = 'runtime %s, config %s; wanted %s' % (se.get('mode'), se.get('config_mode'), final)

    mod = host.get('module')
    if mod:
        why = _module_reason(mod)
        if why:
            reasons['module'] = why
    return _result(reasons, notes, policy, probe_permissive=_probe_permissive(host, want, reasons, mod))


def _probe_permissive(host, want, reasons, mod):
    """Why the perf module is generated before the switch to enforcing (None: after it, as
    the steps are listed). A host that is permissive when the module step comes (runtime
    permissive now, or after the relabel boot) and goes enforcing: the probe then runs to the end,
    and the kernel logs every perf_event permission it uses (permissive=1) in one go, so one
    semodule transaction installs the module; probing under enforcing stops at the first denied
    permission and needs a transaction per round. The host is permissive already: this lowers
    nothing, and the verification runs after the switch, under enforcing. Not where the
    distro's paranoid patch refuses the probe (host['paranoid_gate']) and no paranoid step
    lowers it: perf_module lowers it for its own rounds and verification only."""
    se = host['selinux']
    if 'module' not in reasons or not (mod or {}).get('generate') or 'final_mode' not in reasons:
        return None
    if want['final_mode'] != 'enforcing':
        return None
    if (host.get('paranoid_gate') or {}).get('blocks') and 'paranoid' not in reasons:
        return None
    if 'relabel' in reasons or 'selinux_enable' in reasons:
        when = 'the host is permissive after the relabel boot'
    elif se.get('mode') == 'permissive':
        when = 'the host runs permissive now'
    else:
        return None
    return ('%s: the probe runs before the switch to enforcing, so it logs every perf_event permission '
            'it uses at once and one semodule transaction installs the module; perf is verified after '
            'the switch' % when)


def _result(reasons, notes, policy, supported=True, probe_permissive=None):
    steps = [{'step': s, 'reason': reasons[s]} for s in STEPS if s in reasons]
    return {'converged': not steps, 'supported': supported, 'steps': steps,
            'needs': dict((s, s in reasons) for s in STEPS), 'notes': notes, 'policy': policy,
            'probe_permissive': probe_permissive, 'reasons': dict((s, reasons[s]) for s in STEPS if s in reasons)}


def summary(plan):
    """One line per host for the play output."""
    if plan['converged']:
        return 'converged: nothing to do%s' % ('' if not plan['notes'] else ' (%s)' % '; '.join(plan['notes']))
    line = '; '.join('%s (%s)' % (s['step'], s['reason']) for s in plan['steps'])
    if plan.get('probe_permissive'):
        line += '; module before final_mode (%s)' % plan['probe_permissive']
    return line + ('' if not plan['notes'] else '; notes: %s' % '; '.join(plan['notes']))


# --- the perf module in the store ----------------------------------------------------------

def list_modules_fast(module, root=None, store=None):
    """``semodule -lfull`` without ``-m``: names, priorities, states, no checksums. ``-m``
    hashes every module's CIL (0.37 s for Debian's 331 modules natively, seconds under
    emulation); the plan only needs the perf module's, which store_checksum() reads."""
    from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
    rc, out, err = sm.run(module, sm.base_argv(module, root, store) + ['-lfull'])
    return sm.parse_list_full(out)


def store_checksum(store_dir, name, priority):
    """The checksum ``semodule -lfull -m`` shows for a module: the sha256 of the CIL the store
    keeps (decompressed), read from the store; None when it cannot be read."""
    import hashlib
    data = _store_cil_bytes(store_dir, name, priority)
    return None if data is None else hashlib.sha256(data).hexdigest()


def inspect_module(module, spec, modules, store_dir=None):
    """The perf module's state for decide(): where it is installed, enabled, its checksum and,
    for a .te given as ``spec['content']``, the checksum the store would show for it (compiled
    with the real checkmodule/semodule_package in a private directory; nothing is installed).

    ``modules`` is semodule's full list (module_utils.semodule.list_modules). Raises
    te.CompileError / semodule.SemoduleError for a .te that does not compile.
    """
    from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
    from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod
    name, prio = spec['name'], spec['priority']
    at_prio = sm.find_module(modules, name, prio)
    any_prio = sm.find_module(modules, name)
    out = {'name': name, 'priority': prio, 'state': spec['state'], 'generate': bool(spec.get('generate')),
           'installed': at_prio is not None, 'installed_any': any_prio is not None,
           'enabled': any_prio['enabled'] if any_prio else None,
           'checksum': (at_prio.get('checksum') or store_checksum(store_dir, name, prio)) if at_prio else None,
           'desired_checksum': None, 'new_denials': 0, 'new_denial_domains': [],
           'new_denial_perms': []}
    content = spec.get('content')
    if content and spec['state'] == 'present' and not out['generate']:
        workdir = temod.private_dir()
        try:
            pp = temod.compile_te(module, content, name, workdir)
            out['desired_checksum'] = sm.file_checksum(module, pp)
        finally:
            temod.cleanup(workdir)
        if at_prio is not None and not out['checksum']:
            out['checksum'] = sm.installed_checksum(module, at_prio)
    return out


_CIL_ALLOW = re.compile(r'^\(allow\s+(\S+)\s+(\S+)\s+\((\S+)\s+\(([^()]*)\)\)\)')


def _store_cil_bytes(store_dir, name, priority):
    path = os.path.join(store_dir or '', 'active/modules', str(priority), name, 'cil')
    try:
        with open(path, 'rb') as f:
            data = f.read()
        return bz2.decompress(data) if data[:3] == b'BZh' else data
    except (IOError, OSError, ValueError):
        return None


def store_cil(store_dir, name, priority):
    """The CIL text the store keeps for a module (bzip2-compressed or not), or None."""
    data = _store_cil_bytes(store_dir, name, priority)
    return None if data is None else data.decode('utf-8', 'replace')


def inspect_class_module(modules, store_dir=None):
    """The class module's state for decide() (perfsec_class_source=module): installed at its
    priority, enabled, and its CIL's checksum against CLASS_MODULE_CIL's."""
    import hashlib
    from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
    entry = sm.find_module(modules, CLASS_MODULE_NAME, CLASS_MODULE_PRIORITY)
    out = {'name': CLASS_MODULE_NAME, 'priority': CLASS_MODULE_PRIORITY, 'installed': entry is not None,
           'enabled': entry['enabled'] if entry else None, 'checksum': None,
           'desired_checksum': hashlib.sha256(CLASS_MODULE_CIL.encode()).hexdigest(), 'cil': CLASS_MODULE_CIL}
    if entry:
        out['checksum'] = entry.get('checksum') or (
            store_checksum(store_dir, CLASS_MODULE_NAME, CLASS_MODULE_PRIORITY) if store_dir else None)
    return out


def policy_record(state_dir):
    """The newest install record policy_install wrote (state.json under the backup directory):
    which rebuilt packages perfsec installed. None when there is none, or when rollback has
    reinstalled the originals since (its ``rolled-back`` file is at least as new)."""
    import json
    best = None
    try:
        names = os.listdir(state_dir)
    except OSError:
        return None
    for name in names:
        path = os.path.join(state_dir, name, 'state.json')
        try:
            mtime = os.stat(path).st_mtime
            try:
                if os.stat(os.path.join(state_dir, name, 'rolled-back')).st_mtime >= mtime:
                    continue
            except OSError:
                pass
            if best is None or mtime > best[0]:
                with open(path) as f:
                    data = json.load(f)
                if isinstance(data, dict) and isinstance(data.get('installed'), list):
                    best = (mtime, {'installed': [str(x) for x in data['installed']][:16], 'path': path})
        except (OSError, IOError, ValueError):
            continue
    return best[1] if best else None


def granted(cil_text):
    """{(source, class): set(perms)} of a module's CIL allow rules (any target)."""
    out = {}
    for line in (cil_text or '').split('\n'):
        m = _CIL_ALLOW.match(line.strip())
        if m:
            out.setdefault((m.group(1), m.group(3)), set()).update(m.group(4).split())
    return out


def uncovered_denials(module_state, denials, allowed_domains, grants):
    """Count the perf_event denials of ``allowed_domains`` (perf_mac_facts.count_denials
    groups) asking for a permission the installed module does not grant. Read by content,
    not by time: a denial the module already answers is old, whenever the store was written."""
    doms = set(allowed_domains or [])
    count, names, perms = 0, set(), set()
    for g in denials.get('groups', []):
        if g['tclass'] != 'perf_event' or g['stype'] not in doms:
            continue
        missing = set(g['perms']) - grants.get((g['stype'], 'perf_event'), set())
        if missing:
            count += g['count']
            names.add(g['stype'])
            perms.update(missing)
    module_state['new_denials'] = count
    module_state['new_denial_domains'] = sorted(names)
    module_state['new_denial_perms'] = sorted(perms)
    return module_state
