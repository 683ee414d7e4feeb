#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_semodule
short_description: Build and manage a local SELinux module for perf_event_open() denials
description:
  - Installs, removes, enables or disables a local SELinux policy module at a given priority
    (default 300, as the kernel's perf-security procedure does with C(semodule -X 300 -i)).
  - The module source is a .te text (O(content)), a .te, .pp or .cil file on the target (O(src)),
    or is generated from kernel AVC denial records (O(from_audit)). Generation grants only
    C(perf_event) permissions and C(capability2 perfmon) (C(bpf) only when asked) that were
    actually denied, to allow-listed source domains, on the denied target type.
  - A .te is compiled with the real C(checkmodule -M -m) and C(semodule_package) in a private
    0700 temporary directory.
  - Idempotent without rebuilding the policy. The CIL sha256 of the desired module is compared
    with the installed one (C(semodule -lfull -m), or an extracted copy with older tools); an
    identical module is not reinstalled, and enabling/disabling never reinstalls.
  - Install is one transaction C(semodule -X PRIO -i FILE -e NAME), so a module that was
    disabled is enabled again by O(state=present).
version_added: 0.1.0
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  name:
    description:
      - Module name. Must match C(^[a-zA-Z][a-zA-Z0-9_-]*$); a .te must declare the same name.
    type: str
    required: true
  state:
    description:
      - V(present) installs the module at O(priority) (when its content differs) and enables it.
      - V(absent) removes the module at O(priority) only.
      - V(enabled) / V(disabled) enable or disable the module (all priorities, as semodule does).
        With a source they also install it at O(priority) when the content differs, in the same
        transaction; without a source the module must already be installed.
    type: str
    choices: [present, absent, enabled, disabled]
    default: present
  priority:
    description:
      - Module priority, 1 to 999.
    type: int
    default: 300
  content:
    description:
      - Text of a .te module. Mutually exclusive with O(src) and O(from_audit).
    type: str
  src:
    description:
      - Path on the target of a .te, .pp or .cil module file (chosen by its extension).
      - Mutually exclusive with O(content) and O(from_audit).
    type: path
  from_audit:
    description:
      - "Generate the module from kernel AVC records: C(type=AVC) lines from auditd or
        C(ausearch --raw), or C(audit: type=1400) lines from C(journalctl -k -o cat) or dmesg."
      - Records of other classes, other domains, other commands, or that do not parse are
        skipped and counted in RV(skipped_records); they never grant anything.
      - When no record matches, nothing is installed or changed and a warning says so.
      - Mutually exclusive with O(content) and O(src).
    type: dict
    suboptions:
      paths:
        description:
          - Audit log files to read (for example C(/var/log/audit/audit.log)).
        type: list
        elements: path
        default: []
      records:
        description:
          - Audit records as text, for example the output of C(ausearch -m AVC --raw).
        type: str
      comm:
        description:
          - Keep only records whose C(comm) is one of these. An empty list keeps every command.
          - This is a filter, not a trust boundary; O(from_audit.allowed_domains) is.
        type: list
        elements: str
        default: [perf]
      allowed_domains:
        description:
          - Source types that may be granted anything (for example C(user_t), C(staff_t)).
        type: list
        elements: str
        default: [unconfined_t]
      include_bpf:
        description:
          - Also grant C(capability2 bpf) when it was denied.
        type: bool
        default: false
  reload:
    description:
      - Load the rebuilt policy into the kernel after a change (V(false) passes C(-N)).
      - Always V(false) when O(root) is an alternate root.
    type: bool
    default: true
  root:
    description:
      - Alternate policy root (C(semodule -p ROOT)), for image builds and tests.
      - Without it SELinux must be enabled on the target; pass V(/) to manage the store of a
        host whose SELinux is currently disabled.
    type: path
  store:
    description:
      - Policy store name (C(semodule -s)). Defaults to C(SELINUXTYPE) of ROOT/etc/selinux/config.
    type: str
notes:
  - Check mode compiles the desired module in a temporary directory (no store change) and reports
    exactly what would change.
  - Diff mode shows the installed and the desired module as sorted CIL rules.
  - Never runs C(semodule -v) (on Debian's policy it turns tolerated warnings into failures).
requirements:
  - semodule (policycoreutils), checkmodule (checkpolicy), semodule_package (semodule-utils on Debian)
seealso:
  - name: perf-security
    description: The kernel's perf_event_open() MAC procedure.
    link: https://www.kernel.org/doc/html/latest/admin-guide/perf-security.html
attributes:
  check_mode:
    support: full
    details: Compiles the desired module in a temporary directory only; reports the exact operations.
  diff_mode:
    support: full
    details: Sorted CIL rules of the installed and the desired module, with their enabled state.
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Collect today's AVC records on the target
  ansible.builtin.command:
    argv: [ausearch, --input-logs, -m, AVC, -ts, today, --raw]
  register: avc
  changed_when: false
  failed_when: avc.rc not in [0, 1]

- name: Generate and install a module from the perf denials of user_t
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      records: "{{ avc.stdout }}"
      allowed_domains: [user_t]

- name: Or read the audit log directly
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      paths: [/var/log/audit/audit.log]
      allowed_domains: [user_t, staff_t]

- name: Install a module from a .te text at priority 300
  perfsec.selinux.perf_semodule:
    name: my-perf
    content: |
      module my-perf 1.0;
      require {
        type user_t;
        class perf_event { open kernel read };
      }
      allow user_t self:perf_event { open kernel read };

- name: Preview what a generated module would grant (no store change)
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      records: "{{ avc.stdout }}"
      allowed_domains: [user_t]
      include_bpf: true
  check_mode: true
  diff: true
  register: preview

- name: Show the rules
  ansible.builtin.debug:
    var: preview.rules

- name: Install a module compiled elsewhere (audit2allow -M my-perf) at priority 400
  perfsec.selinux.perf_semodule:
    name: my-perf
    src: /root/my-perf.pp
    priority: 400

- name: Install into the store of a host whose SELinux is disabled in the kernel (used once it is enabled)
  perfsec.selinux.perf_semodule:
    name: my-perf
    src: /root/my-perf.te
    root: /

- name: Disable it
  perfsec.selinux.perf_semodule:
    name: my-perf
    state: disabled

- name: Enable it again (no reinstall)
  perfsec.selinux.perf_semodule:
    name: my-perf
    state: enabled

- name: Remove it at priority 300
  perfsec.selinux.perf_semodule:
    name: my-perf
    state: absent
'''

RETURN = r'''
name:
  description: Module name.
  returned: always
  type: str
  sample: my-perf
priority:
  description: Priority the module was managed at.
  returned: always
  type: int
  sample: 300
installed:
  description: Whether the module is installed at O(priority) after the task (or would be, in check mode).
  returned: always
  type: bool
enabled:
  description: Whether the module is enabled after the task (or would be, in check mode); null when not installed.
  returned: always
  type: bool
checksum:
  description: sha256 of the module's CIL at O(priority) after the task (or the desired one in check mode).
  returned: always
  type: str
  sample: 91072c8227240d596a67fe90ea9b7cdab1c61708f4d9ad6f9701f72f70a1ac50
rules:
  description: Allow rules of the desired module (.te syntax when known, otherwise CIL).
  returned: always
  type: list
  elements: str
  sample: ["allow user_t self:perf_event { kernel open read };"]
te:
  description: The .te text of the desired module (generated or given); null for .pp/.cil sources.
  returned: always
  type: str
skipped_records:
  description: Number of audit lines skipped by generation (not AVC, unparsable, other class, domain, command or permission).
  returned: always
  type: int
  sample: 3
skipped_reasons:
  description: Skipped audit lines by reason.
  returned: always
  type: dict
  sample: {"class": 1, "domain": 1, "comm": 0, "unparsable": 1, "not_avc": 0, "granted": 0, "perm": 0, "total": 3}
operations:
  description: The semodule operations run (or that would run in check mode).
  returned: always
  type: list
  elements: str
  sample: ["install", "enable"]
policy_rebuilt:
  description: Whether a semodule transaction (a full policy rebuild) ran.
  returned: always
  type: bool
commit_num:
  description: The store's commit counter after the task.
  returned: always
  type: int
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

SELINUXFS = '/sys/fs/selinux'
POLICY_BUILD_HINT = ('build and install a policy that defines it with the roles '
                     'perfsec.selinux.policy_build and perfsec.selinux.policy_install')


def _read_audit(module, spec):
    """The audit lines of from_audit: each file streamed line by line (a log of gigabytes
    is never held in memory), then the given records."""
    for path in spec.get('paths') or []:
        try:
            with open(path, 'rb') as f:
                for raw in f:
                    yield to_text(raw, errors='surrogate_or_replace')
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot read audit log %s: %s; check the path or pass the '
                                 'records as from_audit.records' % (path, to_native(e)))
    if spec.get('records'):
        yield from spec['records'].splitlines()


def _cil_rules(cil_text):
    return sorted(set(line.strip() for line in (cil_text or '').splitlines() if line.strip()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'enabled', 'disabled']),
            priority=dict(type='int', default=300),
            content=dict(type='str'),
            src=dict(type='path'),
            from_audit=dict(type='dict', options=dict(
                paths=dict(type='list', elements='path', default=[]),
                records=dict(type='str'),
                comm=dict(type='list', elements='str', default=['perf']),
                allowed_domains=dict(type='list', elements='str', default=['unconfined_t']),
                include_bpf=dict(type='bool', default=False),
            )),
            reload=dict(type='bool', default=True),
            root=dict(type='path'),
            store=dict(type='str'),
        ),
        mutually_exclusive=[['content', 'src', 'from_audit']],
        required_if=[['state', 'present', ['content', 'src', 'from_audit'], True]],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    prio = p['priority']
    state = p['state']
    root = p['root']
    if not sm.valid_name(name):
        module.fail_json(msg='invalid module name %r: use letters, digits, _ and -, starting with a letter' % name)
    if not 1 <= prio <= 999:
        module.fail_json(msg='priority must be between 1 and 999, got %d' % prio)
    if p['from_audit']:
        for d in p['from_audit']['allowed_domains']:
            if not au.TYPE_RE.match(d):
                module.fail_json(msg='invalid SELinux type in from_audit.allowed_domains: %r' % d)
    if root is None and not os.path.exists(os.path.join(SELINUXFS, 'enforce')):
        module.fail_json(msg='SELinux is disabled on this host (no %s): enable it first '
                             '(role perfsec.selinux.selinux_state), or pass root=/ to manage the '
                             'policy store offline' % SELINUXFS)
    offline_root = bool(root) and os.path.realpath(root) != '/'
    noreload = offline_root or not p['reload']
    store = p['store']
    sdir = sm.store_dir(root, store)
    if not sdir or not os.path.isdir(sdir):
        module.fail_json(msg='no SELinux policy store %s under %s: install a policy first '
                             '(role perfsec.selinux.policy_install) or pass store=' % (sm.store_name(root, store), root or '/'))

    result = dict(changed=False, name=name, priority=prio, installed=False, enabled=None, checksum=None,
                  rules=[], te=None, skipped_records=0, skipped_reasons={}, operations=[],
                  policy_rebuilt=False, commit_num=None)
    workdir = None
    te_text = None
    try:
        try:
            modules = sm.list_modules(module, root, store)
        except sm.SemoduleError as e:
            module.fail_json(msg='%s; check that the policy store is readable and policycoreutils installed' % e.msg)
        at_prio = sm.find_module(modules, name, prio)
        any_prio = sm.find_module(modules, name)
        cur_enabled = any_prio['enabled'] if any_prio else None

        # --- desired module file -------------------------------------------------------
        desired_path = None
        desired_cil = None
        has_source = bool(p['content'] is not None or p['src'] or p['from_audit'])
        if has_source:
            workdir = temod.private_dir()
            if p['from_audit']:
                fa = p['from_audit']
                text = _read_audit(module, fa)
                rules, skipped = au.generate_rules(text, fa['allowed_domains'], fa['comm'], fa['include_bpf'])
                result['skipped_records'] = skipped['total']
                result['skipped_reasons'] = skipped
                if not rules:
                    module.warn('no perf_event/capability2 denial of %s matched in the audit records '
                                '(%d lines skipped): nothing to install; run the workload as the confined '
                                'user first, or check from_audit.allowed_domains and comm'
                                % (', '.join(fa['allowed_domains']), skipped['total']))
                    has_source = False
                else:
                    te_text = au.render_te(name, rules)
            elif p['content'] is not None:
                te_text = p['content']
            if has_source:
                if te_text is None and p['src'].endswith('.te'):
                    with open(p['src'], 'rb') as f:
                        te_text = to_text(f.read(), errors='surrogate_or_strict')
                if te_text is not None:
                    classes = temod.required_classes(te_text)
                    if root is None:
                        missing = [c for c in classes
                                   if not os.path.exists(os.path.join(SELINUXFS, 'class', c))]
                        if missing:
                            module.fail_json(msg='the loaded policy lacks class %s: %s'
                                                 % (', '.join(missing), POLICY_BUILD_HINT), te=te_text)
                    desired_path = temod.compile_te(module, te_text, name, workdir)
                    result['te'] = te_text
                    result['rules'] = ['%s' % au.rule_text(r) for r in au.parse_allow_rules(te_text)]
                else:
                    src = p['src']
                    if not os.path.isfile(src):
                        module.fail_json(msg='src %s does not exist on the target' % src)
                    if not (src.endswith('.pp') or src.endswith('.cil')):
                        module.fail_json(msg='src must end in .te, .pp or .cil: %s' % src)
                    desired_path = temod.stage_file(src, name, workdir)
                if desired_path.endswith('.pp'):
                    desired_cil = to_text(sm.pp_to_cil(module, desired_path))
                else:
                    with open(desired_path, 'rb') as f:
                        desired_cil = to_text(f.read())
                if not result['rules']:
                    result['rules'] = [r for r in _cil_rules(desired_cil) if r.startswith('(allow')]
        desired_sum = sm.sha256_bytes(desired_cil.encode('utf-8')) if desired_cil is not None else None

        # --- plan ----------------------------------------------------------------------
        ops = []
        installed_sum = None
        if at_prio is not None:
            installed_sum = sm.installed_checksum(module, at_prio, root, store)
        need_install = has_source and state != 'absent' and desired_sum != installed_sum
        want_enabled = None
        if state in ('present', 'enabled'):
            want_enabled = True
        elif state == 'disabled':
            want_enabled = False

        if state == 'absent':
            if at_prio is not None:
                ops.append(['-r', name])
        elif need_install:
            # one transaction; -e/-d also fixes a reinstalled module that was disabled
            ops.append(['-i', desired_path])
            ops.append(['-e' if want_enabled else '-d', name])
        elif any_prio is None:
            if state in ('enabled', 'disabled'):
                module.fail_json(msg='module %s is not installed: give content, src or from_audit '
                                     'to install it' % name)
        elif state in ('enabled', 'disabled') and cur_enabled != want_enabled:
            ops.append(['-e' if want_enabled else '-d', name])
        elif state == 'present' and has_source and cur_enabled is False:
            ops.append(['-e', name])

        op_names = {'-i': 'install', '-r': 'remove', '-e': 'enable', '-d': 'disable'}
        result['operations'] = [op_names[o[0]] for o in ops]
        changed = bool(ops)
        result['changed'] = changed

        # --- diff ------------------------------------------------------------------------
        if module._diff:
            before_rules = []
            if at_prio is not None:
                if desired_sum is not None and installed_sum == desired_sum:
                    before_rules = _cil_rules(desired_cil)
                else:
                    before_rules = _cil_rules(sm.extract_cil(module, name, prio, root, store))
            before_state = 'absent' if at_prio is None else ('enabled' if cur_enabled else 'disabled')
            if state == 'absent':
                after_rules, after_state = [], 'absent'
            else:
                after_rules = _cil_rules(desired_cil) if need_install else before_rules
                if at_prio is None and not need_install:
                    after_state = 'absent'
                else:
                    after_state = 'enabled' if (want_enabled if ops else cur_enabled) else 'disabled'
            hdr = '%s@%d' % (name, prio)
            result['diff'] = dict(
                before_header=hdr, after_header=hdr,
                before='# %s\n%s\n' % (before_state, '\n'.join(before_rules)),
                after='# %s\n%s\n' % (after_state, '\n'.join(after_rules)))

        # --- act -------------------------------------------------------------------------
        if changed and not module.check_mode:
            try:
                sm.transaction(module, ops, root, store, prio, noreload)
            except sm.SemoduleError as e:
                msg = 'semodule failed, the store is unchanged: %s' % e.msg
                if re.search(r'Failed to resolve|[Uu]nknown class|class .* not defined', e.stderr or ''):
                    msg += ('. The module requires a type or class the policy lacks; if it is perf_event '
                            'or capability2 perfmon, ' + POLICY_BUILD_HINT)
                module.fail_json(msg=msg, te=te_text, rules=result['rules'])
            result['policy_rebuilt'] = True
            modules = sm.list_modules(module, root, store)
            at_prio = sm.find_module(modules, name, prio)
            any_prio = sm.find_module(modules, name)
            result['installed'] = at_prio is not None
            result['enabled'] = any_prio['enabled'] if any_prio else None
            result['checksum'] = sm.installed_checksum(module, at_prio, root, store) if at_prio else None
        else:
            # what is there (or, in check mode, what would be)
            others = [m for m in modules if m['name'] == name and m['priority'] != prio]
            if state == 'absent':
                result['installed'] = False
                result['enabled'] = others[-1]['enabled'] if others else None
            else:
                result['installed'] = at_prio is not None or need_install
                if ops and want_enabled is not None:
                    result['enabled'] = want_enabled
                else:
                    result['enabled'] = cur_enabled
                result['checksum'] = desired_sum if need_install else installed_sum
        result['commit_num'] = sm.commit_num(root, store)
    except temod.CompileError as e:
        module.fail_json(msg='%s; fix the .te and run again' % e.msg, te=te_text)
    except sm.SemoduleError as e:
        module.fail_json(msg=e.msg)
    finally:
        temod.cleanup(workdir)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
