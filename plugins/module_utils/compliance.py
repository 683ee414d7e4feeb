# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The STIG-safe profile (``perfsec_profile: stig``) and the STIG / ComplianceAsCode check of
kernel.perf_event_paranoid, plus what kernel.kptr_restrict means for perf.

Pure functions of what perf_mac_facts / perf_paranoid read (unit-tested row by row in
tests/unit/plugins/module_utils/test_compliance.py):

* ``stig_paranoid_check``: DISA STIG / ComplianceAsCode rule ``sysctl_kernel_perf_event_paranoid``
  (CCE-81054-9 RHEL 8, CCE-83959-7 RHEL 9, CCE-90142-1 RHEL 10) wants exactly 2, at runtime and
  in the configuration, judged on the last assignment in systemd-sysctl --cat-config order
  (module_utils/sysctl.find_entries: sysctl.d files by basename, the last one wins; a
  /etc/sysctl.conf that no 99-sysctl.conf link names counts last, as procps applies it).
* ``profile_errors``: what the profile refuses (another paranoid level, no persistence,
  kptr_restrict other than 1), each as one message.
* ``profile_step``: the plan's ``paranoid`` step under the profile (why the host is not
  converged), or None.
* ``kptr_restrict``: who can resolve kernel symbols in perf output.

Python 3.6 compatible.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

PROFILES = ('default', 'stig')
STIG_PARANOID = 2
STIG_KPTR_RESTRICT = 1
PARANOID_RULE = 'sysctl_kernel_perf_event_paranoid'
KPTR_RULE = 'sysctl_kernel_kptr_restrict'
# ComplianceAsCode's CCE of rule sysctl_kernel_perf_event_paranoid per RHEL major release
PARANOID_CCE = {'8': 'CCE-81054-9', '9': 'CCE-83959-7', '10': 'CCE-90142-1'}
# distributions built from RHEL sources (their CaC content reuses the RHEL rule)
RHEL_IDS = ('rhel', 'centos', 'almalinux', 'rocky', 'ol', 'redhat')

KPTR_MEANINGS = {
    0: 'kernel addresses visible to everybody: perf resolves kernel symbols for every user',
    1: 'kernel addresses hidden unless CAP_SYSLOG: root (and the perf_users copy when it has '
       'cap_syslog) resolve kernel symbols, other users see unresolved addresses',
    2: 'kernel addresses hidden from everybody, root included: kernel samples stay unresolved',
}


def _int(value):
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError, TypeError):
        return None


# --- os-release -> which CCE ------------------------------------------------------------------

def parse_os_release(text):
    """{KEY: value} of an os-release(5) text (quotes removed); {} for None."""
    out = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        out[key.strip()] = value
    return out


def product(os_release):
    """('RHEL', major) for RHEL and its rebuilds, else (ID or None, VERSION_ID major or None)."""
    osr = os_release or {}
    ident = (osr.get('ID') or '').lower()
    like = (osr.get('ID_LIKE') or '').lower().split()
    major = (osr.get('VERSION_ID') or '').split('.')[0] or None
    if ident in RHEL_IDS or 'rhel' in like:
        return 'RHEL', major
    return (ident or None), major


def paranoid_cce(os_release):
    """The CCE of the rule on this OS, or None (the rule still applies; CaC has no CCE there)."""
    name, major = product(os_release)
    return PARANOID_CCE.get(major) if name == 'RHEL' else None


# --- the STIG / CaC check ---------------------------------------------------------------------

def stig_paranoid_check(entries, runtime, os_release=None):
    """The rule's verdict for one host.

    entries: every boot-time assignment of kernel.perf_event_paranoid in application order
    (dicts with path, line, value: sysctl.find_entries or perf_mac_facts' paranoid_source
    entries); runtime: the running value (int or None).
    Returns {rule, cce, product, expected, status ('pass' | 'fail'), boot, file, line, runtime,
    earlier (earlier assignments of another value, overridden), reason}.
    """
    name, major = product(os_release)
    out = {'rule': PARANOID_RULE, 'cce': paranoid_cce(os_release),
           'product': ('%s %s' % (name, major)) if name == 'RHEL' and major else None,
           'expected': STIG_PARANOID, 'boot': None, 'file': None, 'line': None,
           'runtime': runtime, 'earlier': []}
    problems = []
    if entries:
        win = entries[-1]
        out['boot'] = _int(win.get('value'))
        out['file'] = win.get('path')
        out['line'] = win.get('line')
        out['earlier'] = ['%s:%s' % (e.get('path'), e.get('line')) for e in entries[:-1]
                          if _int(e.get('value')) != STIG_PARANOID]
        if out['boot'] != STIG_PARANOID:
            problems.append('%s:%s sets %s (the last assignment in systemd-sysctl order wins)'
                            % (win.get('path'), win.get('line'), win.get('value')))
    else:
        problems.append('no sysctl file sets kernel.perf_event_paranoid (the kernel default is not '
                        'a configuration)')
    if runtime is None:
        problems.append('the running value cannot be read')
    elif runtime != STIG_PARANOID:
        problems.append('the running value is %s' % runtime)
    out['status'] = 'fail' if problems else 'pass'
    if problems:
        out['reason'] = 'kernel.perf_event_paranoid must be %d: %s' % (STIG_PARANOID, '; '.join(problems))
    else:
        out['reason'] = 'kernel.perf_event_paranoid is %d at runtime and %s:%s sets it last' % (
            STIG_PARANOID, out['file'], out['line'])
    return out


