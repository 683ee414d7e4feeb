#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_harvest_merge
short_description: Merge the fleet's perf denials into one reviewed least-privilege .te on the controller
description:
  - Takes every host's M(perfsec.selinux.perf_denials) result and merges them into one rule set
    (deduplicated), under the same contract as M(perfsec.selinux.perf_semodule)'s C(from_audit) -
    only C(perf_event) C(open cpu kernel tracepoint read write) and C(capability2) C(perfmon)
    (C(bpf) with O(include_bpf)) permissions that were denied, to source domains of
    O(allowed_domains), on the process itself (C(self)); C(perf_event) C(read)/C(write) may also
    target a type of O(allowed_targets). A host's result is untrusted - every name is validated
    again, and whatever falls outside the contract is counted in RV(skipped_reasons) for that host by
    reason.
  - Writes one C(.te) to O(dest) (mode 0600) only when its content changed, with a comment above
    each rule giving its evidence - denials per permission, hosts (per permission when they
    differ), first and last seen, comm and exe. Host names and the log's comm / exe are
    neutralised there (printable ASCII only, every other character escaped, each string at most
    48 characters, at most 4 of each list).
  - Returns RV(installed_diff), the rules against each distinct installed module (by checksum)
    the hosts reported.
  - Run it once, on the controller (C(run_once) and C(delegate_to localhost)), as the playbook
    C(perfsec.selinux.harvest) does. It never installs the module; review the file, then install
    it with M(perfsec.selinux.perf_semodule) (O(dest) as its C(src)).
  - An empty harvest (no denial left) writes no file and says C(no perf denials since ...).
version_added: 0.2.0
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  results:
    description:
      - The hosts' M(perfsec.selinux.perf_denials) results, by host name. Failed, skipped or
        unreachable results are counted as C(no_result).
    type: dict
    required: true
  dest:
    description:
      - The C(.te) file to write (its directory must exist).
    type: path
    required: true
  name:
    description:
      - The module name in the C(.te) (its C(module) statement).
    type: str
    default: perfsec_perf
  allowed_domains:
    description:
      - Source domains that may be granted permissions. An empty list is refused.
    type: list
    elements: str
    required: true
  allowed_targets:
    description:
      - Other target types the allowed domains may get C(perf_event) C(read)/C(write) on
        (trusted configuration). C(self) is implied.
    type: list
    elements: str
    default: []
  include_bpf:
    description:
      - Also grant denied C(capability2) C(bpf).
    type: bool
    default: false
  comm:
    description:
      - Keep only denials of these command names (empty - any). A filter, not a trust boundary.
    type: list
    elements: str
    default: []
  validate:
    description:
      - Compile the merged C(.te) with the real C(checkmodule) and C(semodule_package) in a private
        temporary directory before writing it. C(auto) does when they are installed on the
        controller, C(always) fails when they are not, C(never) does not.
    type: str
    choices: [auto, always, never]
    default: auto
attributes:
  check_mode:
    support: full
    details: Returns the rules, the .te and the diff; writes nothing.
  diff_mode:
    support: full
    details: The before and after text of O(dest).
  platform:
    platforms: posix
seealso:
  - module: perfsec.selinux.perf_denials
  - module: perfsec.selinux.perf_semodule
'''

EXAMPLES = r'''
- name: Read every host's perf denials of the last 7 days
  perfsec.selinux.perf_denials:
    since: "{{ now().timestamp() | int - 604800 }}"
  register: harvest

- name: Merge them once on the controller
  perfsec.selinux.perf_harvest_merge:
    results: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'harvest'))) }}"
    dest: "{{ playbook_dir }}/perfsec_perf.te"
    allowed_domains: [user_t, staff_t]
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
summary:
  description:
    - The lines the harvest playbook prints - RV(msg), the rules, each host's status, the records
      skipped per host, and the rules to add and drop against each installed module checksum.
  returned: always
  type: list
  elements: str
changed:
  description: Whether O(dest) was (or, in check mode, would be) written.
  returned: always
  type: bool
dest:
  description: O(dest).
  returned: always
  type: str
msg:
  description: One-line summary; C(no perf denials since ...) for an empty harvest.
  returned: always
  type: str
te:
  description: The merged .te text; null for an empty harvest.
  returned: always
  type: str
rules:
  description: The merged allow rules.
  returned: always
  type: list
  elements: str
  sample: ["allow user_t self:perf_event { kernel open read };"]
evidence:
  description: Per rule - C(rule), C(denials), C(perms) (denials per permission), C(hosts),
    C(perm_hosts) (the hosts of each permission), C(first),
    C(last) (epoch seconds), C(comm), C(exe) (as the hosts returned them, bounded).
  returned: always
  type: list
  elements: dict
records:
  description: Denial records behind the rules.
  returned: always
  type: int
since:
  description: The earliest C(since) of the hosts' results (epoch seconds), or null.
  returned: always
  type: float
hosts:
  description: Per host - C(status) (C(ok), C(no_log), C(no_result)), C(denials) (records granted), C(source), C(msg).
  returned: always
  type: dict
skipped_reasons:
  description:
    - Per host, what was not granted, by reason - the host's own reasons (see
      M(perfsec.selinux.perf_denials)'s C(skipped_reasons)) plus the merge's - C(no_result) (the host
      returned no usable result), C(invalid) (a group with invalid names or counts - a forged or
      corrupt result), C(class), C(perm), C(comm), C(domain) (not in O(allowed_domains)) and
      C(target) (a target other than the source, or an O(allowed_targets) type for read/write),
      and C(total).
  returned: always
  type: dict
