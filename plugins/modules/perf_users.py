#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_users
short_description: A privileged perf users group with its own copy of perf carrying file capabilities
version_added: "1.1.0"
description:
  - The kernel admin-guide's "Privileged Perf users groups" (Documentation/admin-guide/perf-security.rst)
    on a copy of perf, in one call. With O(state=present) it creates the system group O(group)
    (C(groupadd -r)), appends O(members) to it (C(gpasswd -a); they must exist and are never created),
    makes O(dir) (root:GROUP, mode 0750), copies the perf ELF to O(dir)/perf (root:GROUP, mode 0750) and
    gives the copy its file capabilities.
  - The perf ELF and the capabilities are decided as perfsec.selinux.perf_users_binary decides them
    (O(source), else the first ELF among C(/usr/lib/linux-tools/RELEASE/perf), C(/usr/bin/perf_X.Y),
    C(/usr/bin/perf); C(cap_perfmon) by number where libcap does not know the name; C(cap_sys_admin) in
    its place on a kernel without CAP_PERFMON only with O(allow_cap_sys_admin)).
  - Everything is compared before it is changed. The copy is written only when its sha256 differs from
    the source's (a perf upgrade is noticed), through a temporary file in O(dir) renamed into place. The
    capabilities are read with C(getcap) and set with C(setcap) only when they differ. Each capability of
    O(capabilities) is set to exactly C(=ep), C(cap_sys_admin), C(cap_perfmon) and C(38) are dropped when
    not wanted, and any other capability on the file is kept (what the role did task by task with
    community.general.capabilities).
  - Every check comes before the first change. A member that does not exist, an unsafe group or user
    name, a relative path, a kernel without CAP_PERFMON or no perf ELF fails with one message and
    leaves the host as it was.
  - With O(state=absent) it removes O(dir) (the directory and the copy) and, with O(remove_group), the
    group. User accounts are never touched.
  - O(dir) may hold nothing but C(perf) (and temporary C(.perf-*) files of an interrupted copy); another
    file there is refused in both states, so a wrong O(dir) is neither taken over nor removed.
  - Warns when C(kernel.perf_event_paranoid) is above 2 (Debian 3, Ubuntu 4), where the group's perf
    is refused anyway.
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - action_common_attributes
  - perfsec.selinux.perf_users
options:
  state:
    description: V(present) sets the group, its directory and its perf up, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  group:
    description:
      - The group of privileged perf users, a system group. Lower-case letters, digits, C(_) and C(-),
        starting with a letter or C(_), at most 32 characters.
    type: str
    default: perf_users
  members:
    description:
      - Existing users to append to the group (never created, never removed from it). Each must
        resolve (local or NSS), else nothing is changed.
    type: list
    elements: str
    default: []
  dir:
    description:
      - Directory (root:GROUP, mode 0750) holding the group's perf, O(dir)/perf. An absolute, normalised
        path at least two levels deep.
    type: path
    default: /opt/perf_users
  remove_group:
    description: With O(state=absent), also delete the group.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reads everything and returns what a real run would do in RV(actions), with C(changed); writes nothing.
  diff_mode:
    support: full
    details: The group's members, the directory's owner and mode, the copy's sha256, owner, mode and capabilities, before and after.
  platform:
    platforms: posix
notes:
  - Needs root, C(groupadd), C(groupdel), C(gpasswd), C(getcap) and C(setcap) (Debian libcap2-bin and passwd,
    Fedora/EL libcap and shadow-utils), and a file system with extended attributes for O(dir).
  - Members get the group at their next login.
'''

EXAMPLES = r'''
- name: A perf_users group whose own perf carries CAP_PERFMON
  perfsec.selinux.perf_users:
    members: [alice, bob]

- name: Remove the group's perf and the group
  perfsec.selinux.perf_users:
    state: absent
'''

RETURN = r'''
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: [groupadd -r perf_users, gpasswd -a alice perf_users, mkdir /opt/perf_users, copy /usr/bin/perf_6.1]
group:
  description: The group's name.
  returned: always
  type: str
  sample: perf_users
gid:
  description: The group's id (null when it does not exist, or in check mode before it is created).
  returned: always
  type: int
