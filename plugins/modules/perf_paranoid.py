#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_paranoid
short_description: Set kernel.perf_event_paranoid and the other perf_event sysctls, persistently
version_added: 0.1.0
description:
  - Sets C(kernel.perf_event_paranoid) and optionally C(kernel.perf_event_mlock_kb),
    C(kernel.perf_event_max_sample_rate) and C(kernel.perf_cpu_time_max_percent) at runtime
    through C(/proc/sys) and persistently in one sysctl.d drop-in file.
  - Finds the other sysctl.d files and C(/etc/sysctl.conf) entries that set the same keys to
    other values and would win at boot (systemd-sysctl applies files sorted by basename, the
    last one wins; procps C(sysctl --system) applies C(/etc/sysctl.conf) last), reports them
    and can comment them out.
  - Levels 3 and 4 exist only in Debian/Ubuntu kernels. The running kernel's support is
    detected without writing anything (a probe write would change the host and proves
    nothing, because upstream kernels accept any integer). It looks for
    C(CONFIG_SECURITY_PERF_EVENTS_RESTRICT) in C(/proc/config.gz) or C(/boot/config-RELEASE),
    for the kernel build string in C(/proc/sys/kernel/version) (Debian gives 3, Ubuntu 3 and 4),
    and for a current value of 3 or 4.
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  level:
    description:
      - The C(kernel.perf_event_paranoid) level. C(-1), C(0), C(1) and C(2) work on every
        kernel; C(3) and C(4) only where the running kernel gives them a meaning (see
        O(assume_level_supported)).
      - An integer; a boolean (C(true), C(yes)) is refused, as for O(mlock_kb),
        O(max_sample_rate) and O(cpu_time_max_percent).
      - When omitted, the paranoid level is left alone and only the other options are managed.
    type: int
  persist:
    description:
      - Write the values to O(dropin) so that they survive a reboot.
    type: bool
    default: true
  runtime:
    description:
      - Apply the values now through C(/proc/sys).
    type: bool
    default: true
  dropin:
    description:
      - The drop-in file written when O(persist=true). Files are applied sorted by basename
        and the last one wins, so the default sorts after Debian's and Fedora's
        C(99-sysctl.conf) link to C(/etc/sysctl.conf).
      - Must be a C(NAME.conf) file directly in C(/etc/sysctl.d) or C(/run/sysctl.d), NAME
        made of letters, digits and C(_ . @ + -), not starting with C(.) or C(-).
        C(/etc/sysctl.conf), vendor directories and other paths are refused.
      - An existing file there is only replaced when this collection wrote it (its first line
        starts with C(# Managed by perfsec.selinux)), unless O(force=true). A symbolic link
        or a non-regular file is always refused (nothing is read through it, not even for
        C(--diff)).
      - The drop-in is always mode C(0644), owner C(root:root); an existing drop-in with
        other permissions is fixed (and reported as a change).
    type: path
    default: /etc/sysctl.d/99-zz-perfsec-perf.conf
  force:
    description:
      - Replace an existing O(dropin) that this collection did not write (no
        C(# Managed by perfsec.selinux) first line). Its content is lost.
      - Symbolic links and non-regular files are refused even with O(force=true).
    type: bool
    default: false
  comment_out_overrides:
    description:
      - Comment out the entries that would override the drop-in at boot (as
        ComplianceAsCode's sysctl remediation does). Files under C(/etc) and C(/run) are
        edited in place; a vendor file under C(/usr/lib/sysctl.d), C(/lib/sysctl.d) or
        C(/usr/local/lib/sysctl.d) is shadowed by a copy with the entry commented out in
        C(/etc/sysctl.d) under the same name.
      - When V(false), overriding entries are only reported (RV(overriding)) with a warning.
      - Only used with O(persist=true).
    type: bool
    default: false
  mlock_kb:
    description:
      - C(kernel.perf_event_mlock_kb), KiB of ring buffer each user may lock (0..2097151).
    type: int
  max_sample_rate:
    description:
      - C(kernel.perf_event_max_sample_rate), samples per second (at least 1). The kernel
        refuses to change it while C(kernel.perf_cpu_time_max_percent) is 0 or 100.
    type: int
  cpu_time_max_percent:
    description:
      - C(kernel.perf_cpu_time_max_percent), 0..100; 0 and 100 disable sample throttling.
    type: int
  kptr_restrict:
    description:
      - C(kernel.kptr_restrict), managed only when given (the default leaves it alone). perf needs
        C(0), or CAP_SYSLOG with C(1), to resolve kernel symbols; C(2) hides kernel addresses
        from everybody, root included.
      - With O(profile=stig) only C(1) is accepted (ComplianceAsCode C(sysctl_kernel_kptr_restrict)).
    type: int
    choices: [0, 1, 2]
  profile:
    description:
      - C(stig) - the STIG-safe profile. C(kernel.perf_event_paranoid) is kept at exactly C(2), as DISA STIG /
        ComplianceAsCode C(sysctl_kernel_perf_event_paranoid) requires (CCE-81054-9 RHEL 8, CCE-83959-7
        RHEL 9, CCE-90142-1 RHEL 10), judged on the last assignment in systemd-sysctl order. O(level)
        defaults to C(2) and any other level fails with one message; O(persist) and O(runtime) must stay
        true; entries that would override the drop-in at boot are commented out whatever
        O(comment_out_overrides) says; the task fails when the predicted check would not pass.
        RV(stig) holds the check.
      - C(default) (or omitted) - no profile.
    type: str
    choices: [default, stig]
  assume_level_supported:
    description:
      - Accept O(level=3) or O(level=4) even when the detection finds no evidence that the
        running kernel knows the level (for example a custom kernel without its config in
        C(/boot) or C(/proc/config.gz)). An upstream kernel accepts the value but treats it
        as 2.
    type: bool
    default: false
  skip_unsupported:
    description:
      - In a container, or where C(/proc/sys) is read-only, return C(skipped) instead of
        failing. Only relevant with O(runtime=true).
    type: bool
    default: false
  gate:
    description:
      - What to do about the distro paranoid patch (RV(gate)) for a probe as an unprivileged user.
      - V(ignore) sets O(level) whatever the gate says.
      - V(lower) sets O(level) only where the gate refuses unprivileged perf_event_open() at the
        running level, and changes nothing where it does not. For a probe - put the returned
        RV(previous) level back afterwards.
      - V(refuse) never changes anything; it fails with the gate's reason, followed by O(gate_hint),
        where the gate refuses.
      - V(lower) and V(refuse) need O(persist=false) and O(runtime=true) (a lowered level is never
        written to a drop-in).
    type: str
    choices: [ignore, lower, refuse]
    default: ignore
  gate_hint:
    description:
      - With O(gate=refuse), what the caller can do about it, appended to the failure message.
    type: str
    default: ''
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the drop-in and every commented-out file, plus the runtime values.
  platform:
    platforms: posix
notes:
  - The perf_event sysctls are not namespaced, so run this against hosts, not containers.
seealso:
  - name: Perf events and tool security
    description: The kernel admin-guide page about perf_event_paranoid and CAP_PERFMON.
    link: https://www.kernel.org/doc/html/latest/admin-guide/perf-security.html
  - name: sysctl.d(5)
    description: Configuration directories and precedence.
    link: https://www.freedesktop.org/software/systemd/man/latest/sysctl.d.html
'''

EXAMPLES = r'''
- name: Let unprivileged users profile their own processes (user space only)
  perfsec.selinux.perf_paranoid:
    level: 2

- name: Same, and disable sysctl.conf / sysctl.d entries that would undo it at boot
  perfsec.selinux.perf_paranoid:
    level: 2
    comment_out_overrides: true

- name: Debian's default, only in the drop-in (applied at next boot)
  perfsec.selinux.perf_paranoid:
    level: 3
    runtime: false

- name: Runtime only, for a profiling session (the next boot restores the configured level)
  perfsec.selinux.perf_paranoid:
    level: 1
    persist: false

- name: Fleet with containers in the inventory - skip them instead of failing
  perfsec.selinux.perf_paranoid:
    level: 2
    skip_unsupported: true

- name: A custom kernel known to carry the Debian restriction patch (no config in /boot)
  perfsec.selinux.perf_paranoid:
    level: 3
    assume_level_supported: true
    dropin: /etc/sysctl.d/99-zz-site-perf.conf

- name: Lower the level to 2 for a probe, only where Debian's patch would refuse it before SELinux
  perfsec.selinux.perf_paranoid:
    level: 2
    persist: false
    gate: lower
  register: lowered

- name: Put it back after the probe
  perfsec.selinux.perf_paranoid:
    level: "{{ lowered.previous['kernel.perf_event_paranoid'] }}"
    persist: false
    assume_level_supported: true
  when: lowered is changed

- name: Report the files that would undo the level at boot
  perfsec.selinux.perf_paranoid:
    level: 2
  register: paranoid

- name: Warn about them
  ansible.builtin.debug:
    msg: "{{ paranoid.overriding_files | join(', ') }} override {{ paranoid.dropin }} at boot"
  when: paranoid.overriding_files | length > 0

- name: STIG-safe - paranoid exactly 2, persisted in the file that wins at boot
  perfsec.selinux.perf_paranoid:
    profile: stig

- name: Let perf resolve kernel symbols for CAP_SYSLOG holders only
  perfsec.selinux.perf_paranoid:
    kptr_restrict: 1

- name: Bigger ring buffers and a lower sample rate
  perfsec.selinux.perf_paranoid:
    level: 1
    mlock_kb: 2064
    max_sample_rate: 10000
    cpu_time_max_percent: 25
'''

RETURN = r'''
previous:
  description: Runtime values before the task, by sysctl name (keys managed by the task).
  returned: always
  type: dict
  sample: {"kernel.perf_event_paranoid": 3}
current:
  description: Runtime values after the task (in check mode, what they would be).
  returned: always
  type: dict
  sample: {"kernel.perf_event_paranoid": 2}
level:
  description: The paranoid level requested, or the current one when O(level) is omitted.
  returned: always
  type: int
  sample: 2
level_meaning:
  description: What RV(level) means.
  returned: always
  type: str
level_meanings:
  description: Meaning of every paranoid level, by level (as strings).
  returned: always
  type: dict
supported_levels:
  description: Paranoid levels the running kernel gives a meaning to.
  returned: always
  type: list
  elements: int
  sample: [-1, 0, 1, 2, 3]
level_evidence:
  description: Why levels 3/4 are considered supported.
  returned: always
  type: list
  elements: str
gate:
  description:
    - Read before the task changes anything - whether the distro paranoid patch (Debian's
      CONFIG_SECURITY_PERF_EVENTS_RESTRICT, carried by Ubuntu) refuses every process without
      CAP_SYS_ADMIN at the running level, before SELinux is asked (C(blocks)); C(level),
      C(variant) (C(debian), C(ubuntu), C(upstream)), C(restrict_level) and C(reason) in words.
      The role perfsec.selinux.perf_module reads it before probing as an unprivileged user.
  returned: unless skipped
  type: dict
  sample: {blocks: true, level: 3, variant: debian, restrict_level: 3, reason: "kernel.perf_event_paranoid is 3 ..."}
dropin:
  description: Path of the drop-in file (written or, with O(persist=false), not touched).
  returned: always
  type: str
  sample: /etc/sysctl.d/99-zz-perfsec-perf.conf
dropin_changed:
  description: Whether the drop-in was (or would be) written, or its mode or owner fixed to
    C(0644 root:root).
  returned: always
  type: bool
runtime_changed:
  description: Sysctl names whose runtime value was (or would be) changed.
  returned: always
  type: list
  elements: str
overriding:
  description:
    - Entries in other files that set the same keys to other values and would beat the
      drop-in at boot, found before any change.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    line:
      description: Line number.
      type: int
    key:
      description: Sysctl name.
      type: str
    value:
      description: The value it sets.
      type: str
    reason:
      description: Why it wins over the drop-in.
      type: str
overriding_files:
  description: Distinct files of RV(overriding).
  returned: always
  type: list
  elements: str
commented_out:
  description: Files changed (or that would be) to disable overriding entries.
  returned: always
  type: list
  elements: str
boot_values:
  description: Values the keys get at boot from the config files once the task is done.
  returned: always
  type: dict
stig:
  description:
    - With O(profile=stig), the STIG / ComplianceAsCode check of C(kernel.perf_event_paranoid) once the task
      is done (in check mode, as it would be) - C(status) C(pass) or C(fail), C(file) and C(line) of the
      assignment that wins at boot, C(boot), C(runtime), C(cce) (null off RHEL), C(reason).
  returned: with O(profile=stig)
  type: dict
  sample: {rule: sysctl_kernel_perf_event_paranoid, cce: CCE-83959-7, product: RHEL 9, status: pass,
           expected: 2, boot: 2, runtime: 2, file: /etc/sysctl.d/99-zz-perfsec-perf.conf, line: 4,
           earlier: [], reason: kernel.perf_event_paranoid is 2 at runtime and ... sets it last}
skipped:
  description: True when the host cannot be managed and O(skip_unsupported=true).
  returned: when skipped
  type: bool
'''

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.perfsec.selinux.plugins.module_utils.common import (
    PROC_ROOT, atomic_write, in_container, read_text,
)
from ansible_collections.perfsec.selinux.plugins.module_utils import access as accessmod
from ansible_collections.perfsec.selinux.plugins.module_utils import sysctl as sc
from ansible_collections.perfsec.selinux.plugins.module_utils import compliance

# Overridable for the unit tests (fixture trees instead of this host).
ROOT = '/'


def _option_values(params):
    return [(key, params[opt]) for opt, key in sc.OPTION_KEYS if params.get(opt) is not None]


def plan(params, proc_root=PROC_ROOT, root='/', container=None):
    """Decide everything without changing anything.

    Returns a dict (the module result, plus ``files`` to write and ``writes`` to do) or
    raises sc.SysctlError with the message to fail with.
    """
    errors = sc.validate(params)
    if params.get('gate', 'ignore') != 'ignore' and (params['persist'] or not params['runtime']):
        errors.append('gate=%s changes only the running level, for a probe: set persist=false and '
                      'runtime=true (a lowered level is never written to a drop-in)' % params['gate'])
    profile = params.get('profile') or 'default'
    if not errors and profile == 'stig':
        if params.get('level') is None:
            params = dict(params, level=compliance.STIG_PARANOID)
        errors = compliance.profile_errors(profile, params.get('level'), params['persist'],
                                           params['runtime'], params.get('kptr_restrict'),
                                           os_release(root))
        params = dict(params, comment_out_overrides=True)
    if errors:
        raise sc.SysctlError('; '.join(errors))
    bad_dropin = sc.check_dropin_path(params['dropin'])
    if bad_dropin:
        raise sc.SysctlError(bad_dropin)
    wanted = _option_values(params)
    if not wanted:
        raise sc.SysctlError('nothing to do: set level and/or mlock_kb, max_sample_rate, '
                             'cpu_time_max_percent, kptr_restrict')
    result = {'skipped': False}
    if params['runtime']:
        if container is None:
            container = in_container(proc_root, root)
        if container:
            result['skipped'] = True
            result['msg'] = ('this looks like a container: kernel.perf_event_* are host-wide and '
                             'cannot be set from here. Run the task on the host, or set '
                             'runtime=false to only write the drop-in.')
            return result

    previous = {}
    for key, _value in wanted:
        previous[key] = sc.read_value(key, proc_root)   # SysctlError for unknown names
    levels, evidence = sc.supported_levels(proc_root, root)
    level = params.get('level')
    if level is not None and level not in levels and not params['assume_level_supported']:
        raise sc.SysctlError(
            'level %d is not supported by the running kernel (supported: %s; levels 3/4 come '
            'from Debian/Ubuntu kernel patches and no evidence of them was found in '
            '/proc/config.gz, /boot/config-*, /proc/sys/kernel/version or the current '
            'value). Use level 2 (the upstream default), or set assume_level_supported=true '
            'if you know this kernel has the patch.' % (level, ', '.join(str(x) for x in levels)))
    if params.get('max_sample_rate') is not None:
        pct = params.get('cpu_time_max_percent')
        if pct is None:
            pct = sc.read_value(sc.CPU_TIME_MAX_PERCENT, proc_root)
        if pct in (0, 100) and params['runtime'] and \
                previous[sc.MAX_SAMPLE_RATE] != params['max_sample_rate']:
            raise sc.SysctlError(
                'the kernel refuses to change perf_event_max_sample_rate while '
                'perf_cpu_time_max_percent is %d (throttling disabled): also set '
                'cpu_time_max_percent to 1..99' % pct)

    writes = [(k, v) for k, v in wanted if previous[k] != v] if params['runtime'] else []
    current = dict(previous)
    for k, v in writes:
        current[k] = v

    files = []
    dropin = params['dropin']
    wanted_map = dict((k, str(v)) for k, v in wanted)
    overriding = sc.overriding_entries(wanted_map, dropin, root)
    if params['persist']:
        real = sc.rooted(root, dropin)
        before, st = sc.read_dropin(root, dropin)   # SysctlError for symlinks, devices...
        if before is not None and not sc.written_by_perfsec(before) and not params.get('force'):
            raise sc.SysctlError(
                'dropin %s exists and was not written by perfsec.selinux (its first line is not '
                '"%s ..."): refusing to replace it. Choose another dropin, or set force=true to '
                'overwrite it' % (dropin, sc.MANAGED_PREFIX))
        after = sc.render_dropin(wanted)
        attrs = _dropin_attrs_to_fix(st)
        if before != after or attrs:
            files.append({'path': dropin, 'real': real, 'before': before or '', 'after': after,
                          'shadows': None, 'dropin': True, 'write': before != after,
                          'attrs': attrs})
        if params['comment_out_overrides'] and overriding:
            files.extend(sc.comment_out_plan(overriding, dropin, root))

    result.update({
        'previous': previous,
        'current': current,
        'level': level if level is not None else previous.get(sc.PARANOID,
                                                              sc.read_value(sc.PARANOID, proc_root)),
        'supported_levels': levels,
        'level_evidence': evidence,
        'gate': accessmod.read_paranoid_gate(proc_root, root),
        'level_meanings': dict((str(k), v) for k, v in sorted(sc.LEVEL_MEANINGS.items())),
        'dropin': dropin,
        'dropin_changed': any(f['path'] == dropin for f in files),
        'runtime_changed': [k for k, _v in writes],
        'overriding': [dict((x, e[x]) for x in ('path', 'line', 'key', 'value', 'reason'))
                       for e in overriding],
        'overriding_files': sorted(set(e['path'] for e in overriding)),
        'commented_out': [f['shadows'] or f['path'] for f in files if f['path'] != dropin],
        'files': files,
        'writes': writes,
    })
    result['level_meaning'] = sc.level_meaning(result['level'])
    result['profile'] = profile
    result['params'] = params
    if profile == 'stig':
        contents = dict((f['path'], f['after']) for f in files)
        entries = sc.find_entries([sc.PARANOID], root, contents)
        check = compliance.stig_paranoid_check(entries, current.get(sc.PARANOID), os_release(root))
        result['stig'] = check
        if check['status'] != 'pass':
            raise sc.SysctlError('perfsec_profile stig: the STIG check would still fail after this task (%s); '
                                 'fix the files named there' % check['reason'])
    return result


def os_release(root='/'):
    for path in ('/etc/os-release', '/usr/lib/os-release'):
        text = read_text(sc.rooted(root, path))
        if text:
            return compliance.parse_os_release(text)
    return {}


def _dropin_attrs_to_fix(st):
    """(mode, uid, gid) of an existing drop-in when they are not 0644 root:root, else None.

    The owner is only checked when running as root (only root can change it).
    """
    if st is None:
        return None
    mode = stat.S_IMODE(st.st_mode)
    owner_ok = os.geteuid() != 0 or (st.st_uid, st.st_gid) == (0, 0)
    if mode == sc.DROPIN_MODE and owner_ok:
        return None
    return (mode, st.st_uid, st.st_gid)


def _write_dropin(module, f):
    """Write the drop-in (when its text changes) and make it 0644 root:root."""
    if f['write']:
        atomic_write(module, f['real'], f['after'], mode=sc.DROPIN_MODE)
    os.chmod(f['real'], sc.DROPIN_MODE)
    if os.geteuid() == 0:
        st = os.lstat(f['real'])
        if (st.st_uid, st.st_gid) != (0, 0):
            os.chown(f['real'], 0, 0)


def _diff(result):
    out = []
    for f in result['files']:
        if not f.get('dropin') or f['write']:
            out.append({'before_header': f['path'] if f['before'] else '%s (absent)' % f['path'],
                        'after_header': f['path'], 'before': f['before'], 'after': f['after']})
        if f.get('attrs'):
            mode, uid, gid = f['attrs']
            out.append({'before_header': '%s (mode, owner)' % f['path'],
                        'after_header': '%s (mode, owner)' % f['path'],
                        'before': 'mode %04o, owner %d:%d\n' % (mode, uid, gid),
                        'after': 'mode %04o, owner 0:0\n' % sc.DROPIN_MODE})
    for k, v in result['writes']:
        out.append({'before_header': 'runtime %s' % k, 'after_header': 'runtime %s' % k,
                    'before': '%s\n' % result['previous'][k], 'after': '%s\n' % v})
    return out


def predicted_boot_values(result, params, root):
    """Boot values (systemd order) once the planned file changes are made."""
    keys = [k for k, _v in _option_values(params)]
    return sc.boot_values(keys, root, dict((f['path'], f['after']) for f in result['files']))


def _apply_gate(module, result, p):
    """O(gate=lower|refuse): nothing to do where the gate lets unprivileged perf through; refuse
    or lower (the plan as it is) where it does not."""
    gate = result['gate']
    if not gate.get('blocks'):
        result.update(files=[], writes=[], current=dict(result['previous']), runtime_changed=[],
                      dropin_changed=False, msg='the paranoid gate lets unprivileged perf_event_open() '
                      'reach SELinux (%s): nothing changed' % gate.get('reason', 'no restriction patch'))
    elif p['gate'] == 'refuse':
        module.fail_json(msg='%s. %s' % (gate.get('reason', 'the paranoid gate refuses'), p['gate_hint']),
                         gate=gate)
    else:
        result['msg'] = '%s: lowered at runtime for the probe' % gate.get('reason', 'the paranoid gate refuses')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            level=dict(type='int'),
            persist=dict(type='bool', default=True),
            runtime=dict(type='bool', default=True),
            dropin=dict(type='path', default=sc.DEFAULT_DROPIN),
            force=dict(type='bool', default=False),
            comment_out_overrides=dict(type='bool', default=False),
            mlock_kb=dict(type='int'),
            max_sample_rate=dict(type='int'),
            cpu_time_max_percent=dict(type='int'),
            kptr_restrict=dict(type='int', choices=[0, 1, 2]),
            profile=dict(type='str', choices=list(compliance.PROFILES)),
            assume_level_supported=dict(type='bool', default=False),
            skip_unsupported=dict(type='bool', default=False),
            gate=dict(type='str', choices=['ignore', 'lower', 'refuse'], default='ignore'),
            gate_hint=dict(type='str', default=''),
        ),
        required_one_of=[('level', 'mlock_kb', 'max_sample_rate', 'cpu_time_max_percent', 'kptr_restrict',
                          'profile')],
        supports_check_mode=True,
    )
    p = module.params
    proc_root = PROC_ROOT
    root = ROOT
    try:
        result = plan(p, proc_root, root)
    except sc.SysctlError as e:
        module.fail_json(msg=str(e))
    p = result.pop('params', p)   # the profile may have set level / comment_out_overrides
    if p['gate'] != 'ignore' and not result['skipped']:
        _apply_gate(module, result, p)

    if result['skipped']:
        if p['skip_unsupported']:
            module.exit_json(changed=False, skipped=True, msg=result['msg'])
        module.fail_json(msg=result['msg'] + ' (or set skip_unsupported=true)')

    if result['writes'] and p['runtime'] and sc.proc_sys_readonly(proc_root):
        msg = ('/proc/sys is read-only here (container or read-only mount): cannot set %s. '
               'Run the task on the host, set runtime=false to only persist, or '
               'skip_unsupported=true.' % ', '.join(k for k, _v in result['writes']))
        if p['skip_unsupported']:
            module.exit_json(changed=False, skipped=True, msg=msg)
        module.fail_json(msg=msg)

    changed = bool(result['files'] or result['writes'])
    diff = _diff(result)

    boot = predicted_boot_values(result, p, root)
    if result['overriding'] and not (p['persist'] and p['comment_out_overrides']):
        module.warn('%s set %s to other values and can override %s (%s); set '
                    'comment_out_overrides=true to disable them'
                    % (', '.join(result['overriding_files']),
                       ', '.join(sorted(set(e['key'] for e in result['overriding']))),
                       p['dropin'], '; '.join(sorted(set(e['reason'] for e in result['overriding'])))))

    if not module.check_mode:
        done = []
        try:
            for f in result['files']:
                if f.get('dropin'):
                    _write_dropin(module, f)
                else:
                    atomic_write(module, f['real'], f['after'],
                                 mode=None if os.path.exists(f['real']) else 0o644)
                done.append(f['path'])
            for k, v in result['writes']:
                sc.write_value(k, v, proc_root)
                done.append(k)
        except sc.SysctlError as e:
            module.fail_json(msg=str(e), changed=bool(done))
        except (IOError, OSError) as e:
            module.fail_json(msg='cannot write %s: %s; check that the file system is writable'
                             % (getattr(e, 'filename', ''), e), changed=bool(done))
        for k, _v in _option_values(p):
            result['current'][k] = sc.read_value(k, proc_root) if p['runtime'] else result['current'][k]

    out = dict((k, v) for k, v in result.items() if k not in ('files', 'writes', 'skipped', 'params'))
    out['boot_values'] = boot
    if module._diff:
        out['diff'] = diff
    module.exit_json(changed=changed, **out)


if __name__ == '__main__':
    main()