# --- the profile ------------------------------------------------------------------------------

def paranoid_level_message(level, os_release=None):
    """The one message for a paranoid level the stig profile refuses."""
    cce = paranoid_cce(os_release)
    return ('perfsec_profile stig keeps kernel.perf_event_paranoid at exactly %d (DISA STIG / '
            'ComplianceAsCode %s%s); level %s was requested. Open perf access through the perf_users '
            'group (CAP_PERFMON) and the SELinux perf module instead, or drop perfsec_profile: stig.'
            % (STIG_PARANOID, PARANOID_RULE, ', ' + cce if cce else ', CCE-81054-9 / CCE-83959-7 / '
               'CCE-90142-1', level))


def profile_errors(profile, level=None, persist=True, runtime=True, kptr_restrict=None,
                   os_release=None):
    """Messages for what ``profile`` refuses; [] when it allows everything asked."""
    if profile not in PROFILES:
        return ['unknown profile %r: use one of %s' % (profile, ', '.join(PROFILES))]
    if profile != 'stig':
        return []
    errors = []
    if level is not None and level != STIG_PARANOID:
        errors.append(paranoid_level_message(level, os_release))
    if not persist:
        errors.append('perfsec_profile stig needs the level persisted (persist=true): the STIG check '
                      'reads the sysctl file that wins at boot')
    if not runtime:
        errors.append('perfsec_profile stig needs the level applied now (runtime=true): the STIG check '
                      'reads the running value too')
    if kptr_restrict is not None and kptr_restrict != STIG_KPTR_RESTRICT:
        errors.append('perfsec_profile stig keeps kernel.kptr_restrict at %d (ComplianceAsCode %s); '
                      '%s was requested. Kernel symbols in perf output need CAP_SYSLOG then: the '
                      'perf_users copy has it.' % (STIG_KPTR_RESTRICT, KPTR_RULE, kptr_restrict))
    return errors


def profile_refusals(profile, level=None, kptr_restrict=None):
    """profile_errors() for the role variables as the controller has them (strings from -e, or None
    when unset), before anything changes on a host: what the profile refuses, [] when nothing."""
    values = []
    for name, value in (('kernel.perf_event_paranoid', level), ('kernel.kptr_restrict', kptr_restrict)):
        if value is None or value == '':
            values.append(None)
            continue
        try:
            values.append(int(value))
        except (TypeError, ValueError):
            return ['%s must be an integer, got %r' % (name, value)]
    return profile_errors(profile, values[0], kptr_restrict=values[1])


def profile_step(profile, check):
    """Reason of the plan's ``paranoid`` step under ``profile`` (``check``: stig_paranoid_check),
    or None when the host passes (or the profile does not manage paranoid)."""
    if profile != 'stig' or check is None or check.get('status') == 'pass':
        return None
    return 'perfsec_profile stig: %s' % check['reason']


# --- kptr_restrict ----------------------------------------------------------------------------

def kptr_restrict(value, perf_users_caps=None):
    """{value, meaning, symbols: {root, perf_users, other}} - who sees kernel symbols in perf."""
    caps = (perf_users_caps or '').lower()
    has_syslog = 'cap_syslog' in caps or caps.startswith('=ep') or ' =ep' in caps
    if value not in KPTR_MEANINGS:
        return {'value': value, 'meaning': 'unknown' if value is None else 'unknown value %s' % value,
                'symbols': {'root': None, 'perf_users': None, 'other': None}}
    sym = {0: (True, True, True), 1: (True, has_syslog, False), 2: (False, False, False)}[value]
    return {'value': value, 'meaning': KPTR_MEANINGS[value],
            'symbols': {'root': sym[0], 'perf_users': sym[1], 'other': sym[2]}}


# --- open_perf_access's end state ----------------------------------------------------------------

def blocked_intended(access, intended):
    """The rows of ``access`` (perf_mac_facts' access fact) named in ``intended`` that are blocked.

    ``intended``: row names (``root``, ``perf_users``, ``other``, a confined domain); ``unconfined_t``
    means ``other`` (an unconfined user without privileges). A name without a row counts as blocked
    (nothing grants it perf). Returns [{who, verdict, gate, reason}], in ``intended`` order.
    """
    rows = dict((r['who'], r) for r in (access or {}).get('rows') or [])
    out = []
    seen = set()
    for name in intended or []:
        who = 'other' if name == 'unconfined_t' else name
        if who in seen:
            continue
        seen.add(who)
        row = rows.get(who)
        if row is None:
            out.append({'who': who, 'verdict': None, 'gate': None,
                        'reason': '%s has no row in the access verdict: no local module grants it '
                                  'perf_event and no recent denial names it' % who})
        elif row['verdict'] == 'blocked':
            out.append({'who': who, 'verdict': 'blocked', 'gate': row.get('gate'), 'reason': row.get('reason')})
    return out