members:
  description: The group's members after the run (in check mode, predicted).
  returned: always
  type: list
  elements: str
added:
  description: The members appended to the group by this run.
  returned: state=present
  type: list
  elements: str
path:
  description: The group's perf, O(dir)/perf.
  returned: always
  type: str
  sample: /opt/perf_users/perf
sha256:
  description: sha256 of the group's perf after the run (in check mode, the source's).
  returned: state=present
  type: str
copied:
  description: Whether the copy was (or would be) written.
  returned: state=present
  type: bool
file_capabilities:
  description: The copy's capabilities in getcap's style, after the run (in check mode, predicted).
  returned: state=present
  type: str
  sample: cap_perfmon,cap_sys_ptrace,cap_syslog=ep
source:
  description: The perf ELF copied.
  returned: state=present
  type: str
  sample: /usr/bin/perf_6.1
tried:
  description: The candidates looked at, in order.
  returned: state=present
  type: list
  elements: str
capabilities:
  description: The wanted file capabilities (each set as C(NAME=ep)).
  returned: state=present
  type: list
  elements: str
  sample: [cap_perfmon, cap_sys_ptrace, cap_syslog]
remove:
  description: Capabilities perfsec manages that the binary must not keep.
  returned: state=present
  type: list
  elements: str
kernel_release:
  description: The running kernel's release.
  returned: state=present
  type: str
cap_last_cap:
  description: The highest capability the kernel knows (null when unreadable).
  returned: state=present
  type: int
paranoid:
  description: kernel.perf_event_paranoid (null when unreadable).
  returned: state=present
  type: int
