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
    actually denied, to allow-listed source domains, on the process itself (C(self)); only
    C(perf_event) C(read)/C(write) may target another type, one of O(from_audit.allowed_targets).
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
      - Module name. Must match C(^[a-zA-Z][a-zA-Z0-9_-]*$) (no trailing newline) and be at most
        128 characters; a .te must declare the same name.
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
      - Module priority, 1 to 999. A boolean is refused (it would run C(semodule -X True)).
    type: int
    default: 300
  allow_distribution_module:
    description:
      - Allow changing a distribution module, that is a module installed at a priority below 200
        by the policy packages (for example C(unconfined) or C(base) at 100).
      - Without it, removing such a module (O(state=absent) at a priority below 200), disabling
        it (O(state=disabled), which acts at every priority), or installing over it (at its
        priority or a higher one, which replaces or overrides it) fails and changes nothing.
    type: bool
    default: false
  content:
    description:
      - Text of a module, a .te by default or CIL with O(content_format=cil). Mutually exclusive
        with O(src) and O(from_audit).
      - No file is left on the target; the text is staged in a private directory for semodule and
        removed afterwards.
    type: str
  grant:
    description:
      - Declare the module instead of writing it - O(grant.permissions) on class C(perf_event) for
        each of O(grant.domains), to itself, rendered as a .te by the collection (the rollout's
        default module without a probe user). Mutually exclusive with O(content), O(src) and
        O(from_audit).
    type: dict
    suboptions:
      domains:
        description: Source domains (SELinux types), for example C(user_t).
        type: list
        elements: str
        required: true
      permissions:
        description: perf_event permissions to grant.
        type: list
        elements: str
        choices: [open, cpu, kernel, tracepoint, read, write]
        default: [open, cpu, kernel, tracepoint, read, write]
  content_format:
    description:
      - What O(content) is. V(te) is compiled with checkmodule and semodule_package; V(cil) is
        checked to be CIL and installed as it is (for example the class module of the rollout).
    type: str
    choices: [te, cil]
    default: te
  src:
    description:
      - Path on the target of a .te, .pp or .cil module file (chosen by its extension).
      - It must be a regular file; a symlink (even to a regular file), a directory or a device is
        refused, and so is a .te or .cil that is not UTF-8 or a .cil that is not CIL. No failure
        result or diff shows text of a file that did not parse.
      - Mutually exclusive with O(content) and O(from_audit).
    type: path
  from_audit:
    description:
      - "Generate the module from kernel AVC records, in any of the forms users have (each counted
        in RV(record_forms)): the auditd log, C(ausearch --raw) or C(ausearch) (C(type=AVC
        msg=audit...), optionally after C(node=NAME)); C(ausearch -i); the kernel's printk text
        (C(audit: type=1400 audit...), from C(journalctl -k -o cat) or C(dmesg -t)); C(dmesg)
        with its timestamps; C(journalctl) in its C(short*) output modes or a syslog file (lines of
        the identifiers C(kernel) or C(audit[PID]), for example
        C(Dec 01 10:00:00 host audit[1318098]: AVC avc:  denied  { open } for ...)); and
        C(journalctl -o cat) (C(AVC avc: ...)). Contexts with or without an MLS level."
      - "Any local user can write journal lines that look like these (C(logger -t kernel));
        C(journalctl -k) and C(journalctl _TRANSPORT=audit) select the kernel's own records.
        Whatever a record says, it can only grant what the rules below allow."
      - C(perf_event) C(open), C(cpu), C(kernel), C(tracepoint) and every C(capability2) permission
        are granted only when the record's target type is its source type (rule target C(self)), as
        the kernel checks them from a process to itself. C(perf_event) C(read)/C(write) are granted to
        C(self) or to a type of O(from_audit.allowed_targets). A record's target type is never copied
        otherwise, so an attribute (C(domain)), C(kernel_t), C(init_t) or an unknown type in a
        record grants nothing; such records are skipped and counted (reason C(target)), and check
        mode and the real run agree.
      - Records of other classes, other domains, other commands, USER_AVC, C(granted) records,
        lines longer than 10240 characters (reason C(too_long); kernel records are under 9 KB) or
        that do not parse are skipped and counted in RV(skipped_records); they never grant anything.
      - "Files of O(from_audit.paths) are prefiltered: only lines that hold a C({) and
        C(tclass=perf_event), C(tclass=capability2) or C(tclass=cap2_userns) are parsed (an AVC
        record holds its permissions in braces and its class in C(tclass=), so no other line can
        give a rule); every other line is counted under the reason C(not_perf) without being
        decoded or parsed,
        so for those files C(not_avc), C(unparsable), C(granted), C(comm), C(class) and
        RV(record_forms) count only the lines that were parsed. The rules are the same as parsing
        every line. O(from_audit.records) is parsed line by line as before."
      - When no record matches, nothing is installed or changed and a warning says so.
      - Mutually exclusive with O(content) and O(src).
    type: dict
    suboptions:
      paths:
        description:
          - Audit log files to read (for example C(/var/log/audit/audit.log)), in blocks of 1 MiB with
            bounded memory (about 1 MiB whatever the file size), split on newlines only. Lines that do
            not hold both a C({) and C(tclass=perf_event), C(tclass=capability2) or C(tclass=cap2_userns)
            are counted in bulk under C(not_perf) (blank lines included) and never parsed; a line
            longer than 10240 bytes is C(too_long) whatever it holds.
          - Each must be a regular file (a device such as C(/dev/zero), a FIFO or a directory is
            refused). Each file is read once, even when listed twice. Plain text only (a compressed
            C(.gz) log is not decompressed).
        type: list
        elements: path
        default: []
      rotated:
        description:
          - Also read the rotated copies of each live log of O(from_audit.paths) (a path that does not
            end in C(.N)), as auditd names them, C(audit.log.1) (the newest) to C(audit.log.N), from
            C(.1) up to the first number that does not exist (at most 999), read oldest first
            (C(audit.log.N) ... C(audit.log.1), then C(audit.log)). A path ending in C(.N) is read as
            given. Every rotated copy must be a regular file too.
        type: bool
        default: false
      since:
        description:
          - Use only the AVC records stamped at or after this time - epoch seconds (UTC, as in the
            records), a number such as V(1764337200) or V(1764337200.5) or a string of digits with an
            optional fraction; or a start time as C(ausearch -ts) takes it, resolved on the managed host
            in its local time zone - V(now), V(recent) (10 minutes ago), V(this-hour), V(boot) (the
            host's boot time), V(today), V(yesterday), V(this-week) (the last Sunday), V(week-ago),
            V(this-month), V(this-year), or a date (V(2026-11-28), V(11/28/2026), V(28.11.2026)); a
            day keyword or a date may be followed by a time (V(today 13:00), V(2026-11-28 13:00:00)),
            and a time alone means today at that time. RV(since) returns the epoch seconds it meant.
          - Anything else (C(checkpoint), a negative number, a boolean, other text) is refused.
          - The record's own time stamp decides (the epoch seconds C(SECS.MS) that auditd and the kernel
            write in every record, C(SECS.MS:SERIAL) in parentheses after C(audit)), not the file's or
            the journal's time. Older records are skipped as
            C(before_since); records without such a stamp (C(ausearch -i) output, the journal's
            C(audit[PID]) transport lines, C(journalctl -o cat)) are skipped as C(no_time). Both
            reasons are in RV(skipped_reasons) only when O(from_audit.since) is set.
          - Applies to O(from_audit.paths) and O(from_audit.records). Like O(from_audit.comm) it is a
            filter, not a trust boundary (a forged journal line carries the stamp its writer chose).
        type: raw
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
          - Must not be empty (an empty list is refused, it would grant nothing).
        type: list
        elements: str
        default: [unconfined_t]
      allowed_targets:
        description:
          - Other target types that the O(from_audit.allowed_domains) may be granted C(perf_event)
            C(read)/C(write) on (reading or writing an event that a process of that type opened).
            Every other permission is only ever granted on C(self).
          - Types, not attributes (an attribute such as C(domain) would grant every domain's events),
            and types the policy defines (an unknown type makes the install fail). Same syntax as
            O(from_audit.allowed_domains); C(self) is implied and refused here.
        type: list
        elements: str
        default: []
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
  ignore_selinux_state:
    description:
      - Manage the local policy store also when SELinux is disabled on the host (no selinuxfs) -
        the module is installed into the store and loaded when the host boots with SELinux. Where
        SELinux is enabled it changes nothing. Without it a disabled host is refused with a message.
      - On a disabled host the same as O(root=/), which stays accepted.
    type: bool
    default: false
  store:
    description:
      - Policy store name (C(semodule -s)). Defaults to C(SELINUXTYPE) of ROOT/etc/selinux/config.
    type: str
notes:
  - Check mode compiles the desired module in a temporary directory (no store change) and reports
    exactly what would change.
  - Diff mode shows the installed and the desired module as sorted CIL rules, parsed and
    normalised (comments dropped); text that is not CIL is never shown.
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

- name: Declare class perf_event for a policy that lacks it (CIL text, nothing left on the target)
  perfsec.selinux.perf_semodule:
    name: perfsec_perf_event
    priority: 250
    content_format: cil
    content: |
      (class perf_event (open cpu kernel tracepoint read write))
      (classorder (unordered perf_event))

- name: Declare the module - every perf_event permission for user_t and staff_t, to themselves
  perfsec.selinux.perf_semodule:
    name: my-perf
    grant:
      domains: [user_t, staff_t]

- name: Or read the audit log directly
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      paths: [/var/log/audit/audit.log]
      allowed_domains: [user_t, staff_t]

- name: Read the live log and its rotations (audit.log.N ... audit.log.1, audit.log), last 24 hours only
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      paths: [/var/log/audit/audit.log]
      rotated: true
      since: "{{ now().timestamp() | int - 86400 }}"
      allowed_domains: [user_t, staff_t]
  register: from_log

- name: Since the host's midnight, as ausearch -ts today would read it (resolved on the host)
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      paths: [/var/log/audit/audit.log]
      rotated: true
      since: today
      allowed_domains: [user_t]

- name: How many lines were counted without being parsed, and how many records were too old
  ansible.builtin.debug:
    msg: "{{ from_log.skipped_reasons.not_perf }} lines without a perf class, {{ from_log.skipped_reasons.before_since }} older records"

- name: Since a fixed time (epoch seconds; date -d '2025-11-28 00:00 UTC' +%s)
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      paths: [/var/log/audit/audit.log]
      since: 1764288000
      allowed_domains: [user_t]

- name: On a host without auditd, the kernel's own records from the journal
  ansible.builtin.command:
    argv: [journalctl, _TRANSPORT=audit, _TRANSPORT=kernel, --since, today, --no-pager]
  register: journal
  changed_when: false

- name: Generate from them; staff_t may also read/write perf events that kernel_t opened
  perfsec.selinux.perf_semodule:
    name: my-perf
    from_audit:
      records: "{{ journal.stdout }}"
      allowed_domains: [staff_t]
      allowed_targets: [kernel_t]
  register: generated

- name: How many records of each form were read
  ansible.builtin.debug:
    var: generated.record_forms

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
    ignore_selinux_state: true

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
since:
  description:
    - The start time O(from_audit.since) meant on the host, in epoch seconds; null without it.
  returned: always
  type: float
  sample: 1764284400.0
declared_classes:
  description:
    - The security classes the module's CIL declares (C(class) statements), each mapped to whether
      the loaded policy has it after the task (C(/sys/fs/selinux/class/NAME)); null where no policy
      is managed live (an alternate root, SELinux disabled) or in check mode.
  returned: always
  type: dict
  sample: {perf_event: true}
checked_at:
  description:
    - The host's clock (epoch seconds) when the module started, before it read any audit record.
      Denials stamped at or after it came later (the role perfsec.selinux.perf_module counts the
      denials of its verification probe from it).
  returned: always
  type: float
  sample: 1764337200.25
rules:
  description: Allow rules of the desired module (.te syntax when known, otherwise CIL).
  returned: always
  type: list
  elements: str
  sample: ["allow user_t self:perf_event { kernel open read };"]
te:
  description:
    - The .te text of the desired module (generated or given); null for .pp/.cil sources.
    - In a failure result only when the module generated it or it compiled, else null (a src
      that does not compile is never echoed).
  returned: always
  type: str
skipped_records:
  description:
    - Number of audit lines skipped by generation (too long, unparsable, not AVC, granted, command,
      other class, domain, permission or target; with O(from_audit.paths) also the lines of those
      files that hold no perf class; with O(from_audit.since) also the records before it or without
      a time stamp). The value of C(total) in RV(skipped_reasons).
  returned: always
  type: int
  sample: 3
skipped_reasons:
  description:
    - Skipped audit lines by reason; C(total) is their sum. Always C(too_long), C(unparsable),
      C(not_avc), C(granted), C(comm), C(class), C(domain), C(perm), C(target).
    - C(not_perf), present when O(from_audit.paths) is given, counts the lines of those files that
      do not hold both a C({) and one of C(tclass=perf_event), C(tclass=capability2),
      C(tclass=cap2_userns) (blank lines included); they are counted in bulk, not parsed, so they
      are not counted under any other reason.
    - C(before_since) and C(no_time), present when O(from_audit.since) is given, count the AVC
      records stamped before it and those without a time stamp.
  returned: always
  type: dict
  sample: {"too_long": 0, "unparsable": 1, "not_avc": 0, "granted": 0, "comm": 0, "class": 1, "domain": 1,
           "perm": 0, "target": 0, "not_perf": 5636000, "before_since": 12, "no_time": 0, "total": 5636015}
record_forms:
  description:
    - AVC records read by O(from_audit), by the form they were in (every form is listed, 0 when
      absent). V(auditd) the auditd log, C(ausearch --raw) or C(ausearch); V(ausearch_interpreted)
      C(ausearch -i); V(kernel) the printk text (C(journalctl -k -o cat), C(dmesg -t)); V(dmesg)
      C(dmesg) with timestamps; V(journal) C(journalctl) C(short*) modes or a syslog file;
      V(journal_cat) C(journalctl -o cat) of the audit transport.
    - From O(from_audit.paths), only the records of a perf class are parsed and counted (see
      C(not_perf)); with O(from_audit.since), only the records in the time window.
    - Empty when O(from_audit) is not used.
  returned: always
  type: dict
  sample: {"auditd": 0, "ausearch_interpreted": 0, "kernel": 0, "dmesg": 0, "journal": 3, "journal_cat": 0}
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
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

SELINUXFS = C.SELINUXFS
POLICY_BUILD_HINT = ('build and install a policy that defines it with the roles '
                     'perfsec.selinux.policy_build and perfsec.selinux.policy_install')


# auditd's num_logs is at most 999: audit.log.1 ... audit.log.999
MAX_ROTATED = 999
_ROTATED_RE = re.compile(r'\.[0-9]+\Z')


def _audit_files(spec):
    """The files of from_audit.paths in reading order: with from_audit.rotated, each live log
    (a path that does not end in .N) is preceded by its rotations PATH.N ... PATH.1, oldest
    first (auditd's numbering: .1 is the newest), from .1 up to the first number missing. Each
    file once (the first time it comes)."""
    out = []
    seen = set()
    for path in spec.get('paths') or []:
        group = [path]
        if spec.get('rotated') and not _ROTATED_RE.search(path):
            n = 1
            while n <= MAX_ROTATED and os.path.lexists('%s.%d' % (path, n)):
                n += 1
            group = ['%s.%d' % (path, i) for i in range(n - 1, 0, -1)] + group
        for f in group:
            key = os.path.normpath(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _read_audit(module, spec):
    """The audit lines of from_audit: each file of _audit_files read in blocks through
    au.read_prefiltered (a log of gigabytes is never held in memory; lines that cannot hold a
    perf denial are counted as au.BulkSkip 'not_perf' items, never decoded nor parsed), then the
    given records (split on newlines only, every line parsed).

    Memory is bounded whatever the input: one buffer of au.BLOCK_SIZE + au.MAX_LINE + 1 bytes; a
    longer line is passed on as au.TOO_LONG_LINE (counted as too_long by generate_rules) and the
    rest of it is discarded as it is read. Only regular files are read (opened non-blocking, so a
    FIFO cannot hang the task): /dev/zero, a FIFO or a directory is refused with a message."""
    for path in _audit_files(spec):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
            regular = False
            try:
                regular = stat.S_ISREG(os.fstat(fd).st_mode)
            finally:
                if not regular:
                    os.close(fd)
            if not regular:
                module.fail_json(msg='from_audit.paths: %s is not a regular file (a device, FIFO or '
                                     'directory): give an audit log file, or pass the records as '
                                     'from_audit.records' % path)
            with os.fdopen(fd, 'rb', 0) as f:
                yield from au.read_prefiltered(f)
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot read audit log %s: %s; check the path or pass the '
                                 'records as from_audit.records' % (path, to_native(e)))
    if spec.get('records'):
        yield from au.iter_lines(spec['records'])


def _cil_rules(cil_text):
    """Sorted CIL rule lines for the diff: parsed and normalised, comments dropped. Text that
    does not parse as CIL is not shown (a src .cil that is not CIL is refused before)."""
    try:
        return sorted(set(sm.cil_lines(cil_text)))
    except ValueError:
        return ['; (not shown: the module text does not parse as CIL)']


def _short(value, limit=64):
    value = to_text(value, errors='surrogate_or_replace')
    return value if len(value) <= limit else value[:limit] + '...'


def _read_src(module, src):
    """(bytes, text) of the module file ``src``: a regular file (never a symlink) ending in
    .te, .pp or .cil; ``text`` is the decoded .te or .cil (None for a .pp). Fails with one
    message otherwise; no message holds any of the file's content."""
    if not (src.endswith('.te') or src.endswith('.pp') or src.endswith('.cil')):
        module.fail_json(msg='src must end in .te, .pp or .cil: %s' % src)
    try:
        data = temod.read_source(src)
    except temod.SourceError as e:
        module.fail_json(msg=e.msg)
    if src.endswith('.pp'):
        return data, None
    kind = '.te' if src.endswith('.te') else 'CIL'
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        module.fail_json(msg='src %s is not UTF-8 text (undecodable byte at offset %d): a %s module '
                             'must be UTF-8 or ASCII text' % (src, e.start, kind))
    if src.endswith('.cil'):
        try:
            sm.cil_lines(text)
        except ValueError as e:
            module.fail_json(msg='src %s is not a CIL module (%s); its content is not shown: give a '
                                 'CIL, .te or .pp module file' % (src, e))
    return data, text


def _check_params(module, p):
    """What argument_spec cannot check: the name, the priority, from_audit's types and since, and
    src (read once here). Returns (src_data, src_text, since) or fails with one message."""
    name, prio = p['name'], p['priority']
    if not sm.valid_name(name):
        module.fail_json(msg='invalid module name %r: use letters, digits, _ and -, starting with a letter, '
                             'at most %d characters' % (_short(name), sm.MAX_NAME_LEN))
    if isinstance(prio, bool):
        module.fail_json(msg='priority must be an integer between 1 and 999, got the boolean %s: '
                             'write a number (e.g. priority: 300)' % prio)
    if not 1 <= prio <= 999:
        module.fail_json(msg='priority must be between 1 and 999, got %d' % prio)
    src_data = src_text = None
    if p['src']:
        src_data, src_text = _read_src(module, p['src'])
    elif p['grant']:
        try:
            p['content'] = au.grant_te(p['name'], p['grant']['domains'], p['grant']['permissions'])
        except ValueError as e:
            module.fail_json(msg=str(e))
    elif p['content'] is not None and p['content_format'] == 'cil':
        try:
            sm.cil_lines(p['content'])
        except ValueError as e:
            module.fail_json(msg='content is not a CIL module (%s); its text is not shown: give CIL '
                                 'text, or content_format=te for a .te' % e)
        src_text = p['content']
        src_data = src_text.encode('utf-8')
    fa = p['from_audit']
    since = None
    if fa:
        if not fa['allowed_domains']:
            module.fail_json(msg='from_audit.allowed_domains is empty: list the source domains that may be '
                                 'granted perf_event permissions (for example [user_t]); an empty list '
                                 'would grant nothing')
        for d in fa['allowed_domains']:
            if not au.TYPE_RE.match(d):
                module.fail_json(msg='invalid SELinux type in from_audit.allowed_domains: %r' % d)
        for t in fa['allowed_targets']:
            if not au.TYPE_RE.match(t):
                module.fail_json(msg='invalid SELinux type in from_audit.allowed_targets: %r' % t)
            if t == 'self':
                module.fail_json(msg='from_audit.allowed_targets: self is always a target; list other '
                                     'types (perf_event read/write only)')
        if fa['since'] is not None:
            try:
                since = au.resolve_since(fa['since'])
            except (ValueError, OSError):
                module.fail_json(msg='from_audit.since must be a start time: %s; got %r'
                                     % (au.SINCE_HELP, _short(fa['since'])))
    return src_data, src_text, since


def _store(module, p):
    """(root, store, noreload) of the policy store to manage. root None is the running system;
    a host whose SELinux is disabled is refused unless ignore_selinux_state (or root=/) says to
    manage its store offline (loaded when the host boots with SELinux)."""
    root = p['root']
    if root is None and not os.path.exists(os.path.join(SELINUXFS, 'enforce')):
        if not p['ignore_selinux_state']:
            module.fail_json(msg='SELinux is disabled on this host (no %s): enable it first '
                                 '(role perfsec.selinux.selinux_state), or set ignore_selinux_state=true '
                                 '(or root=/) to manage the policy store offline' % SELINUXFS)
        root = '/'
    offline_root = bool(root) and os.path.realpath(root) != '/'
    noreload = offline_root or not p['reload']
    store = p['store']
    sdir = sm.store_dir(root, store)
    if not sdir or not os.path.isdir(sdir):
        module.fail_json(msg='no SELinux policy store %s under %s: install a policy first '
                             '(role perfsec.selinux.policy_install) or pass store=' % (sm.store_name(root, store), root or '/'))
    return root, store, noreload


class _Desired(object):
    """The module file this task wants installed (none for absent/enabled/disabled without a
    source, or when from_audit matched nothing)."""

    def __init__(self, p):
        self.from_audit = bool(p['from_audit'])
        self.has_source = bool(p['content'] is not None or p['src'] or p['from_audit'])
        self.path = self.cil = self.sum = self.te_text = None
        self.compiled = False

    def shown_te(self):
        # the .te only when this module generated it or it compiled: never unparsed source text
        return self.te_text if (self.from_audit or self.compiled) else None


def _desired(module, p, d, since, src_data, src_text, root, workdir, result):
    """Build the desired module d (a _Desired, filled in place so that a compile error can still
    show the generated .te) in workdir: generate the .te from the audit records, or take
    content/src; compile it (a .te) and read its CIL for the checksum. Fills result's te, rules
    and the from_audit counters."""
    name = p['name']
    if p['from_audit']:
        fa = p['from_audit']
        forms = {}
        rules, skipped = au.generate_rules(_read_audit(module, fa), fa['allowed_domains'], fa['comm'],
                                           fa['include_bpf'], allowed_targets=fa['allowed_targets'],
                                           forms=forms, since=since)
        if fa['paths']:
            skipped.setdefault(au.NOT_PERF, 0)
        result['skipped_records'] = skipped['total']
        result['skipped_reasons'] = skipped
        result['record_forms'] = forms
        if not rules:
            module.warn('no perf_event/capability2 denial of %s matched in the audit records '
                        '(%d lines skipped): nothing to install; run the workload as the confined '
                        'user first, or check from_audit.allowed_domains, allowed_targets and comm'
                        % (', '.join(fa['allowed_domains']), skipped['total']))
            d.has_source = False
            return
        d.te_text = au.render_te(name, rules)
    elif p['content'] is not None and p['content_format'] == 'te':
        d.te_text = p['content']
    if d.te_text is None and p['src'] and p['src'].endswith('.te'):
        d.te_text = src_text
    if d.te_text is not None:
        if root is None:
            missing = [c for c in temod.required_classes(d.te_text)
                       if not os.path.exists(os.path.join(SELINUXFS, 'class', c))]
            if missing:
                module.fail_json(msg='the loaded policy lacks class %s: %s'
                                     % (', '.join(missing), POLICY_BUILD_HINT), te=d.shown_te())
        d.path = temod.compile_te(module, d.te_text, name, workdir)
        d.compiled = True
        result['te'] = d.te_text
        result['rules'] = ['%s' % au.rule_text(r) for r in au.parse_allow_rules(d.te_text)]
    else:
        # a .pp or .cil src (read and checked by _read_src), or CIL content (by _check_params)
        d.path = temod.stage_file(p['src'] or name + '.cil', name, workdir, data=src_data)
    if d.path.endswith('.pp'):
        d.cil = to_text(sm.pp_to_cil(module, d.path), errors='surrogate_or_replace')
    else:
        d.cil = src_text
    if not result['rules']:
        result['rules'] = [r for r in _cil_rules(d.cil) if r.startswith('(allow')]
    d.sum = sm.sha256_bytes(d.cil.encode('utf-8'))


def _declared_classes(d, root, check_mode):
    """{class: loaded} for each class the desired CIL declares, read from selinuxfs after the
    task; None where the running kernel's policy is not the one managed, or in check mode."""
    if root is not None or check_mode or not d.cil:
        return None
    names = [st.split()[1] for st in sm.cil_statements(d.cil) if st.startswith('(class ')]
    return dict((n, os.path.isdir(os.path.join(SELINUXFS, 'class', n))) for n in names)


def _plan(module, p, modules, d, root, store):
    """The semodule operations that bring the store to the desired state (one transaction), with
    what is installed now. Refuses to change a distribution module unless allowed."""
    name, prio, state = p['name'], p['priority'], p['state']
    at_prio = sm.find_module(modules, name, prio)
    any_prio = sm.find_module(modules, name)
    cur_enabled = any_prio['enabled'] if any_prio else None
    installed_sum = sm.installed_checksum(module, at_prio, root, store) if at_prio is not None else None
    need_install = d.has_source and state != 'absent' and d.sum != installed_sum
    want_enabled = {'present': True, 'enabled': True, 'disabled': False}.get(state)
    ops = []
    if state == 'absent':
        if at_prio is not None:
            ops.append(['-r', name])
    elif need_install:
        # one transaction; -e/-d also fixes a reinstalled module that was disabled
        ops.append(['-i', d.path])
        ops.append(['-e' if want_enabled else '-d', name])
    elif any_prio is None:
        if state in ('enabled', 'disabled'):
            module.fail_json(msg='module %s is not installed: give content, src or from_audit '
                                 'to install it' % name)
    elif state in ('enabled', 'disabled') and cur_enabled != want_enabled:
        ops.append(['-e' if want_enabled else '-d', name])
    elif state == 'present' and d.has_source and cur_enabled is False:
        ops.append(['-e', name])

    dist = sm.distribution_entries(modules, name)
    if dist and ops and not p['allow_distribution_module']:
        change = None
        if state == 'absent' and prio <= sm.DISTRIBUTION_PRIORITY_MAX:
            change = 'remove it at priority %d' % prio
        elif ['-d', name] in ops:
            change = 'disable it (at every priority)'
        elif need_install and prio >= min(m['priority'] for m in dist):
            change = 'install over it at priority %d (replacing or overriding it)' % prio
        if change:
            module.fail_json(msg='%s is a distribution module (installed at priority %s by the policy '
                                 'packages): refusing to %s, which changes the distribution policy '
                                 '(removing or disabling e.g. unconfined confines every unconfined '
                                 'user); set allow_distribution_module=true if that is meant. '
                                 'Nothing was changed'
                                 % (name, ', '.join(str(m['priority']) for m in dist), change))
    return dict(ops=ops, at_prio=at_prio, any_prio=any_prio, cur_enabled=cur_enabled,
                installed_sum=installed_sum, need_install=need_install, want_enabled=want_enabled)


def _diff(module, p, plan, d, root, store):
    """--diff: the module's state and normalised CIL rules before and after."""
    name, prio, state = p['name'], p['priority'], p['state']
    before_rules = []
    if plan['at_prio'] is not None:
        if d.sum is not None and plan['installed_sum'] == d.sum:
            before_rules = _cil_rules(d.cil)
        else:
            before_rules = _cil_rules(sm.extract_cil(module, name, prio, root, store))
    before_state = 'absent' if plan['at_prio'] is None else ('enabled' if plan['cur_enabled'] else 'disabled')
    if state == 'absent':
        after_rules, after_state = [], 'absent'
    else:
        after_rules = _cil_rules(d.cil) if plan['need_install'] else before_rules
        if plan['at_prio'] is None and not plan['need_install']:
            after_state = 'absent'
        else:
            after_state = 'enabled' if (plan['want_enabled'] if plan['ops'] else plan['cur_enabled']) else 'disabled'
    hdr = '%s@%d' % (name, prio)
    return dict(before_header=hdr, after_header=hdr,
                before='# %s\n%s\n' % (before_state, '\n'.join(before_rules)),
                after='# %s\n%s\n' % (after_state, '\n'.join(after_rules)))


def _apply(module, p, plan, d, root, store, noreload, result):
    """Run the one transaction, then read back what is installed."""
    name, prio = p['name'], p['priority']
    try:
        sm.transaction(module, plan['ops'], root, store, prio, noreload)
    except sm.SemoduleError as e:
        msg = 'semodule failed, the store is unchanged: %s' % e.msg
        if re.search(r'Failed to resolve|[Uu]nknown class|class .* not defined', e.stderr or ''):
            msg += ('. The module requires a type or class the policy lacks; if it is perf_event '
                    'or capability2 perfmon, ' + POLICY_BUILD_HINT)
        module.fail_json(msg=msg, te=d.shown_te(), rules=result['rules'])
    result['policy_rebuilt'] = True
    modules = sm.list_modules(module, root, store)
    at_prio = sm.find_module(modules, name, prio)
    any_prio = sm.find_module(modules, name)
    result['installed'] = at_prio is not None
    result['enabled'] = any_prio['enabled'] if any_prio else None
    result['checksum'] = sm.installed_checksum(module, at_prio, root, store) if at_prio else None


def _predict(p, plan, d, modules, result):
    """Without a transaction (nothing to do, or check mode): what is there, or would be."""
    name, prio = p['name'], p['priority']
    if p['state'] == 'absent':
        others = [m for m in modules if m['name'] == name and m['priority'] != prio]
        result['installed'] = False
        result['enabled'] = others[-1]['enabled'] if others else None
        return
    result['installed'] = plan['at_prio'] is not None or plan['need_install']
    if plan['ops'] and plan['want_enabled'] is not None:
        result['enabled'] = plan['want_enabled']
    else:
        result['enabled'] = plan['cur_enabled']
    result['checksum'] = d.sum if plan['need_install'] else plan['installed_sum']


OP_NAMES = {'-i': 'install', '-r': 'remove', '-e': 'enable', '-d': 'disable'}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent', 'enabled', 'disabled']),
            priority=dict(type='int', default=300),
            content=dict(type='str'),
            content_format=dict(type='str', default='te', choices=['te', 'cil']),
            grant=dict(type='dict', options=dict(
                domains=dict(type='list', elements='str', required=True),
                permissions=dict(type='list', elements='str', choices=list(C.PERF_EVENT_PERMS),
                                 default=list(C.PERF_EVENT_PERMS)),
            )),
            src=dict(type='path'),
            from_audit=dict(type='dict', options=dict(
                paths=dict(type='list', elements='path', default=[]),
                records=dict(type='str'),
                comm=dict(type='list', elements='str', default=['perf']),
                allowed_domains=dict(type='list', elements='str', default=['unconfined_t']),
                include_bpf=dict(type='bool', default=False),
                allowed_targets=dict(type='list', elements='str', default=[]),
                since=dict(type='raw'),
                rotated=dict(type='bool', default=False),
            )),
            reload=dict(type='bool', default=True),
            root=dict(type='path'),
            ignore_selinux_state=dict(type='bool', default=False),
            store=dict(type='str'),
            allow_distribution_module=dict(type='bool', default=False),
        ),
        mutually_exclusive=[['content', 'src', 'from_audit', 'grant']],
        required_if=[['state', 'present', ['content', 'src', 'from_audit', 'grant'], True]],
        supports_check_mode=True,
    )
    p = module.params
    src_data, src_text, since = _check_params(module, p)
    root, store, noreload = _store(module, p)
    result = dict(changed=False, name=p['name'], priority=p['priority'], installed=False, enabled=None,
                  checksum=None, rules=[], te=None, skipped_records=0, skipped_reasons={}, record_forms={},
                  operations=[], policy_rebuilt=False, commit_num=None, since=since, checked_at=time.time(),
                  declared_classes=None)
    workdir = None
    d = _Desired(p)
    try:
        try:
            modules = sm.list_modules(module, root, store)
        except sm.SemoduleError as e:
            module.fail_json(msg='%s; check that the policy store is readable and policycoreutils installed' % e.msg)
        if d.has_source:
            workdir = temod.private_dir()
            _desired(module, p, d, since, src_data, src_text, root, workdir, result)
        plan = _plan(module, p, modules, d, root, store)
        result['operations'] = [OP_NAMES[o[0]] for o in plan['ops']]
        result['changed'] = bool(plan['ops'])
        if module._diff:
            result['diff'] = _diff(module, p, plan, d, root, store)
        if plan['ops'] and not module.check_mode:
            _apply(module, p, plan, d, root, store, noreload, result)
        else:
            _predict(p, plan, d, modules, result)
        result['commit_num'] = sm.commit_num(root, store)
        result['declared_classes'] = _declared_classes(d, root, module.check_mode)
    except temod.CompileError as e:
        module.fail_json(msg='%s; fix the .te and run again' % e.msg, te=d.shown_te())
    except sm.SemoduleError as e:
        module.fail_json(msg=e.msg)
    except (IOError, OSError) as e:
        module.fail_json(msg='file error: %s' % to_native(e))
    finally:
        temod.cleanup(workdir)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