installed_diff:
  description:
    - One entry per distinct installed module checksum the hosts reported (null - not installed) -
      C(checksum), C(hosts), C(installed) (its rules), C(add) (rules the merged module grants that it
      lacks), C(drop) (rules it grants that the merged module does not).
  returned: always
  type: list
  elements: dict
validated:
  description: Whether the .te was compiled with checkmodule.
  returned: always
  type: bool
'''

import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import common
from ansible_collections.perfsec.selinux.plugins.module_utils import harvest as hv
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

MODE = 0o600
MAX_EXISTING = 16 * 1024 * 1024


def _existing(module, dest):
    """(text or None, mode or None) of dest: only a regular file is read (not a symlink)."""
    try:
        st = os.lstat(dest)
    except (IOError, OSError):
        return None, None
    if not stat.S_ISREG(st.st_mode):
        module.fail_json(msg='dest %s exists and is not a regular file (a symlink, directory or device): '
                             'give the path of a .te file' % dest)
    try:
        data = temod.read_source(dest, MAX_EXISTING)
    except temod.SourceError as e:
        module.fail_json(msg=e.msg.replace('src ', 'dest ', 1))
    return data.decode('utf-8', 'replace'), stat.S_IMODE(st.st_mode)


def _validate(module, te_text, name, how):
    if how == 'never':
        return False
    if how == 'auto' and not (module.get_bin_path('checkmodule') and module.get_bin_path('semodule_package')):
        return False
    workdir = temod.private_dir('perfsec-harvest-')
    try:
        temod.compile_te(module, te_text, name, workdir)
    except temod.CompileError as e:
        module.fail_json(msg='the merged .te does not compile: %s; nothing was written' % e.msg, te=te_text)
    finally:
        temod.cleanup(workdir)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results=dict(type='dict', required=True),
            dest=dict(type='path', required=True),
            name=dict(type='str', default='perfsec_perf'),
            allowed_domains=dict(type='list', elements='str', required=True),
            allowed_targets=dict(type='list', elements='str', default=[]),
            include_bpf=dict(type='bool', default=False),
            comm=dict(type='list', elements='str', default=[]),
            validate=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not sm.valid_name(p['name']):
        module.fail_json(msg='invalid module name: use letters, digits, _ and -, starting with a letter, '
                             'at most %d characters' % sm.MAX_NAME_LEN)
    if not p['allowed_domains']:
        module.fail_json(msg='allowed_domains is empty: list the source domains that may be granted perf '
                             'permissions (for example [user_t]); an empty list would grant nothing')
    for key in ('allowed_domains', 'allowed_targets'):
        for t in p[key]:
            if not au.TYPE_RE.match(t) or t == 'self':
                module.fail_json(msg='invalid SELinux type in %s: %r%s' % (
                    key, hv.neutral(t), ' (self is always a target)' if t == 'self' else ''))
    dest = p['dest']
    merged = hv.merge(p['results'], p['allowed_domains'], p['allowed_targets'], p['include_bpf'], p['comm'])
    te_text = hv.render(p['name'], merged)
    evidence = []
    for r in merged['rules']:
        ev = merged['evidence'][r[:3]]
        evidence.append(dict(ev, rule=au.rule_text(r)))
    result = dict(changed=False, dest=dest, te=te_text, rules=[au.rule_text(r) for r in merged['rules']],
                  evidence=evidence, records=merged['records'], since=merged['since'], hosts=merged['hosts'],
                  skipped_reasons=merged['skipped'], installed_diff=hv.diff_installed(merged['rules'], p['results']),
                  validated=False, msg='')
    nhosts = len(merged['hosts'])
    ok_hosts = sum(1 for h in merged['hosts'].values() if h['status'] == 'ok')
    when = hv.iso(merged['since']) if merged['since'] is not None else 'the given time'
    if te_text is None:
        skipped = sum(s['total'] for s in merged['skipped'].values())
        result['msg'] = ('no perf denials since %s on %d host%s (%d read, %d records or lines skipped): '
                         'nothing to write, %s left as it was'
                         % (when, nhosts, '' if nhosts == 1 else 's', ok_hosts, skipped, dest))
        module.exit_json(summary=hv.summary(result), **result)
    result['validated'] = _validate(module, te_text, p['name'], p['validate'])
    before, mode = _existing(module, dest)
    changed = before != te_text or mode != MODE
    result['changed'] = changed
    if module._diff:
        result['diff'] = dict(before_header=dest, after_header=dest, before=before or '', after=te_text)
    if changed and not module.check_mode:
        try:
            if mode is not None and mode != MODE:
                os.chmod(dest, MODE)        # before the content: never readable wider
            if before != te_text:
                common.atomic_write(module, dest, te_text, mode=MODE)
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot write %s: %s' % (dest, to_native(e)), te=te_text)
    result['msg'] = '%d rule%s from %d denial records on %d of %d hosts since %s: %s %s' % (
        len(merged['rules']), '' if len(merged['rules']) == 1 else 's', merged['records'],
        sum(1 for h in merged['hosts'].values() if h['denials']), nhosts, when, dest,
        ('would be written' if module.check_mode else 'written') if changed else 'unchanged')
    module.exit_json(summary=hv.summary(result), **result)


if __name__ == '__main__':
    main()
