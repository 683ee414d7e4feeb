#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_mac_facts
short_description: Gather SELinux and perf_event_open() access-control facts about a host
version_added: 0.1.0
description:
  - Reads what the kernel and the host say about mandatory access control for
    C(perf_event_open()), that is whether SELinux is enabled, its mode in C(/etc/selinux/config)
    and at runtime, the policy type, whether the loaded policy defines class C(perf_event)
    and capability2 C(perfmon), C(deny_unknown), the C(kernel.perf_event_*) sysctls,
    a pending C(/.autorelabel), the installed policy modules with priority, state and
    checksum, the perf binary with its file capabilities, and the installed C(selinux-policy) version.
  - It also gives the effective-access verdict (C(access)), who can use perf here, read in
    the kernel's order of gates (LSM hook, distro paranoid patch, SELinux open, paranoid and
    capabilities, SELinux cpu/kernel/tracepoint, lockdown); see module_utils/access.py.
  - For reports it also says where C(kernel.perf_event_paranoid) is set (which sysctl file wins
    at boot, or runtime only), counts recent C(perf_event) / C(capability2 perfmon) AVC denials
    from the tail of the audit log, describes what the C(perfsec.selinux.perf_users) role
    set up (group, privileged perf copy and its file capabilities) and when perfsec last
    changed the host.
  - Works on hosts without SELinux (it reports C(disabled) or C(absent)) and changes nothing.
  - Results are returned under C(ansible_facts.perfsec).
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
options:
  gather_modules:
    description:
      - List the installed SELinux policy modules (runs C(semodule -lfull -m)).
      - Costs a second or two per host; turn off when only the kernel state is needed.
    type: bool
    default: true
  module_filter:
    description:
      - Only report installed modules whose name matches one of these regular expressions.
      - The default reports every module at a priority other than 100 (the distribution's
        own modules sit at 100), which keeps the facts small.
    type: list
    elements: str
    default: []
  perf_path:
    description:
      - The perf binary to describe. Default is C(perf) from the PATH
        (with O(root), the first C(perf) in C(/usr/local/bin), C(/usr/bin), C(/bin),
        C(/usr/sbin), C(/sbin) below it).
    type: path
  root:
    description:
      - Read every file below this directory instead of C(/) (procfs, selinuxfs,
        C(/etc), C(/var), the perf binary); C(semodule) gets C(-p ROOT) (and C(-s) with the
        C(SELINUXTYPE) of C(ROOT/etc/selinux/config)).
      - For tests (fake roots) and for describing a mounted image; on a live host leave it alone.
    type: path
    default: /
  gather_denials:
    description:
      - Count recent C(perf_event) and C(capability2) C(perfmon)/C(bpf) AVC denials in O(audit_log).
    type: bool
    default: true
  audit_log:
    description:
      - The auditd log to read (host view; below O(root) when set). Rotated files are not read.
    type: path
    default: /var/log/audit/audit.log
  denials_max_bytes:
    description:
      - Read at most this many bytes from the end of O(audit_log), so a huge log costs nothing.
      - The result says whether the read was truncated.
    type: int
    default: 1048576
  denials_max_age:
    description:
      - Only count denials whose audit timestamp is at most this many seconds old.
        C(0) counts every denial in the bytes read.
    type: int
    default: 86400
  perf_users_group:
    description: The group the C(perfsec.selinux.perf_users) role manages (its C(perf_users_group)).
    type: str
    default: perf_users
  perf_users_dir:
    description: Directory of that role's privileged perf copy (its C(perf_users_dir)).
    type: path
    default: /opt/perf_users
  change_paths:
    description:
      - Files and directories whose newest modification time is reported as C(last_change)
        (directories are walked, at most 2000 entries). The store directories of the reported
        policy modules (C(/var/lib/selinux/STORE/active/modules/PRIORITY/NAME)) and the
        privileged perf copy of O(perf_users_dir) always count too.
      - The default holds the perfsec state directory (relabel marker, policy backups) and the
        drop-in of the C(perfsec.selinux.paranoid) role.
    type: list
    elements: path
    default: [/var/lib/perfsec, /etc/sysctl.d/99-zz-perfsec-perf.conf]
  expected_access:
    description:
      - Who the operator expects to be able to use perf on this host, as a map from a row of
        C(ansible_facts.perfsec.access.rows) (C(root), C(perf_users), C(other), or a confined
        SELinux domain such as C(user_t)) to C(allowed), C(partial) or C(blocked).
      - A row whose verdict differs, or a name without a row, is listed in
        C(access.mismatches) (the report flags it as C(access)). Nothing fails.
    type: dict
    default: {}
  intended_access:
    description:
      - Rows of C(access) (C(perf_users), a confined domain such as C(user_t), C(other); C(unconfined_t)
        means C(other)) that should be able to use perf. Each one blocked (or without a row) is listed in
        C(access.intended_blocked) with its gate and reason, and the task warns once per row. Nothing fails.
    type: list
    elements: str
    default: []
  require_perf_event_class:
    description:
      - Fail when SELinux is enabled and the loaded policy has no class C(perf_event), naming the remedy
        (perfsec.selinux.enable_perf_mac rebuilds and installs the policy). A host without SELinux enabled passes.
      - For playbooks that only install the perf module (perfsec.selinux.open_perf_access).
    type: bool
    default: false
  audit_rule_path:
    description:
      - The rules file of perfsec.selinux.perf_audit_rule, reported as C(audit_rule) (present, written by
        perfsec, current).
    type: path
    default: /etc/audit/rules.d/perfsec-perf.rules
  audit_key:
    description:
      - The audit key of that rule; SYSCALL records with it in the tail of O(audit_log) (O(denials_max_bytes),
        O(denials_max_age)) are summarised in C(audit_rule.hits) (with O(gather_denials)).
    type: str
    default: perfsec-perf
  plan:
    description:
      - Also decide what the perf MAC rollout must do on this host, with the reason read from
        the host for each step, and return it as C(ansible_facts.perfsec.plan). The decision
        rules are module_utils/plan.py's (README, "Decision rules"); the playbooks only carry
        the steps out, and a host whose plan is C(converged) costs this one call.
      - When no SELinux policy is loaded, the policy installed on disk (the module store's base
        module) is read instead of the loaded one.
    type: dict
    suboptions:
      profile:
        description:
          - C(stig) plans the step C(paranoid) when the STIG / ComplianceAsCode check of
            C(kernel.perf_event_paranoid) (C(ansible_facts.perfsec.stig)) fails - the running value or
            the last assignment in systemd-sysctl order is not 2.
        type: str
        choices: [default, stig]
        default: default
      audit_rule:
        description:
          - The perf_event_open() audit rule is wanted; plans the step C(audit_rule) when its file
            (O(audit_rule_path)) is missing or differs.
        type: bool
        default: false
      build:
        description:
          - C(auto) rebuilds the policy when the kernel has the perf_event hook and the policy
            lacks class C(perf_event), or lacks capability2 C(perfmon) while the kernel has
            CAP_PERFMON and the policy denies unknown permissions; C(always); C(never) (the plan
            then says in C(notes) what a rebuild would have been for).
        type: str
        choices: [auto, always, never]
        default: auto
      require_perfmon:
        description: Also rebuild a policy that only lacks C(perfmon) and allows unknown permissions.
        type: bool
        default: false
      final_mode:
        description: The SELinux mode the host should end in.
        type: str
        choices: [enforcing, permissive]
        default: enforcing
      relabel_mode:
        description:
          - C(auto) relabels only when new policy packages are installed on this run, SELinux
            is being enabled, or C(/.autorelabel) is pending; C(always); C(never).
        type: str
        choices: [auto, always, never]
        default: auto
      policy_installed:
        description: The caller installed new policy packages on this run (a reason to relabel).
        type: bool
        default: false
      class_source:
        description:
          - Where class C(perf_event) comes from when the policy lacks it.
          - C(rebuild) (the seed's procedure) rebuilds and installs the policy packages; their
            C(%post) loads the new policy live where SELinux is enabled, so no reboot.
          - C(module) declares the class with the CIL module C(perfsec_perf_event) at priority 250
            (one C(semodule) transaction; no rebuild, no package replaced, no reboot; it survives
            policy package updates). A module cannot add C(perfmon) to capability2; where the
            policy lacks it the plan notes "perfmon not mediated", and a policy that must have
            perfmon (it denies unknown permissions on a CAP_PERFMON kernel, or
            O(plan.require_perfmon)) is rebuilt instead.
        type: str
        choices: [rebuild, module]
        default: rebuild
      module:
        description: The perf policy module the host should have (omit to leave modules out of the plan).
        type: dict
        suboptions:
          name:
            description: Module name.
            type: str
            required: true
          priority:
            description: Store priority.
            type: int
            default: 300
          state:
            description: As perfsec.selinux.perf_semodule's O(perfsec.selinux.perf_semodule#module:state).
            type: str
            choices: [present, absent, enabled, disabled]
            default: present
          content:
            description:
              - The wanted .te; it is compiled in a private temporary directory (checkmodule,
                semodule_package) and its checksum compared with the installed module's.
            type: str
          grant:
            description:
              - The declared module perfsec.selinux.perf_semodule renders for its O(plan.module.grant)
                (the same .te), compared like O(plan.module.content).
            type: dict
            suboptions:
              domains:
                description: Source domains.
                type: list
                elements: str
                required: true
              permissions:
                description: perf_event permissions.
                type: list
                elements: str
                choices: [open, cpu, kernel, tracepoint, read, write]
                default: [open, cpu, kernel, tracepoint, read, write]
          generate:
            description:
              - The module is generated from denials; the host needs it when it is missing,
                disabled, or O(gather_denials) finds perf_event denials of
                O(plan.module.allowed_domains) (within O(denials_max_age)) for a permission
                the installed module does not grant.
            type: bool
            default: false
          allowed_domains:
            description: With O(plan.module.generate), the domains whose denials count.
            type: list
            elements: str
            default: [unconfined_t]
notes:
  - Read-only; check mode is supported and returns the same facts.
  - Uses only selinuxfs, procfs and files, plus C(semodule), C(getcap) and C(rpm) when they are installed.
  - Denials are read from the raw auditd log, not with C(ausearch), so the cost is bounded by
    O(denials_max_bytes); hosts logging AVCs only to the journal report C(available=false).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
seealso:
  - module: perfsec.selinux.perf_semodule
  - module: perfsec.selinux.perf_paranoid
'''

EXAMPLES = r'''
- name: Gather perf MAC facts
  perfsec.selinux.perf_mac_facts:

- name: Decide whether the policy needs the perf_event rebuild
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs the policy rebuild"
  when:
    - ansible_facts.perfsec.selinux.enabled
    - not ansible_facts.perfsec.selinux.perf_event_class

- name: Refuse a policy without class perf_event before installing the perf module
  perfsec.selinux.perf_mac_facts:
    gather_modules: false
    require_perf_event_class: true

- name: Only our own modules, quickly
  perfsec.selinux.perf_mac_facts:
    module_filter:
      - '^perf'
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    perfsec:
      description: Everything this module found, under one key.
      type: complex
      returned: always
      contains:
        selinux:
          description:
            - SELinux state. C(status) is C(enabled), C(disabled) (config present, kernel off)
              or C(absent) (no SELinux configuration and no selinuxfs).
            - C(mode) is the runtime mode (C(enforcing), C(permissive), C(disabled));
              C(config_mode) and C(policy_type) come from C(/etc/selinux/config).
            - C(perf_event_class), C(perf_event_perms), C(perfmon), C(bpf) describe the loaded policy.
          type: dict
          returned: always
          sample:
            status: enabled
            enabled: true
            mode: enforcing
            config_mode: enforcing
            config_exists: true
            policy_type: targeted
            policyvers: 33
            deny_unknown: true
            reject_unknown: false
            mls: true
            perf_event_class: true
            perf_event_perms: [cpu, kernel, open, read, tracepoint, write]
            perfmon: true
            bpf: true
            autorelabel_pending: false
        kernel:
          description: Kernel release, whether the host looks like a container, and the perf sysctls (null where absent).
          type: dict
          returned: always
          sample:
            release: 6.1.0-28-amd64
            cap_perfmon: true
            perf_event_hook: true
            perf_event_hook_source: kallsyms
            container: false
            perf_event_paranoid: 2
            version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)'
            lockdown: none
            paranoid_variant:
              variant: debian
              source: version
              evidence: 'Debian kernel build (#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22))'
            perf_event_mlock_kb: 516
            perf_event_max_sample_rate: 100000
            perf_cpu_time_max_percent: 25
            kptr_restrict: 0
            paranoid_source:
              runtime: 2
              boot: '2'
              file: /etc/sysctl.d/99-zz-perfsec-perf.conf
              line: 4
              managed: true
              state: file
              entries:
                - path: /etc/sysctl.d/99-zz-perfsec-perf.conf
                  line: 4
                  value: '2'
          contains:
            lockdown:
              description:
                - The kernel lockdown mode from C(/sys/kernel/security/lockdown) (C(none),
                  C(integrity), C(confidentiality)), null where the file is missing.
              type: str
              returned: always
            paranoid_variant:
              description:
                - What C(perf_event_paranoid) above 2 means on this kernel. C(variant) C(debian) or
                  C(ubuntu) (the CONFIG_SECURITY_PERF_EVENTS_RESTRICT patch - 3 and above refuse
                  every process without CAP_SYS_ADMIN before SELinux is asked) or C(upstream) (-1..2,
                  higher values act as 2); C(source) the evidence used (C(config), C(version),
                  C(default), C(release), C(none)); C(evidence) in words.
              type: dict
              returned: always
            paranoid_source:
              description:
                - Where C(kernel.perf_event_paranoid) comes from, by the boot-time precedence of
                  systemd-sysctl and procps (see module_utils/sysctl.py).
                - C(entries) lists every assignment in application order; the last one wins at
                  boot (C(boot), C(file), C(line)). C(managed) is true when that file was written
                  by perfsec (its first line says C(Managed by perfsec.selinux)).
                - C(state) is C(file) (a file sets the runtime value), C(runtime_only) (no file
                  sets it, so the kernel default or a runtime write), or C(runtime_differs) (a file sets
                  another value than the running kernel has).
              type: dict
              returned: always
        modules:
          description:
            - Installed policy modules (filtered by I(module_filter)) with priority, enabled and
              the sha256 of their CIL, and C(perf_rules), their allow rules of class C(perf_event)
              and C(capability2 perfmon) (read from the CIL the store keeps). Empty when C(semodule)
              is missing or I(gather_modules=false).
          type: list
          elements: dict
          returned: always
          sample:
            - name: perf_local
              priority: 300
              enabled: true
              checksum: sha256:6f1d...
              lang: pp
              perf_rules:
                - {source: user_t, target: self, class: perf_event, perms: [cpu, kernel, open]}
        modules_error:
          description: Why the module list is empty when listing failed, else null.
          type: str
          returned: always
        perf:
          description: The perf binary (null path when not installed) and its file capabilities.
          type: dict
          returned: always
          sample:
            path: /usr/bin/perf
            real_path: /usr/bin/perf
            capabilities: ''
        perf_users:
          description:
            - What the C(perfsec.selinux.perf_users) role set up, when detectable. C(group_exists),
              C(gid), C(members) come from the group database (C(ROOT/etc/group) with O(root));
              C(binary) is C(PERF_USERS_DIR/perf) when present, with its octal C(mode), owning
              C(binary_group) and file C(capabilities) (null when getcap is missing).
          type: dict
          returned: always
          sample:
            group: perf_users
            group_exists: true
            gid: 998
            members: [alice]
            dir: /opt/perf_users
            binary: /opt/perf_users/perf
            binary_mode: '0750'
            binary_group: perf_users
            capabilities: cap_perfmon,cap_sys_ptrace,cap_syslog=ep
        denials:
          description:
            - Recent denied AVC records of class C(perf_event), and of class C(capability2) for
              C(perfmon)/C(bpf), parsed by module_utils/audit.py from the last O(denials_max_bytes)
              bytes of O(audit_log), at most O(denials_max_age) seconds old.
            - C(groups) aggregates them per source domain and class; C(first)/C(last) are epoch
              seconds of the oldest/newest counted record. C(available) is false (and C(error)
              says why) when the log cannot be read; C(enabled) is false with I(gather_denials=false).
          type: dict
          returned: always
          sample:
            enabled: true
            available: true
            error: null
            log: /var/log/audit/audit.log
            bytes_read: 1048576
            truncated: true
            max_age: 86400
            count: 3
            perms: [cpu, open]
            domains: [user_t]
            classes: [perf_event]
            comms: [perf]
            first: 1732800000.123
            last: 1732800100.456
            groups:
              - stype: user_t
                tclass: perf_event
                perms: [cpu, open]
                count: 3
        plan:
          description:
            - Only with O(plan). C(steps) lists, in the order the plays run them, each step the
              host needs (C(policy_build), C(policy_install), C(class_module), C(selinux_enable),
              C(permissive), C(relabel), C(paranoid), C(audit_rule), C(final_mode), C(module);
              C(module) before C(final_mode) where C(probe_permissive) says why) with its
              C(reason); C(reasons) the same as a dict (step - reason); C(needs)
              maps every step to a bool; C(converged) is true when there is none. C(supported) is
              false on a kernel without the SELinux perf_event hook (nothing is planned then).
              C(notes) says what was decided against and why; C(policy) which policy was read
              (C(loaded), C(installed) on disk, or C(unknown)) and C(policy.class_from) where
              class perf_event comes from (C(policy), C(module perfsec_perf_event), or null when
              it is not defined); C(module) the perf module's state; C(class_module) the class
              module's (name, priority, installed, enabled, checksum, desired_checksum, and
              C(cil), the text to install on the module route); C(summary) one line for the
              play output.
            - C(probe_permissive) is null, or why the perf module is generated before the
              C(final_mode) step (a host that is permissive at that point and goes enforcing, with
              a probe user) - one probe then logs every permission perf uses, and one transaction
              installs the module; perf is verified after the switch to enforcing.
          type: dict
          returned: when O(plan) is set
          sample:
            converged: false
            supported: true
            steps:
              - step: module
                reason: perfsec_perf@300 is not installed
            reasons: {module: perfsec_perf@300 is not installed}
            needs: {policy_build: false, policy_install: false, class_module: false,
                    selinux_enable: false, permissive: false, relabel: false, final_mode: false,
                    module: true}
            notes: []
            probe_permissive: null
            summary: module (perfsec_perf@300 is not installed)
        policy_packages:
          description:
            - The rebuilt policy packages perfsec last installed (policy_install's newest record
              under C(/var/lib/perfsec/policy-backup), unless rollback has reinstalled the
              originals since), and whether they are still installed (C(current), from C(rpm -q);
              null when rpm cannot tell). C(current=false) means a package update replaced them;
              on the rebuild route the next run rebuilds (the report flags it as
              C(policy_replaced)). Null when perfsec never installed rebuilt packages here.
          type: dict
          returned: always
          sample:
            installed: [selinux-policy-2.20221101-48.fc31like.perf1.noarch]
            path: /var/lib/perfsec/policy-backup/3f2a.../state.json
            current: false
        selinux_policy_package:
          description:
            - The installed C(selinux-policy) package (C(rpm -q), below O(root)) - C(version) its
              VERSION-RELEASE, null when it is not installed or rpm cannot tell (no rpm, no rpm database),
              and C(detail) then says why (rpm's words). The role perfsec.selinux.policy_build reads it
              on the first host of the play for C(dnf download --source).
          type: dict
          returned: always
          sample: {version: 3.14.4-48.fc31, detail: ''}
        access:
          description:
            - The effective-access verdict (module_utils/access.py) - who can use perf on this host.
              C(rows) has one entry for C(root) (uid 0 or CAP_SYS_ADMIN, unconfined), C(perf_users)
              (members running the role's privileged perf copy with its file capabilities), each
              confined SELinux domain that a local module grants perf_event to, that asks for it in
              recent denials or that O(expected_access) names, and C(other) (any other user).
            - Each row has C(verdict) (C(allowed) - own processes, CPU-wide, kernel and tracepoints;
              C(partial) - some of them; C(blocked) - none), C(gate) (C(hook), C(paranoid),
              C(capability), C(selinux), C(lockdown)) that decided it, C(reason) in one sentence
              (C(why) is its second half, without the row's name),
              C(uses) (C(open), C(cpu), C(kernel), C(tracepoint)) and, with O(expected_access),
              C(expected) and C(mismatch).
            - C(mismatches) lists the rows that differ from O(expected_access); C(intended_blocked) the rows
              of O(intended_access) that are blocked (C(who), C(verdict), C(gate), C(reason)); C(who_can) the rows
              not blocked; C(only_root) is true when root is the only one; C(summary) one line.
          type: dict
          returned: always
          sample:
            rows:
              - who: root
                verdict: allowed
                gate: capability
                reason: >-
                  root (uid 0, CAP_SYS_ADMIN, unconfined) can use perf fully: CAP_SYS_ADMIN passes
                  perf_event_paranoid and the policy grants unconfined domains class perf_event.
                uses: {open: true, cpu: true, kernel: true, tracepoint: true}
              - who: other
                verdict: blocked
                gate: paranoid
                reason: >-
                  any other user (unprivileged, unconfined) cannot use perf: perf_event_paranoid 3
                  (debian) refuses perf_event_open() without CAP_SYS_ADMIN before SELinux is asked (no AVC).
                uses: {open: false, cpu: false, kernel: false, tracepoint: false}
                expected: blocked
                mismatch: false
            expected: {other: blocked}
            mismatches: []
            who_can: [root]
            only_root: true
            summary: only root can use perf
        paranoid_gate:
          description:
            - Whether the distro paranoid patch refuses every process without CAP_SYS_ADMIN right now,
              before SELinux is asked (C(blocks)) - then a probe as an unprivileged user logs no
              perf_event denial. C(level) the running perf_event_paranoid, C(variant) as in
              C(kernel.paranoid_variant), C(restrict_level) the level from which the patch refuses
              (null on upstream kernels), C(reason) in words. The role perfsec.selinux.perf_module
              stops on it, or lowers the level for its probe when asked.
          type: dict
          returned: always
          sample: {blocks: true, level: 3, variant: debian, restrict_level: 3, reason: "kernel.perf_event_paranoid is 3 ..."}
        os:
          description: C(id), C(id_like), C(version_id), C(pretty_name) from os-release (null where absent).
          type: dict
          returned: always
          sample: {id: rhel, id_like: fedora, version_id: '9.4', pretty_name: Red Hat Enterprise Linux 9.4}
        stig:
          description:
            - The DISA STIG / ComplianceAsCode check of rule C(sysctl_kernel_perf_event_paranoid)
              (module_utils/compliance.py) - C(kernel.perf_event_paranoid) must be exactly 2 at runtime and
              in the last assignment in systemd-sysctl --cat-config order. C(status) C(pass) or C(fail),
              C(file) and C(line) of the assignment that wins at boot, C(boot), C(runtime), C(earlier)
              (earlier assignments of another value), C(cce) (CCE-81054-9 RHEL 8, CCE-83959-7 RHEL 9,
              CCE-90142-1 RHEL 10, null elsewhere), C(product), C(reason).
          type: dict
          returned: always
          sample:
            rule: sysctl_kernel_perf_event_paranoid
            cce: null
            product: null
            expected: 2
            status: fail
            boot: null
            file: null
            line: null
            runtime: 3
            earlier: []
            reason: 'kernel.perf_event_paranoid must be 2: no sysctl file sets kernel.perf_event_paranoid ...'
        kptr:
          description:
            - What C(kernel.kptr_restrict) (also in C(kernel.kptr_restrict)) means for perf - C(symbols) says
              for C(root), C(perf_users) (its copy has cap_syslog or not) and C(other) whether kernel symbols
              resolve (0 everybody, 1 CAP_SYSLOG only, 2 nobody).
          type: dict
          returned: always
          sample: {value: 1, meaning: kernel addresses hidden unless CAP_SYSLOG ...,
                   symbols: {root: true, perf_users: true, other: false}}
        audit_rule:
          description:
            - The perf_event_open() audit rule of perfsec.selinux.perf_audit_rule - C(present), C(managed)
              (written by perfsec), C(current) (the rule this host's architecture gets, mode 0600), C(mode);
              and C(hits), the SYSCALL records with its key in the tail of the audit log - C(count),
              C(success), C(failed), C(first)/C(last) (epoch), C(users) (by login uid, name where the log is
              enriched), C(uids), C(comms), C(exes), C(domains) (each a list of C(name)/C(count), at most 10),
              C(summary) in words, C(available)/C(error).
          type: dict
          returned: always
          sample:
            path: /etc/audit/rules.d/perfsec-perf.rules
            key: perfsec-perf
            present: true
            managed: true
            current: true
            mode: '0600'
            hits: {count: 2, success: 1, failed: 1, users: [{name: perfuser, count: 2}],
                   summary: 2 perf_event_open() (1 failed) by perfuser (2)}
        class_module:
          description:
            - The name and priority of the CIL module that declares class C(perf_event) on the module
              route (C(perfsec_class_source=module)); O(plan) returns its state in C(plan.class_module).
          type: dict
          returned: always
          sample: {name: perfsec_perf_event, priority: 250}
        last_change:
          description:
            - When perfsec last changed this host, as far as files show it - the newest
              modification time among O(change_paths) (walked), the store directories of the
              reported policy modules and the privileged perf copy. C(time) is epoch seconds,
              C(iso) the same in UTC, C(path) the file that has it; all null when none exists.
          type: dict
          returned: always
          sample:
            time: 1732800000.0
            iso: '2024-11-28T13:20:00Z'
            path: /var/lib/selinux/default/active/modules/300/my-perf
'''

import os
import re
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import access as accessmod
from ansible_collections.perfsec.selinux.plugins.module_utils import auditrules
from ansible_collections.perfsec.selinux.plugins.module_utils import compliance
from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils.audit import parse_avc
from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    PROC_ROOT, SELINUXFS, file_capabilities, in_container, read_sysctl, read_text,
)
from ansible_collections.perfsec.selinux.plugins.module_utils import plan as planner
from ansible_collections.perfsec.selinux.plugins.module_utils import policybuild
from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import (
    SELINUX_CONFIG, read_config, runtime_state,
)
from ansible_collections.perfsec.selinux.plugins.module_utils.sysctl import (
    DEFAULT_DROPIN, PARANOID, find_entries, kernel_config_text, rooted, unrooted, written_by_perfsec,
)

PERF_SYSCTLS = (
    'kernel.perf_event_paranoid',
    'kernel.perf_event_mlock_kb',
    'kernel.perf_event_max_sample_rate',
    'kernel.perf_cpu_time_max_percent',
    'kernel.kptr_restrict',
)
AUDIT_LOG = '/var/log/audit/audit.log'
PERFSEC_STATE_DIR = C.STATE_DIR
POLICY_BACKUP_DIR = C.POLICY_BACKUP_DIR
PERF_SEARCH_DIRS = ('/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin')
AUDIT_TS_RE = re.compile(r'audit\((\d+(?:\.\d+)?):\d+\)')
DENIAL_CLASSES = {'perf_event': None, 'capability2': frozenset(['perfmon', 'bpf'])}
WALK_LIMIT = 2000


def gather_selinux(selinuxfs=SELINUXFS, config=SELINUX_CONFIG, root='/'):
    facts = runtime_state(selinuxfs)
    conf = read_config(config)
    facts['config_exists'] = conf['exists']
    facts['config_mode'] = conf['mode']
    facts['policy_type'] = conf['policy_type']
    if facts['enabled']:
        facts['status'] = 'enabled'
    elif conf['exists']:
        facts['status'] = 'disabled'
    else:
        facts['status'] = 'absent'
    facts['autorelabel_pending'] = os.path.exists(os.path.join(root, '.autorelabel'))
    return facts


def gather_kernel(proc_root=PROC_ROOT, root='/'):
    facts = {
        'release': read_text(os.path.join(proc_root, 'sys/kernel/osrelease')),
        'container': in_container(proc_root, root),
    }
    facts['cap_perfmon'] = planner.cap_perfmon(proc_root)
    hook = planner.kernel_hook(proc_root)
    facts['perf_event_hook'] = hook['present']
    facts['perf_event_hook_source'] = hook['source']
    for name in PERF_SYSCTLS:
        facts[name.split('.', 1)[1]] = read_sysctl(name, proc_root)
    facts['paranoid_source'] = paranoid_source(facts['perf_event_paranoid'], root)
    # for the access verdict: the kernel build string, lockdown, and what paranoid > 2 means here
    facts['version'] = read_text(os.path.join(proc_root, 'sys/kernel/version'))
    lockdown = read_text(rooted(root, accessmod.LOCKDOWN_PATH))
    facts['lockdown'] = accessmod.parse_lockdown(lockdown) if lockdown is not None else None
    facts['paranoid_variant'] = accessmod.paranoid_variant(
        kernel_config_text(proc_root, root, facts['release']), facts['version'], facts['release'],
        facts['perf_event_paranoid'], facts['paranoid_source']['state'])
    return facts


def _int_or_none(value):
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError):
        return None


def paranoid_source(runtime, root='/'):
    """Which sysctl file sets kernel.perf_event_paranoid at boot (module_utils.sysctl order)."""
    entries = find_entries([PARANOID], root)
    out = {'runtime': runtime, 'boot': None, 'file': None, 'line': None, 'managed': False,
           'state': 'runtime_only',
           'entries': [{'path': e['path'], 'line': e['line'], 'value': e['value']} for e in entries]}
    if not entries:
        return out
    win = entries[-1]
    out['boot'] = win['value']
    out['file'] = win['path']
    out['line'] = win['line']
    out['managed'] = written_by_perfsec(read_text(win['file'], ''))
    out['state'] = 'file' if _int_or_none(win['value']) == runtime else 'runtime_differs'
    return out


def store_name(root='/'):
    return read_config(rooted(root, SELINUX_CONFIG))['policy_type']


def gather_modules(module, patterns, root='/'):
    try:
        from ansible_collections.perfsec.selinux.plugins.module_utils.semodule import list_host_modules
    except ImportError:  # pragma: no cover - only during development
        return [], 'semodule helpers unavailable'
    if not module.get_bin_path('semodule'):
        return [], 'semodule is not installed'
    try:
        mods = list_host_modules(module, root)
    except Exception as e:  # the store may be missing or locked; facts must not fail
        return [], str(e)
    if patterns:
        regexes = [re.compile(p) for p in patterns]
        mods = [m for m in mods if any(r.search(m['name']) for r in regexes)]
    else:
        mods = [m for m in mods if m['priority'] != 100]
    sdir = planner_store_dir(root)
    for m in mods:
        # the perf_event / capability2 perfmon rules, read from the CIL the store keeps (a file read)
        m['perf_rules'] = accessmod.perf_rules(planner.store_cil(sdir, m['name'], m['priority'])) if sdir else []
    return mods, None


def planner_store_dir(root='/'):
    """ROOT/var/lib/selinux/STORE, or None without SELINUXTYPE."""
    store = store_name(root)
    return rooted(root, '/var/lib/selinux/%s' % store) if store else None


def find_perf(module, path=None, root='/'):
    """Rooted path of the perf binary to describe, or None."""
    if path:
        return rooted(root, path)
    if not root or root == '/':
        return module.get_bin_path('perf')
    for d in PERF_SEARCH_DIRS:
        cand = rooted(root, os.path.join(d, 'perf'))
        if os.path.isfile(cand):
            return cand
    return None


def gather_perf(module, path=None, root='/'):
    perf = find_perf(module, path, root)
    if not perf or not os.path.exists(perf):
        return {'path': None, 'real_path': None, 'capabilities': None}
    real = os.path.realpath(perf)
    return {'path': unrooted(root, perf), 'real_path': unrooted(root, real),
            'capabilities': file_capabilities(module, real)}


def _group_db(root='/'):
    """[(name, gid, [members])] from ROOT/etc/group, or from the NSS database on /."""
    if not root or root == '/':
        import grp
        try:
            return [(g.gr_name, g.gr_gid, list(g.gr_mem)) for g in grp.getgrall()]
        except Exception:  # NSS backends may fail; fall back to the file
            pass
    out = []
    for line in (read_text(rooted(root, '/etc/group'), '') or '').splitlines():
        parts = line.split(':')
        if len(parts) < 4 or not parts[0] or parts[0].startswith('#'):
            continue
        members = [m for m in parts[3].split(',') if m]
        out.append((parts[0], _int_or_none(parts[2]), members))
    return out


def gather_perf_users(module, group, directory, root='/'):
    facts = {'group': group, 'group_exists': False, 'gid': None, 'members': [],
             'dir': directory, 'binary': None, 'binary_mode': None, 'binary_group': None,
             'capabilities': None}
    groups = _group_db(root)
    for name, gid, members in groups:
        if name == group:
            facts.update(group_exists=True, gid=gid, members=sorted(members))
            break
    binary = os.path.join(directory, 'perf')
    real = rooted(root, binary)
    try:
        st = os.stat(real)
    except OSError:
        return facts
    if not stat.S_ISREG(st.st_mode):
        return facts
    names = dict((gid, name) for name, gid, members in groups)
    facts.update(binary=binary, binary_mode='%04o' % stat.S_IMODE(st.st_mode),
                 binary_group=names.get(st.st_gid, str(st.st_gid)),
                 capabilities=file_capabilities(module, real))
    return facts


def read_tail(path, max_bytes):
    """(text, bytes_read, truncated) of the last ``max_bytes`` of ``path``; a partial first
    line is dropped when the read starts mid-file. Raises IOError/OSError."""
    with open(path, 'rb') as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        start = max(0, size - max_bytes)
        f.seek(start)
        data = f.read(size - start)
    if start > 0:
        nl = data.find(b'\n')
        data = data[nl + 1:] if nl >= 0 else b''
    return data.decode('utf-8', 'replace'), size - start, start > 0


def count_denials(text, max_age=0, now=None):
    """Denied perf_event (and capability2 perfmon/bpf) AVCs in ``text``, newer than max_age."""
    now = time.time() if now is None else now
    groups = {}
    first = last = None
    count = 0
    comms = set()
    for line in text.split('\n'):     # as audit.generate_rules: \n only, never \f, \x1c, U+2028...
        if 'avc:' not in line:
            continue
        rec = parse_avc(line)
        if not rec or rec['result'] != 'denied' or rec['tclass'] not in DENIAL_CLASSES:
            continue
        allowed = DENIAL_CLASSES[rec['tclass']]
        perms = [p for p in rec['perms'] if allowed is None or p in allowed]
        if not perms:
            continue
        m = AUDIT_TS_RE.search(line)
        ts = float(m.group(1)) if m else None
        if max_age and ts is not None and ts < now - max_age:
            continue
        count += 1
        if ts is not None:
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
        if rec['comm']:
            comms.add(rec['comm'])
        g = groups.setdefault((rec['stype'], rec['tclass']), {'perms': set(), 'count': 0})
        g['perms'].update(perms)
        g['count'] += 1
    out_groups = [{'stype': k[0], 'tclass': k[1], 'perms': sorted(v['perms']), 'count': v['count']}
                  for k, v in sorted(groups.items())]
    perms = set()
    for g in out_groups:
        perms.update(g['perms'])
    return {'count': count, 'perms': sorted(perms),
            'domains': sorted(set(g['stype'] for g in out_groups)),
            'classes': sorted(set(g['tclass'] for g in out_groups)),
            'comms': sorted(comms), 'first': first, 'last': last, 'groups': out_groups}


def no_denials(log=AUDIT_LOG, max_age=86400, enabled=True):
    facts = {'enabled': enabled, 'available': False, 'error': None, 'log': log, 'bytes_read': 0,
             'truncated': False, 'max_age': max_age}
    facts.update(count_denials(''))
    return facts


def gather_denials(log=AUDIT_LOG, max_bytes=1048576, max_age=86400, root='/', now=None):
    facts = no_denials(log, max_age)
    try:
        text, facts['bytes_read'], facts['truncated'] = read_tail(rooted(root, log), max_bytes)
    except (IOError, OSError) as e:
        facts['error'] = 'cannot read %s: %s' % (log, e.strerror or e)
        return facts
    facts['available'] = True
    facts.update(count_denials(text, max_age, now))
    return facts


def gather_os(root='/'):
    """ID, VERSION_ID, PRETTY_NAME of /etc/os-release (or /usr/lib/os-release); Nones when absent."""
    osr = {}
    for path in ('/etc/os-release', '/usr/lib/os-release'):
        text = read_text(rooted(root, path))
        if text:
            osr = compliance.parse_os_release(text)
            break
    return dict((k.lower(), osr.get(k)) for k in ('ID', 'ID_LIKE', 'VERSION_ID', 'PRETTY_NAME'))


def gather_audit_rule(path, key, log, max_bytes, max_age, root='/', enabled=True, now=None):
    """The perf_audit_rule file's state (module_utils/auditrules.file_state) and the hits of its key in
    the tail of the audit log (auditrules.count_hits)."""
    real = rooted(root, path)
    text, mode = None, None
    try:
        st = os.lstat(real)
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode)
            with open(real, 'rb') as f:
                text = f.read(65536).decode('utf-8', 'replace')
    except OSError:
        pass
    facts = {'path': path, 'key': key}
    facts.update(auditrules.file_state(text, mode, auditrules.abis(os.uname()[4]), key))
    hits = {'enabled': enabled, 'available': False, 'error': None}
    hits.update(auditrules.count_hits(''))
    if enabled:
        try:
            tail, _n, hits['truncated'] = read_tail(rooted(root, log), max_bytes)
            hits['available'] = True
            hits.update(auditrules.count_hits(tail, key, max_age, time.time() if now is None else now))
        except (IOError, OSError) as e:
            hits['error'] = 'cannot read %s: %s' % (log, e.strerror or e)
    hits['summary'] = auditrules.hits_summary(hits)
    facts['hits'] = hits
    return facts


def _newest(path, best, budget):
    """Walk ``path`` (rooted) updating best = [mtime, path]; budget = [entries left].

    Depth first, names sorted, without recursion (a directory chain deeper than Python's
    recursion limit is walked like any other): ``path`` itself is always looked at, every
    entry below it only while budget is left; symlinks are not followed.
    """
    stack = [(path, True)]
    while stack:
        cur, top = stack.pop()
        if not top and budget[0] <= 0:
            return
        try:
            st = os.lstat(cur)
        except OSError:
            continue
        budget[0] -= 1
        if best[0] is None or st.st_mtime > best[0]:
            best[0], best[1] = st.st_mtime, cur
        if not stat.S_ISDIR(st.st_mode):
            continue
        try:
            names = sorted(os.listdir(cur))
        except OSError:
            continue
        for name in reversed(names):
            stack.append((os.path.join(cur, name), False))


def gather_last_change(paths, modules, perf_users, root='/'):
    cands = list(paths)
    store = store_name(root)
    if store:
        for m in modules:
            cands.append('/var/lib/selinux/%s/active/modules/%d/%s' % (store, m['priority'], m['name']))
    if perf_users.get('binary'):
        cands.append(perf_users['binary'])
    best = [None, None]
    budget = [WALK_LIMIT]
    for p in cands:
        _newest(rooted(root, p), best, budget)
    if best[0] is None:
        return {'time': None, 'iso': None, 'path': None}
    return {'time': round(best[0], 3),
            'iso': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(best[0])),
            'path': unrooted(root, best[1])}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather_modules=dict(type='bool', default=True),
            module_filter=dict(type='list', elements='str', default=[]),
            perf_path=dict(type='path'),
            root=dict(type='path', default='/'),
            gather_denials=dict(type='bool', default=True),
            audit_log=dict(type='path', default=AUDIT_LOG),
            denials_max_bytes=dict(type='int', default=1048576),
            denials_max_age=dict(type='int', default=86400),
            perf_users_group=dict(type='str', default=C.PERF_USERS_GROUP),
            perf_users_dir=dict(type='path', default=C.PERF_USERS_DIR),
            change_paths=dict(type='list', elements='path',
                              default=[PERFSEC_STATE_DIR, DEFAULT_DROPIN]),
            expected_access=dict(type='dict', default={}),
            intended_access=dict(type='list', elements='str', default=[]),
            require_perf_event_class=dict(type='bool', default=False),
            audit_rule_path=dict(type='path', default=auditrules.DEFAULT_PATH),
            audit_key=dict(type='str', default=auditrules.KEY, no_log=False),
            plan=dict(type='dict', options=dict(
                profile=dict(type='str', default='default', choices=list(compliance.PROFILES)),
                audit_rule=dict(type='bool', default=False),
                build=dict(type='str', default='auto', choices=list(planner.BUILD_CHOICES)),
                require_perfmon=dict(type='bool', default=False),
                final_mode=dict(type='str', default='enforcing', choices=list(planner.FINAL_MODES)),
                relabel_mode=dict(type='str', default='auto', choices=list(planner.RELABEL_CHOICES)),
                policy_installed=dict(type='bool', default=False),
                class_source=dict(type='str', default='rebuild', choices=list(planner.CLASS_SOURCES)),
                module=dict(type='dict', options=dict(
                    name=dict(type='str', required=True),
                    priority=dict(type='int', default=300),
                    state=dict(type='str', default='present', choices=list(planner.MODULE_STATES)),
                    content=dict(type='str'),
                    grant=dict(type='dict', options=dict(
                        domains=dict(type='list', elements='str', required=True),
                        permissions=dict(type='list', elements='str', choices=list(C.PERF_EVENT_PERMS),
                                         default=list(C.PERF_EVENT_PERMS)),
                    )),
                    generate=dict(type='bool', default=False),
                    allowed_domains=dict(type='list', elements='str', default=['unconfined_t']),
                )),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for pattern in p['module_filter']:
        try:
            re.compile(pattern)
        except re.error as e:
            module.fail_json(msg='module_filter %r is not a valid regular expression: %s' % (pattern, e))
    if p['denials_max_bytes'] < 1:
        module.fail_json(msg='denials_max_bytes must be at least 1 (got %d)' % p['denials_max_bytes'])
    if p['denials_max_age'] < 0:
        module.fail_json(msg='denials_max_age must be 0 (no limit) or a number of seconds (got %d)'
                         % p['denials_max_age'])
    errors = accessmod.validate_expected(p['expected_access'])
    if errors:
        module.fail_json(msg='; '.join(errors))
    root = p['root']
    if not os.path.isdir(root):
        module.fail_json(msg='root %s is not a directory' % root)

    selinux = gather_selinux(rooted(root, SELINUXFS), rooted(root, SELINUX_CONFIG), root)
    problem = perf_event_class_problem(selinux) if p['require_perf_event_class'] else None
    if problem:
        module.fail_json(msg=problem)
    facts = {
        'selinux': selinux,
        'kernel': gather_kernel(rooted(root, PROC_ROOT), root),
        'modules': [],
        'modules_error': None,
        'perf': gather_perf(module, p['perf_path'], root),
        'perf_users': gather_perf_users(module, p['perf_users_group'], p['perf_users_dir'], root),
    }
    if p['gather_modules']:
        facts['modules'], facts['modules_error'] = gather_modules(module, p['module_filter'], root)
    if p['gather_denials']:
        facts['denials'] = gather_denials(p['audit_log'], p['denials_max_bytes'],
                                          p['denials_max_age'], root)
    else:
        facts['denials'] = no_denials(p['audit_log'], p['denials_max_age'], enabled=False)
    facts['last_change'] = gather_last_change(p['change_paths'], facts['modules'],
                                              facts['perf_users'], root)
    # the class module of perfsec_class_source=module, by name and priority (rollback removes it)
    facts['class_module'] = {'name': planner.CLASS_MODULE_NAME, 'priority': planner.CLASS_MODULE_PRIORITY}
    facts['policy_packages'] = gather_policy_packages(module, root)
    facts['selinux_policy_package'] = policybuild.installed_package(module, root)
    facts['access'] = accessmod.evaluate(facts, p['expected_access'])
    facts['access']['intended_blocked'] = compliance.blocked_intended(facts['access'], p['intended_access'])
    for r in facts['access']['intended_blocked']:
        module.warn('%s should be able to use perf but is blocked%s: %s' % (
            r['who'], ' by the %s gate' % r['gate'] if r['gate'] else '', r['reason']))
    facts['os'] = gather_os(root)
    kern = facts['kernel']
    facts['stig'] = compliance.stig_paranoid_check(kern['paranoid_source']['entries'], kern['perf_event_paranoid'],
                                                   dict((k.upper(), v) for k, v in facts['os'].items() if v))
    facts['kptr'] = compliance.kptr_restrict(kern['kptr_restrict'], facts['perf_users'].get('capabilities'))
    facts['audit_rule'] = gather_audit_rule(p['audit_rule_path'], p['audit_key'], p['audit_log'],
                                            p['denials_max_bytes'], p['denials_max_age'], root,
                                            enabled=p['gather_denials'])
    facts['paranoid_gate'] = accessmod.paranoid_gate(facts)
    if p['plan']:
        facts['plan'] = make_plan(module, p, facts, root)
    module.exit_json(changed=False, ansible_facts={'perfsec': facts})


def perf_event_class_problem(selinux):
    """Why the perf module alone cannot open perf here (SELinux enabled, no class perf_event in the
    loaded policy), or None."""
    if selinux['enabled'] and not selinux['perf_event_class']:
        return ('the loaded policy has no class perf_event; run perfsec.selinux.enable_perf_mac '
                '(it rebuilds and installs the policy) instead.')
    return None


def plan_host(facts, root='/'):
    """What decide() reads of the host, from the gathered facts (the perf module added later)."""
    selinux, kernel = facts['selinux'], facts['kernel']
    host = {'selinux': selinux, 'installed_policy': None, 'module': None,
            'kernel': {'hook': kernel['perf_event_hook'], 'hook_source': kernel['perf_event_hook_source'],
                       'cap_perfmon': kernel['cap_perfmon'], 'release': kernel['release']}}
    if not selinux['enabled']:
        host['installed_policy'] = planner.installed_policy(root, selinux['policy_type'])
    return host


def gather_policy_packages(module, root='/'):
    """policy_install's newest record (plan.policy_record) and whether its rebuilt packages are
    still installed: ``current`` True/False from ``rpm -q``, None when rpm is missing or answers
    something else. None when there is no record."""
    rec = planner.policy_record(rooted(root, POLICY_BACKUP_DIR))
    if rec is None:
        return None
    rec['current'] = None
    rpm = module.get_bin_path('rpm')
    if not (rpm and rec['installed']):
        return rec
    rooted_rpm = [rpm] + (['--root', root] if root != '/' else [])
    # rpm -q creates an empty database where there is none: ask only where one exists (read-only)
    rc, out, err = module.run_command([rpm, '--eval', '%{_dbpath}'])
    if rc != 0 or not out.strip().startswith('/') or not os.path.isdir(rooted(root, out.strip())):
        return rec
    rc, out, err = module.run_command(rooted_rpm + ['-q', '--'] + rec['installed'])
    if rc == 0:
        rec['current'] = True
    elif 'is not installed' in out + err:
        rec['current'] = False
    return rec


def make_plan(module, p, facts, root='/'):
    """The host's plan (module_utils/plan.decide) from the facts just read, plus the policy
    installed on disk when none is loaded and the perf module's state in the store."""
    from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
    want = p['plan']
    host = plan_host(facts, root)
    host['extra_steps'] = {
        'paranoid': compliance.profile_step(want['profile'], facts['stig']),
        'audit_rule': auditrules.plan_reason(want['audit_rule'], facts['audit_rule'], p['audit_rule_path']),
    }
    # are the rebuilt packages of the record still installed? (a distro update replaces them)
    host['policy_record'] = facts['policy_packages']
    host['paranoid_gate'] = facts.get('paranoid_gate')
    spec = want['module']
    modules = []
    store = store_name(root)
    sdir = sm.store_dir(None if root == '/' else root, store)
    if sdir and os.path.isdir(sdir) and module.get_bin_path('semodule'):
        try:
            modules = planner.list_modules_fast(module, None if root == '/' else root,
                                                store if root != '/' else None)
        except sm.SemoduleError as e:
            module.fail_json(msg='cannot list the policy modules for the plan: %s' % e.msg)
    host['class_module'] = planner.inspect_class_module(modules, sdir)
    if spec:
        from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod
        if not sm.valid_name(spec['name']):
            module.fail_json(msg='invalid module name %r: use letters, digits, _ and -, starting with a letter'
                             % spec['name'])
        if not 1 <= spec['priority'] <= 999:
            module.fail_json(msg='plan.module.priority must be between 1 and 999, got %d' % spec['priority'])
        if len([k for k in ('content', 'grant', 'generate') if spec[k]]) > 1:
            module.fail_json(msg='plan.module: give content (a .te), grant or generate=true: one, not both of any two')
        if spec['grant']:
            # the same .te perf_semodule renders for grant, so the checksums compare
            from ansible_collections.perfsec.selinux.plugins.module_utils.audit import grant_te
            try:
                spec['content'] = grant_te(spec['name'], spec['grant']['domains'], spec['grant']['permissions'])
            except ValueError as e:
                module.fail_json(msg='plan.module: %s' % e)
        try:
            state = planner.inspect_module(module, spec, modules, sdir)
        except (temod.CompileError, sm.SemoduleError) as e:
            module.fail_json(msg='the perf module %s: %s; fix the .te and run again' % (spec['name'], e.msg))
        if state['generate'] and state['installed'] and p['gather_denials']:
            cil = planner.store_cil(sdir, spec['name'], spec['priority'])
            if cil is None:
                cil = sm.extract_cil(module, spec['name'], spec['priority'],
                                     None if root == '/' else root, store if root != '/' else None)
            planner.uncovered_denials(state, facts['denials'], spec['allowed_domains'], planner.granted(cil))
        host['module'] = state
    try:
        result = planner.decide(host, want)
    except ValueError as e:
        module.fail_json(msg=str(e))
    result['module'] = host['module']
    result['class_module'] = host['class_module']
    result['kernel'] = host['kernel']
    result['summary'] = planner.summary(result)
    return result


if __name__ == '__main__':
    main()
