# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The open_perf_access playbook's decisions, made once: the rows of perf_mac_facts' access verdict
it means to open (its intended_access), and the summary line of a host. The playbook calls them
through the access_intended / access_summary filters. Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

_TRUE = ('yes', 'on', 'true', '1')


def as_bool(value):
    """As ansible's bool filter: yes/on/true/1 in any case, True and 1 are true; another value is
    true only when it equals 1."""
    if isinstance(value, (str, int)):   # bool is an int
        return str(value).lower() in _TRUE
    return value == 1


def intended(expected_access, perf_users=True, perf_module=True, perf_domains=()):
    """The rows open_perf_access should leave able to use perf: with perfsec_expected_access, its rows
    not expected C(blocked) (in its order); without, perf_users (perfsec_perf_users) and the module's
    domains (perfsec_perf_domains, with perfsec_perf_module)."""
    if expected_access:
        return [who for who, verdict in expected_access.items() if verdict != 'blocked']
    return (['perf_users'] if as_bool(perf_users) else []) + (list(perf_domains) if as_bool(perf_module) else [])


def changed(result):
    """Ansible's ``is changed`` test on a registered result ({} when the task did not run)."""
    if 'changed' in result:
        return bool(result['changed'])
    results = result.get('results')
    if isinstance(results, list) and results and isinstance(results[0], dict):
        return any(r.get('changed') for r in results)
    return False


def _text(value):
    """A value as ansible-core 2.19 templates it into a string (None as nothing)."""
    return '' if value is None else '%s' % value


def summary(perfsec, host, module_changed=False, paranoid_result=None):
    """The host's line at the end of open_perf_access: perfsec is ansible_facts.perfsec as re-read at
    the end, module_changed the perf_module role's perf_module_changed, paranoid_result what the
    paranoid role registered (None or {} when it did not run)."""
    access, stig = perfsec['access'], perfsec['stig']
    blocked = access.get('intended_blocked') or []
    return '%s: module %s, paranoid %s; %s; STIG paranoid check %s (%s); %s' % (
        host, 'changed' if as_bool(module_changed) else 'unchanged',
        'changed' if changed(paranoid_result or {}) else 'unchanged',
        _text(access['summary']), _text(stig['status']), stig.get('file') or 'no file',
        'blocked: ' + ', '.join('%s' % r['who'] for r in blocked) if blocked else 'every intended user can use perf')
