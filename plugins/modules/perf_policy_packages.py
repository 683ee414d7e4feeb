#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_policy_packages
short_description: Install the rebuilt selinux-policy RPMs with a record for rollback, or put the originals back
version_added: "1.1.0"
description:
  - V(rebuilt) installs the rebuilt C(selinux-policy*) RPMs O(packages) (host paths) and O(src_packages) (controller
    paths, which the action plugin copies to O(backup_dir)/O(key)/new first; perfsec.selinux.policy_install
    passes its RPMs so). Their names come from
    the packages' headers (C(rpm -qp)); a file that is not an RPM, or a truncated or corrupt one, is refused
    with one message before anything is changed. When C(rpm -q) says they are all installed, nothing happens.
  - Otherwise the installed C(selinux-policy*) packages are recorded in O(backup_dir)/O(key)/previous-packages.txt
    (first install only), copies of them are kept in O(backup_dir)/O(key)/previous (C(dnf download) where dnf is
    there and O(root) is C(/), and the files of O(previous_packages)), a warning says so when no copy could be
    kept, and the packages are installed with C(dnf install -y) or C(rpm -Uhv). Their C(%post) builds and loads
    the policy. After an install that worked, O(backup_dir)/O(key)/state.json records it (keys C(previous),
    C(installed), C(root), C(kept_copies); perfsec.selinux.perf_mac_facts reads it). An install that fails ends
    in one message with the output of rpm or dnf and writes no record of an install.
  - The sha256 of the policy's C(file_contexts) (C(/etc/selinux/TYPE/contexts/files/file_contexts) under O(root),
    TYPE from C(SELINUXTYPE) in C(/etc/selinux/config), default C(targeted)) is compared before and after
    (RV(file_contexts_changed)).
  - V(original) puts back the packages the oldest record under O(backup_dir) names (the first
    C(previous-packages.txt) by modification time, in O(backup_dir) or one directory below it), from the
    copies kept beside it, with C(rpm -Uhv --oldpackage --replacepkgs), unless C(rpm -q) says they are installed.
    Each record directory then gets a C(rolled-back) file (the record's content), so the plan does not take the
    originals for a package update.
options:
  state:
    description:
      - V(rebuilt) installs O(packages); V(original) reinstalls the packages recorded by an earlier V(rebuilt).
    type: str
    choices: [rebuilt, original]
    default: rebuilt
  packages:
    description:
      - Host paths of the rebuilt RPMs (V(rebuilt)). With O(src_packages) empty too, empty only in check mode
        (nothing built yet), when the module says it would install them.
    type: list
    elements: path
    default: []
  src_packages:
    description:
      - Controller paths of the rebuilt RPMs (V(rebuilt)), looked up as ansible.builtin.copy looks up its C(src)
        (relative ones in the role's or playbook's C(files)). The action plugin copies them into O(backup_dir)/O(key)/new
        (replacing a file of that name whose checksum differs, mode 0600, directories created; the module then makes
        the record directories 0700) and adds their host paths to O(packages). Not in check mode, which copies
        nothing and reports what it would copy (RV(copied), and in diff mode a list of the files).
      - Every controller file of O(src_packages) and O(src_previous_packages) is looked up before anything is
        copied; one that is missing ends the task with one message and the host as it was.
      - Nothing is copied when O(backup_dir) or O(root) is relative or O(key) is not one directory name; the
        module refuses the task then.
      - Given but empty (and O(packages) empty) outside check mode, the task is refused with the message of
        perfsec.selinux.policy_install (run perfsec.selinux.policy_build first, or set policy_install_rpms).
    type: list
    elements: str
    default: []
  src_previous_packages:
    description:
      - Controller paths of copies of the packages installed now (V(rebuilt)), which the action plugin copies into
        O(backup_dir)/O(key)/previous like O(src_packages), except that a file of that name there is never replaced;
        their host paths are added to O(previous_packages).
    type: list
    elements: str
    default: []
  previous_packages:
    description:
      - Host paths of copies of the packages installed now, given by the controller where C(dnf download) cannot
        fetch them (no repository carrying that version, or no dnf). Copied into O(backup_dir)/O(key)/previous
        (unless a file of that name is there already) when an install happens.
    type: list
    elements: path
    default: []
  backup_dir:
    description:
      - Directory of the install records. An absolute path (the package paths passed to rpm start with it; anything
        else is refused). It is not taken under O(root).
    type: path
    default: /var/lib/perfsec/policy-backup
  key:
    description:
      - Name of the record directory under O(backup_dir) (V(rebuilt)); perfsec.selinux.policy_install passes the
        policy_build cache key.
      - The record directory and its C(previous) and C(new) are made root-only (0700) with the install, and also
        when the packages are already installed and a copy of the files left them with another mode (that alone
        reports a change).
    type: str
    default: manual
  root:
    description:
      - Root to install into (C(rpm --root), C(dnf --installroot)); C(/) is the running system. An absolute path.
    type: path
    default: /
  method:
    description:
      - V(auto) uses C(dnf install -y) when dnf is installed and O(root) is C(/), else C(rpm -Uhv).
      - V(original) always uses rpm.
    type: str
    choices: [auto, dnf, rpm]
    default: auto
  nodeps:
    description:
      - Pass C(--nodeps) to rpm. V(auto) does so when the rpm database of O(root) does not know C(rpm) itself
        (C(rpm -q rpm) fails, as on Debian, where dpkg owns the system); decided once per run.
    type: str
    choices: [auto, always, never]
    default: auto
  rpm_options:
    description:
      - Extra options for C(rpm -Uhv) (method rpm, V(rebuilt)), for example C([--noscripts]) when installing into an
        image root that has no semodule.
    type: list
    elements: str
    default: []
attributes:
  action:
    support: full
    details: The action plugin copies O(src_packages) and O(src_previous_packages) to the host, then runs the module.
  async:
    support: full
    details: The copies of O(src_packages) and O(src_previous_packages) are made before, not in the background.
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - Reads the packages and the rpm database and returns what a real run would install (or reinstall); creates,
        copies and installs nothing. Files not on the host yet are named by their file names.
  diff_mode:
    support: full
    details:
      - The installed C(selinux-policy*) packages before and after.
      - Before that, the files of O(src_packages) and O(src_previous_packages) copied (or, in check mode, to copy).
  platform:
    platforms: posix
notes:
  - Python 3.6 or newer on the host, C(rpm); C(dnf) for the method dnf and C(dnf download).
  - Where SELinux runs, the packages' C(%post) loads the new policy live and relabels the changed file contexts
    (Fedora's do); where it does not, the next boot loads it after a relabel (RV(relabel_needed)).
seealso:
  - module: perfsec.selinux.perf_policy_build
  - module: perfsec.selinux.perf_mac_facts
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
'''

EXAMPLES = r'''
- name: Copy the rebuilt packages from the controller and install them, with copies of the originals for rollback
  perfsec.selinux.perf_policy_packages:
    src_packages: "{{ policy_build_result.controller_rpms }}"
    src_previous_packages: [files/selinux-policy-3.14.4-48.fc31.noarch.rpm, files/selinux-policy-targeted-3.14.4-48.fc31.noarch.rpm]
    key: "{{ policy_build_result.key }}"
  register: install

- name: Install the rebuilt packages (copied to the host before), keeping the originals for rollback
  perfsec.selinux.perf_policy_packages:
    packages:
      - /var/lib/perfsec/policy-backup/manual/new/selinux-policy-3.14.4-48.fc31.perf1.noarch.rpm
      - /var/lib/perfsec/policy-backup/manual/new/selinux-policy-targeted-3.14.4-48.fc31.perf1.noarch.rpm
  register: install

- name: Say what happened
  ansible.builtin.debug:
    msg: "{{ install.msg }}; relabel boot needed {{ install.relabel_needed }}"

- name: Install into an image root with rpm (no semodule there to run the %post)
  perfsec.selinux.perf_policy_packages:
    packages: "{{ rebuilt_rpms }}"
    root: /srv/image
    backup_dir: /srv/image/var/lib/perfsec/policy-backup
    method: rpm
    rpm_options: [--noscripts]

- name: Put the original packages back
  perfsec.selinux.perf_policy_packages:
    state: original
'''

RETURN = r'''
skipped:
  description: Always false (the role perfsec.selinux.policy_install registers this result as policy_install_result).
  returned: state is rebuilt
  type: bool
reason:
  description: V(installed) (or, in check mode, would be) or V(already installed).
  returned: state is rebuilt
  type: str
  sample: installed
installed:
  description: NAME-VERSION-RELEASE.ARCH of the packages installed by this run (in check mode, that would be); empty otherwise.
  returned: state is rebuilt
  type: list
  elements: str
  sample: [selinux-policy-3.14.4-48.fc31.perf1.noarch, selinux-policy-targeted-3.14.4-48.fc31.perf1.noarch]
previous:
  description: The C(selinux-policy*) packages installed before this run, sorted.
  returned: state is rebuilt
  type: list
  elements: str
  sample: [selinux-policy-3.14.4-48.fc31.noarch, selinux-policy-targeted-3.14.4-48.fc31.noarch]
relabel_needed:
  description:
    - True when packages were (or would be) installed and SELinux is not enabled in the running kernel, so the new
      policy is loaded only at the next boot, after a relabel. Where SELinux runs, the packages' C(%post) loads it live.
  returned: state is rebuilt
  type: bool
state_file:
  description: Path of the install record, O(backup_dir)/O(key)/state.json (written only by an install that worked).
  returned: state is rebuilt
  type: str
  sample: /var/lib/perfsec/policy-backup/c2018af8a9bfea65-bdbe1bf3e49f/state.json
record_dir:
  description: The record directory O(backup_dir)/O(key).
  returned: state is rebuilt
  type: str
file_contexts_changed:
  description:
    - Whether the install changed the policy's C(file_contexts) (sha256 before and after). In check mode the
      prediction from the packages' file digests, null when they cannot tell.
  returned: state is rebuilt
  type: bool
kept_copies:
  description: Whether copies of the previous packages were kept (C(dnf download), or O(previous_packages)).
  returned: state is rebuilt
  type: bool
nodeps:
  description: Whether rpm ran (or would run) with C(--nodeps); false when rpm was not run.
  returned: always
  type: bool
method:
  description: V(dnf) or V(rpm), the tool that installs (or would).
  returned: always
  type: str
reinstalled:
  description: NAME-VERSION-RELEASE.ARCH of the kept copies reinstalled (in check mode, that would be).
  returned: state is original
  type: list
  elements: str
original:
  description: The packages the oldest record names.
  returned: state is original
  type: list
  elements: str
record:
  description: The oldest record, the C(previous-packages.txt) the originals are read from.
  returned: state is original
  type: str
records:
  description: Every C(previous-packages.txt) found; each directory gets a C(rolled-back) file after a reinstall.
  returned: state is original
  type: list
  elements: str
msg:
  description: One line saying what happened.
  returned: always
  type: str
  sample: selinux-policy-3.14.4-48.fc31.perf1.noarch installed (rpm -Uhv --nodeps)
copied:
  description:
    - Host paths of the files of O(src_packages) and O(src_previous_packages) this run copied (in check mode, would
      copy); a file already there with the same checksum and mode is not listed.
  returned: when src_packages is given
  type: list
  elements: str
  sample: [/var/lib/perfsec/policy-backup/manual/new/selinux-policy-3.14.4-48.fc31.perf1.noarch.rpm]
report:
  description:
    - One line for the play's output (perfsec.selinux.policy_install prints it) - RV(msg), the host (its
      inventory_hostname) and how the new policy is loaded (live by the packages' C(%post) where SELinux is enabled,
      else at the next boot, after perfsec.selinux.relabel).
  returned: when reason is installed
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.perfsec.selinux.plugins.module_utils.constants import POLICY_BACKUP_DIR
from ansible_collections.perfsec.selinux.plugins.module_utils.packages import Packages, PackagesError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='rebuilt', choices=['rebuilt', 'original']),
            packages=dict(type='list', elements='path', default=[]),
            previous_packages=dict(type='list', elements='path', default=[]),
            src_packages=dict(type='list', elements='str', default=[]),
            src_previous_packages=dict(type='list', elements='str', default=[]),
            backup_dir=dict(type='path', default=POLICY_BACKUP_DIR),
            key=dict(type='str', default='manual', no_log=False),
            root=dict(type='path', default='/'),
            method=dict(type='str', default='auto', choices=['auto', 'dnf', 'rpm']),
            nodeps=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            rpm_options=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    if module.params['src_packages'] or module.params['src_previous_packages']:
        module.fail_json(msg='src_packages and src_previous_packages are controller paths: the action plugin '
                             'perfsec.selinux.perf_policy_packages copies them to the host and passes host paths; this '
                             'module ran without it. Nothing was changed.', changed=False)
    job = Packages(module, module.params)
    try:
        result = job.rebuilt() if module.params['state'] == 'rebuilt' else job.original()
    except PackagesError as e:
        module.fail_json(msg=to_native(e), changed=False)
    except (IOError, OSError) as e:
        module.fail_json(msg='perf_policy_packages: %s (%s)' % (to_native(e), getattr(e, 'filename', '') or ''),
                         changed=False)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
