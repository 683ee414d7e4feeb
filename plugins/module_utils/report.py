# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's decisions, made once: what needs attention on a host, which policy
modules differ between hosts, the fleet's counts and the one line printed per host. The
input is what perf_mac_facts returns as ansible_facts.perfsec; the report role calls these
through the filters in plugins/filter/report.py. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

# the order the report lists a host's reasons in
ATTENTION = ('selinux', 'class', 'policy_replaced', 'relabel', 'denials', 'paranoid',
             'paranoid_source', 'perf_users', 'access', 'stig', 'checksum')


def _get(d, *path):
    """d[path[0]][path[1]]..., None where any step is missing or not a mapping."""
    for key in path:
        if not isinstance(d, dict) and not hasattr(d, 'get'):
            return None
        d = d.get(key)
        if d is None:
            return None
    return d


def checksum_mismatch(fleet_facts):
    """Names of the policy modules installed with more than one checksum across the hosts
    (each item is a host's ansible_facts.perfsec), sorted."""
    seen = {}
    for facts in fleet_facts:
        for mod in _get(facts, 'modules') or []:
            if mod.get('checksum'):
                seen.setdefault(mod.get('name'), set()).add(mod['checksum'])
    return sorted(name for name, sums in seen.items() if len(sums) > 1)


def attention(facts, profile='default', mismatch=()):
    """The reasons this host needs attention, in ATTENTION's order."""
    s = _get(facts, 'selinux') or {}
    paranoid = _get(facts, 'kernel', 'perf_event_paranoid')
    enabled_modules = [m for m in _get(facts, 'modules') or [] if m.get('enabled')]
    packages_current = _get(facts, 'policy_packages', 'current')
    binary = _get(facts, 'perf_users', 'binary')
    flags = {
        'selinux': s.get('mode') != 'enforcing' or s.get('config_mode') != 'enforcing',
        'class': not s.get('perf_event_class'),
        'policy_replaced': packages_current is False,
        'relabel': bool(s.get('autorelabel_pending')),
        'denials': (_get(facts, 'denials', 'count') or 0) > 0,
        'paranoid': paranoid is not None and int(paranoid) < 2 and not enabled_modules,
        'paranoid_source': _get(facts, 'kernel', 'paranoid_source', 'state') == 'runtime_differs',
        'perf_users': binary is not None and _get(facts, 'perf_users', 'capabilities') == '',
        'access': len(_get(facts, 'access', 'mismatches') or []) > 0,
        'stig': profile == 'stig' and _get(facts, 'stig', 'status') != 'pass',
        'checksum': bool(set(m.get('name') for m in _get(facts, 'modules') or []) & set(mismatch)),
    }
    return [k for k in ATTENTION if flags[k]]


def summary(hosts_all, hosts_ok, fleet_facts, fleet_attention, mismatch):
    """The fleet's counts: hosts_all/hosts_ok are ansible_play_hosts_all/ansible_play_hosts,
    fleet_facts and fleet_attention the facts and reasons of hosts_ok, in that order."""
    failed = [h for h in hosts_all if h not in hosts_ok]

    def count(pred):
        return len([f for f in fleet_facts if pred(f)])

    return {
        'hosts': len(hosts_ok),
        'failed': len(failed),
        'failed_hosts': failed,
        'enforcing': count(lambda f: _get(f, 'selinux', 'mode') == 'enforcing'),
        'with_class': count(lambda f: bool(_get(f, 'selinux', 'perf_event_class'))),
        'only_root': count(lambda f: bool(_get(f, 'access', 'only_root'))),
        'stig_pass': count(lambda f: _get(f, 'stig', 'status') == 'pass'),
        'audit_hits': sum(int(_get(f, 'audit_rule', 'hits', 'count') or 0) for f in fleet_facts),
        'access_mismatch': count(lambda f: bool(_get(f, 'access', 'mismatches'))),
        'attention': len([a for a in fleet_attention if a]),
        'mismatch': list(mismatch),
    }


def host_line(facts, reasons):
    """The line the report prints for one host."""
    s = _get(facts, 'selinux') or {}
    k = _get(facts, 'kernel') or {}
    return ('SELinux %s/%s %s; class %s; paranoid %s (%s); modules %d; denials %s; %s; '
            'STIG paranoid check %s (%s); kptr_restrict %s; audit %s; attention: %s'
            % (s.get('mode'), s.get('config_mode'), s.get('policy_type'),
               'yes' if s.get('perf_event_class') else 'NO',
               k.get('perf_event_paranoid'), _get(k, 'paranoid_source', 'file') or 'runtime only',
               len(_get(facts, 'modules') or []), _get(facts, 'denials', 'count'),
               _get(facts, 'access', 'summary'),
               _get(facts, 'stig', 'status'), _get(facts, 'stig', 'file') or 'no file',
               k.get('kptr_restrict'), _get(facts, 'audit_rule', 'hits', 'summary'),
               ', '.join(reasons) or 'none'))