'''

import grp
import hashlib
import os
import pwd
import shutil
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import perfusers as pu

MODE = 0o750


def group_entry(name):
    """{'gid', 'members'} of a group, or None when it does not exist."""
    try:
        g = grp.getgrnam(name)
    except KeyError:
        return None
    return {'gid': g.gr_gid, 'members': list(g.gr_mem)}


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def owner_text(uid, gid):
    try:
        u = pwd.getpwuid(uid).pw_name
    except KeyError:
        u = str(uid)
    try:
        g = grp.getgrgid(gid).gr_name
    except KeyError:
        g = str(gid)
    return '%s:%s' % (u, g)


def path_state(path):
    """lstat of ``path`` as {kind, uid, gid, mode}, or None."""
    try:
        st = os.stat(path) if os.path.isdir(path) else os.lstat(path)
    except OSError:
        return None
    kind = 'directory' if stat.S_ISDIR(st.st_mode) else 'file' if stat.S_ISREG(st.st_mode) else 'other'
    return {'kind': kind, 'uid': st.st_uid, 'gid': st.st_gid, 'mode': stat.S_IMODE(st.st_mode)}


def attrs_ok(st, gid):
    return st is not None and gid is not None and (st['uid'], st['gid'], st['mode']) == (0, gid, MODE)


def foreign_entries(dirpath):
    """Entries of the group's directory other than perf and the copy's temporary files."""
    try:
        names = os.listdir(dirpath)
    except OSError:
        return []
    return sorted(n for n in names if n != pu.BINARY and not n.startswith(pu.TMP_PREFIX))


class Runner(object):
    def __init__(self, module):
        self.module = module
        self.done = []

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, changed=bool(self.done), actions=self.done, **extra)

    def bin(self, name):
        path = self.module.get_bin_path(name)
        if not path:
            self.fail('%s not found: install it (Debian passwd / libcap2-bin, Fedora/EL shadow-utils / libcap)' % name)
        return path

    def run(self, argv):
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            self.fail('%s failed (rc %d): %s' % (' '.join(argv), rc, (err or out).strip()))
        return out

    def getcap(self, path):
        out = self.run([self.bin('getcap'), path])
        return pu.parse_getcap(out, path)


def describe(group, gentry, dirpath, dstate, fpath, fstate, fsha=None, fcaps=None):
    """Text lines for the diff."""
    lines = []
    if gentry is None:
        lines.append('group %s: absent' % group)
    else:
        gid = gentry['gid'] if gentry['gid'] is not None else '(new)'
        lines.append('group %s: gid %s, members %s' % (group, gid, ','.join(gentry['members']) or '(none)'))
    lines.append('%s: absent' % dirpath if dstate is None else '%s: %s %s %04o' % (dirpath, dstate['kind'], dstate['owner'], dstate['mode']))
    if fpath is not None:
        if fstate is None:
            lines.append('%s: absent' % fpath)
        else:
            caps = '' if fcaps is None else ', capabilities %s' % (fcaps or '(none)')
            lines.append('%s: %s %s %04o, sha256 %s%s' % (fpath, fstate['kind'], fstate['owner'], fstate['mode'], fsha, caps))
    return ''.join(line + '\n' for line in lines)


def with_owner(st):
    if st is None:
        return None
    return dict(st, owner=owner_text(st['uid'], st['gid']))


def copy_file(module, src, dest, gid):
    """Copy ``src`` to ``dest`` through a temporary file in dest's directory (root:gid, 0750,
    SELinux default context of dest where SELinux is on), renamed into place. Returns its sha256."""
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=pu.TMP_PREFIX, dir=os.path.dirname(dest))
    try:
        with os.fdopen(fd, 'wb') as out:
            with open(src, 'rb') as inp:
                while True:
                    chunk = inp.read(1 << 20)
                    if not chunk:
                        break
                    h.update(chunk)
                    out.write(chunk)
            out.flush()
            os.fchown(out.fileno(), 0, gid)
            os.fchmod(out.fileno(), MODE)
            os.fsync(out.fileno())
        if module.selinux_enabled():
            context = module.selinux_default_context(dest)
            if context and context[0] is not None:
                module.set_context_if_different(tmp, context, False)
        os.rename(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return h.hexdigest()


def present(module, r, p, group, dirpath, fpath):
    members = []
    for m in p['members']:
        if m not in members:
            members.append(m)
    for m in members:
        why = pu.bad_user(m)
        if why:
            module.fail_json(msg=why, changed=False)
    decision, error, warning = pu.decide(p['source'], p['capabilities'], p['allow_cap_sys_admin'], p['proc_root'],
                                         lambda: pu.libcap_knows_perfmon(module))
    if error:
        module.fail_json(msg=error, changed=False, **decision)
    missing = [m for m in members if not user_exists(m)]
    if missing:
        module.fail_json(msg='member%s %s do%s not exist: create the account%s first (perf_users never creates users) '
                             'or drop %s from the members; nothing was changed'
                         % ('s' if len(missing) > 1 else '', ', '.join(missing), '' if len(missing) > 1 else 'es',
                            's' if len(missing) > 1 else '', 'them' if len(missing) > 1 else 'it'),
                         changed=False, missing=missing, **decision)
    dstate = path_state(dirpath)
    if dstate is not None and dstate['kind'] != 'directory':
        module.fail_json(msg='dir=%s exists and is not a directory: remove it or choose another dir' % dirpath, changed=False)
    foreign = foreign_entries(dirpath) if dstate else []
    if foreign:
        module.fail_json(msg='dir=%s holds other files than perf (%s): it is not the group\'s directory, choose '
                             'another dir (perf_users takes over and removes it)' % (dirpath, ', '.join(foreign[:5])),
                         changed=False)
    source = decision['source']
    want_caps = decision['capabilities']
    src_sha = pu.sha256(source)
    if src_sha is None:
        module.fail_json(msg='cannot read %s' % source, changed=False)
    gentry = group_entry(group)
    fstate = path_state(fpath)
    if fstate is not None and fstate['kind'] == 'directory':
        module.fail_json(msg='%s is a directory: remove it, the group\'s perf is written there' % fpath, changed=False)
    fsha = pu.sha256(fpath) if fstate and fstate['kind'] == 'file' else None
    fcaps = r.getcap(fpath) if fstate and fstate['kind'] == 'file' else []
    before = describe(group, gentry, dirpath, with_owner(dstate), fpath, with_owner(fstate), fsha, pu.caps_display(fcaps))

    gid = gentry['gid'] if gentry else None
    add = [m for m in members if gentry is None or m not in gentry['members']]
    need_group = gentry is None
    need_mkdir = dstate is None
    need_dir_attrs = not need_mkdir and not attrs_ok(dstate, gid)
    need_copy = fstate is None or fstate['kind'] != 'file' or fsha != src_sha
    need_file_attrs = not need_copy and not attrs_ok(fstate, gid)
    # a new file has no capabilities, and chown drops them (the kernel clears security.capability)
    chown_file = need_file_attrs and (fstate['uid'], fstate['gid']) != (0, gid)
    caps_now = [] if (need_copy or chown_file) else fcaps
    caps_after = pu.desired_caps(caps_now, want_caps, decision['remove'])

    plan = []
    if need_group:
        plan.append('groupadd -r %s' % group)
    plan += ['gpasswd -a %s %s' % (m, group) for m in add]
    if need_mkdir:
        plan.append('mkdir %s' % dirpath)
    elif need_dir_attrs:
        plan.append('chown root:%s, chmod 0750 %s' % (group, dirpath))
    if need_copy:
        plan.append('copy %s to %s' % (source, fpath))
    elif need_file_attrs:
        plan.append('chown root:%s, chmod 0750 %s' % (group, fpath))
    if not pu.same_caps(caps_now, caps_after):
        plan.append('setcap %s %s' % (pu.caps_text(caps_after) or '-r', fpath))
    changed = bool(plan)

    if module.check_mode:
        g_after = {'gid': gid, 'members': (gentry['members'] if gentry else []) + add}
        owner = 'root:%s' % group
        after = describe(group, g_after, dirpath, {'kind': 'directory', 'owner': owner, 'mode': MODE},
                         fpath, {'kind': 'file', 'owner': owner, 'mode': MODE}, src_sha, pu.caps_display(caps_after))
        result = dict(decision, changed=changed, actions=plan, group=group, gid=gid, members=g_after['members'],
                      added=add, path=fpath, sha256=src_sha, copied=need_copy, file_capabilities=pu.caps_display(caps_after))
    else:
        try:
            if need_group:
                r.run([r.bin('groupadd'), '-r', group])
                r.done.append(plan[0])
                gentry = group_entry(group)
                if gentry is None:
                    r.fail('groupadd -r %s succeeded but the group does not resolve: check /etc/nsswitch.conf' % group)
                gid = gentry['gid']
            for m in add:
                r.run([r.bin('gpasswd'), '-a', m, group])
                r.done.append('gpasswd -a %s %s' % (m, group))
            if need_mkdir:
                parent = os.path.dirname(dirpath)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o755)
                os.mkdir(dirpath, 0o700)
                r.done.append('mkdir %s' % dirpath)
            dstate = path_state(dirpath)
            if not attrs_ok(dstate, gid):
                os.chown(dirpath, 0, gid)
                os.chmod(dirpath, MODE)
                if not need_mkdir:
                    r.done.append('chown root:%s, chmod 0750 %s' % (group, dirpath))
            if need_copy:
                copied_sha = copy_file(module, source, fpath, gid)
                r.done.append('copy %s to %s' % (source, fpath))
                if copied_sha != src_sha:
                    module.warn('%s changed while it was copied (sha256 %s, then %s)' % (source, src_sha, copied_sha))
            else:
                fstate = path_state(fpath)
                if not attrs_ok(fstate, gid):
                    if (fstate['uid'], fstate['gid']) != (0, gid):
                        os.chown(fpath, 0, gid)     # drops the file's capabilities: set again below
                    os.chmod(fpath, MODE)
                    r.done.append('chown root:%s, chmod 0750 %s' % (group, fpath))
            caps_now = r.getcap(fpath)
            caps_after = pu.desired_caps(caps_now, want_caps, decision['remove'])
            if not pu.same_caps(caps_now, caps_after):
                text = pu.caps_text(caps_after)
                argv = [r.bin('setcap'), text, fpath] if text else [r.bin('setcap'), '-r', fpath]
                rc, out, err = module.run_command(argv)
                if rc != 0:
                    r.fail('setcap %s %s failed (rc %d): %s; the file system of %s needs extended attributes (file '
                           'capabilities are xattrs) and libcap must know the names'
                           % (text or '-r', fpath, rc, (err or out).strip(), dirpath))
                r.done.append('setcap %s %s' % (text or '-r', fpath))
        except (IOError, OSError) as e:
            r.fail('cannot write %s: %s; perf_users needs root (become) and a writable %s'
                   % (getattr(e, 'filename', None) or dirpath, e, dirpath))
        gentry = group_entry(group)
        fcaps_after = r.getcap(fpath)
        after = describe(group, gentry, dirpath, with_owner(path_state(dirpath)), fpath,
                         with_owner(path_state(fpath)), pu.sha256(fpath), pu.caps_display(fcaps_after))
        result = dict(decision, changed=bool(r.done), actions=r.done, group=group, gid=gentry['gid'] if gentry else None,
                      members=gentry['members'] if gentry else [], added=add, path=fpath, sha256=pu.sha256(fpath),
                      copied=need_copy, file_capabilities=pu.caps_display(fcaps_after))
    if warning:
        module.warn(warning)
    return result, before, after


def absent(module, r, p, group, dirpath, fpath):
    dstate = path_state(dirpath)
    if dstate is not None and dstate['kind'] == 'directory':
        foreign = foreign_entries(dirpath)
        if foreign:
            module.fail_json(msg='dir=%s holds other files than perf (%s): not removing it; remove them first or '
                                 'choose the right dir' % (dirpath, ', '.join(foreign[:5])), changed=False)
    gentry = group_entry(group)
    fstate = path_state(fpath) if dstate and dstate['kind'] == 'directory' else None
    fsha = pu.sha256(fpath) if fstate and fstate['kind'] == 'file' else None
    fcaps = None
    if fsha and module.get_bin_path('getcap'):
        fcaps = pu.caps_display(r.getcap(fpath))
    before = describe(group, gentry, dirpath, with_owner(dstate), fpath if fstate else None, with_owner(fstate),
                      fsha, fcaps)
    plan = []
    if dstate is not None:
        plan.append('remove %s' % dirpath)
    if gentry is not None and p['remove_group']:
        plan.append('groupdel %s' % group)
    after = describe(group, gentry if not p['remove_group'] else None, dirpath, None, None, None)
    if not module.check_mode:
        try:
            if dstate is not None:
                if os.path.isdir(dirpath) and not os.path.islink(dirpath):
                    shutil.rmtree(dirpath)
                else:
                    os.unlink(dirpath)
                r.done.append(plan[0])
        except (IOError, OSError) as e:
            r.fail('cannot remove %s: %s' % (getattr(e, 'filename', None) or dirpath, e))
        if gentry is not None and p['remove_group']:
            r.run([r.bin('groupdel'), group])
            r.done.append('groupdel %s' % group)
        plan = r.done
        gentry = group_entry(group)
        after = describe(group, gentry, dirpath, with_owner(path_state(dirpath)), None, None)
    result = dict(changed=bool(plan), actions=plan, group=group, gid=gentry['gid'] if gentry else None,
                  members=gentry['members'] if gentry else [], path=fpath)
    return result, before, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='present', choices=['present', 'absent']),
            group=dict(type='str', default=C.PERF_USERS_GROUP),
            members=dict(type='list', elements='str', default=[]),
            dir=dict(type='path', default=C.PERF_USERS_DIR),
            source=dict(type='str', default=''),
            capabilities=dict(type='list', elements='str', default=['cap_perfmon', 'cap_sys_ptrace', 'cap_syslog']),
            allow_cap_sys_admin=dict(type='bool', default=False),
            remove_group=dict(type='bool', default=True),
            proc_root=dict(type='path', default=C.PROC_ROOT),
        ),
        supports_check_mode=True,
    )
    p = module.params
    group, dirpath = p['group'], (p['dir'] or '').rstrip('/') or p['dir']
    for why in (pu.bad_group(group), pu.bad_dir(dirpath)):
        if why:
            module.fail_json(msg=why, changed=False)
    fpath = os.path.join(dirpath, pu.BINARY)
    r = Runner(module)
    if p['state'] == 'present':
        result, before, after = present(module, r, p, group, dirpath, fpath)
    else:
        result, before, after = absent(module, r, p, group, dirpath, fpath)
    if module._diff:
        result['diff'] = {'before_header': 'perf_users %s' % group, 'after_header': 'perf_users %s' % group,
                          'before': before, 'after': after}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
