#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_policy_patch
short_description: Add class perf_event and capability2 perfmon to a SELinux policy source tree
version_added: "1.0.0"
description:
  - Edits the flask definitions (C(policy/flask/security_classes) and C(policy/flask/access_vectors))
    of a prepared refpolicy or Fedora C(selinux-policy) source tree, e.g. the
    C(rpmbuild/BUILD/selinux-policy-*) directory left by C(rpmbuild -bp), so the policy built from it
    defines class C(perf_event) (C(open cpu kernel tracepoint read write)) and the capability2
    permission C(perfmon).
  - The files are parsed into their C(common)/C(class) blocks and the missing declarations are
    inserted as new lines; everything else, comments included, is kept byte for byte. C(perfmon) goes
    right after C(audit_read), in C(common cap2) or in C(class capability2), wherever the tree has it.
    New classes are appended after the last class of both files, so they keep the same relative
    order in both (the position Fedora 31's hand-made patch used).
  - Idempotent, unlike C(patch -f)/C(patch --batch), which silently revert an already patched tree.
  - A tree whose flask files do not parse is refused with the file and line, and nothing is written.
    So is a flask file over 4 MiB (real ones are about 100 KB) and one with a character checkpolicy
    does not accept outside a comment (such as NBSP or U+2028, which are not white space for it).
  - Both files (and O(patch_file)) are written to temporary files first and then put in place one
    after the other; when one cannot be replaced, those already replaced are restored, so a failed
    run leaves the tree as it was and reports C(changed=false). Only if that restore fails too is
    C(changed=true) reported, with the file to re-extract named in the message.
options:
  path:
    description:
      - Root of the policy source tree, the directory that holds C(policy/flask/).
    type: path
    required: true
  perfmon:
    description:
      - Ensure the capability2 permission C(perfmon).
    type: bool
    default: true
  perf_event:
    description:
      - Ensure class C(perf_event) with the permissions C(open cpu kernel tracepoint read write).
    type: bool
    default: true
  extra_permissions:
    description:
      - 'More permissions to ensure in existing classes, as a mapping of class name to a list of
        permission names (or a string of names separated by spaces or commas), e.g. C({capability2: [bpf]}).'
      - A permission goes after the one requested before it (the first one for C(capability2) after
        C(perfmon)), else at the end of the class's own permission block, or of its common when the
        class only inherits one.
    type: dict
    default: {}
  extra_classes:
    description:
      - More classes to ensure, as a mapping of class name to its list of permissions. A class that
        exists already gets the missing permissions added.
    type: dict
    default: {}
  patch_file:
    description:
      - Also write the equivalent unified diff (C(patch -p1) applies it from O(path)) to this file,
        mode 0600. Written only when the tree needs a change; an already patched tree leaves it alone.
      - Always written in full, even when RV(patch) is omitted from the result for its size.
    type: path
attributes:
  check_mode:
    support: full
    details: Computes the change and the diff without writing anything.
  diff_mode:
    support: full
    details: A unified diff per flask file.
  platform:
    platforms: posix
notes:
  - Python 3.6 or newer on the target.
seealso:
  - module: perfsec.selinux.perf_mac_facts
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
'''

EXAMPLES = r'''
- name: Patch the tree prepared by rpmbuild -bp
  perfsec.selinux.perf_policy_patch:
    path: /root/rpmbuild/BUILD/selinux-policy-b86eaaf4dbcf2d51dd4432df7185c0eaf3cbcc02
    patch_file: /root/rpmbuild/SOURCES/selinux-policy-perf-events-perfmon.patch

- name: Preview the change of a tree (nothing written; the diff per flask file with --diff)
  perfsec.selinux.perf_policy_patch:
    path: "{{ build_dir }}"
  check_mode: true
  diff: true
  register: preview

- name: Show what would be added
  ansible.builtin.debug:
    msg: "{{ preview.added_classes + preview.added_permissions }}"

- name: Only class perf_event (the tree already has capability2 perfmon)
  perfsec.selinux.perf_policy_patch:
    path: "{{ build_dir }}"
    perfmon: false

- name: Also ensure capability2 bpf
  perfsec.selinux.perf_policy_patch:
    path: "{{ build_dir }}"
    extra_permissions:
      capability2: [bpf]
'''

RETURN = r'''
added_permissions:
  description: Permissions added to existing classes, and the block they went into.
  returned: always
  type: list
  elements: dict
  sample: [{"class": "capability2", "permission": "perfmon", "block": "common cap2"}]
added_classes:
  description: Classes added to both flask files, with their permissions.
  returned: always
  type: list
  elements: dict
  sample: [{"class": "perf_event", "permissions": ["open", "cpu", "kernel", "tracepoint", "read", "write"]}]
changed_files:
  description: Paths of the flask files that were (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["/root/rpmbuild/BUILD/selinux-policy-x/policy/flask/access_vectors"]
patch:
  description:
    - The unified diff of the change, as C(patch -p1) applies it from O(path); empty when none.
    - Also empty when the diff is larger than 1 MiB (see RV(patch_omitted)); O(patch_file) still gets it.
  returned: always
  type: str
patch_omitted:
  description: True when the diff was larger than 1 MiB and left out of RV(patch).
  returned: always
  type: bool
  sample: false
patch_size:
  description: Size of the unified diff in characters (also when it is omitted from RV(patch)).
  returned: always
  type: int
  sample: 1830
patch_file:
  description: The path the diff was written to (or would be, in check mode).
  returned: when O(patch_file) is set and the tree needed a change
  type: str
'''

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.perfsec.selinux.plugins.module_utils.flask import (
    FlaskError, default_requests, ensure, request_names)


def _names(module, option, mapping):
    """Normalise {class: [perm, ...] | "perm perm"} and validate every name."""
    try:
        return request_names(option, mapping)
    except ValueError as e:
        module.fail_json(msg=to_native(e))


# Largest diff returned in the result (the patch of a real tree is a few KB).
MAX_RETURNED_PATCH = 1024 * 1024


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _stage(module, path, text, mode=None):
    """``text`` in a new temporary file next to ``path``, with the attributes of ``path``."""
    fd, tmp = tempfile.mkstemp(prefix='.perfsec-', dir=os.path.dirname(path) or '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(text.encode('utf-8'))
            f.flush()
            os.fsync(f.fileno())
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
            if module.selinux_enabled():
                module.set_context_if_different(tmp, module.selinux_context(path), False)
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _replace(tmp, path):
    """Put ``tmp`` in place of ``path`` (same directory: atomic)."""
    os.rename(tmp, path)


def write_all(module, writes):
    """Replace every file of ``writes`` [(path, new text, old text or None, mode)] or none.

    All new texts are staged first (nothing replaced when one cannot be written). Then the
    files are replaced in order; when one fails, those already replaced get their old text
    back. Returns (error or None, [paths left changed]).
    """
    staged = []
    try:
        try:
            for path, text, _old, mode in writes:
                staged.append(_stage(module, path, text, mode))
        except (IOError, OSError) as e:
            return ('cannot write a temporary file next to %s: %s'
                    % (getattr(e, 'filename', None) or path, to_native(e)), [])
        done = []
        for i, (path, _text, old, _mode) in enumerate(writes):
            try:
                _replace(staged[i], path)
            except (IOError, OSError) as e:
                error = 'cannot replace %s: %s' % (path, to_native(e))
                break
            staged[i] = None
            done.append((path, old))
        else:
            return None, [p for p, _o in done]
        left = []
        for path, old in reversed(done):
            try:
                if old is None:
                    os.unlink(path)
                else:
                    tmp = _stage(module, path, old)
                    try:
                        _replace(tmp, path)
                    except BaseException:
                        _unlink(tmp)
                        raise
            except (IOError, OSError) as e:
                left.append(path)
                error += '; restoring %s failed too: %s' % (path, to_native(e))
        return error, list(reversed(left))
    finally:
        for tmp in staged:
            if tmp is not None:
                _unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            perfmon=dict(type='bool', default=True),
            perf_event=dict(type='bool', default=True),
            extra_permissions=dict(type='dict', default={}),
            extra_classes=dict(type='dict', default={}),
            patch_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    extra_permissions = _names(module, 'extra_permissions', p['extra_permissions'])
    extra_classes = _names(module, 'extra_classes', p['extra_classes'])
    permissions, classes = default_requests(perfmon=p['perfmon'], perf_event=p['perf_event'],
                                            extra_permissions=extra_permissions,
                                            extra_classes=extra_classes)
    if not os.path.isdir(p['path']):
        module.fail_json(msg='path %s is not a directory: give the root of the prepared policy source tree '
                             '(the directory holding policy/flask/, e.g. rpmbuild/BUILD/selinux-policy-*; '
                             'run rpmbuild -bp first)' % p['path'])
    try:
        res = ensure(p['path'], permissions, classes)
    except FlaskError as e:
        module.fail_json(msg='cannot patch the flask files: %s. Nothing was changed; fix or re-extract the '
                             'tree (rpmbuild -bp) and rerun.' % to_native(e),
                         file=e.path, line=e.lineno, changed=False)

    changed_files = [f for f in res['files'] if f['changed']]
    omitted = len(res['patch']) > MAX_RETURNED_PATCH
    result = dict(
        changed=bool(changed_files),
        added_permissions=res['added_permissions'],
        added_classes=res['added_classes'],
        changed_files=[f['path'] for f in changed_files],
        patch='' if omitted else res['patch'],
        patch_omitted=omitted,
        patch_size=len(res['patch']),
    )
    if module._diff:
        result['diff'] = [dict(before=f['before'], after=f['after'],
                               before_header=f['path'], after_header=f['path'])
                          for f in changed_files]
    if changed_files and p['patch_file']:
        result['patch_file'] = p['patch_file']
    if module.check_mode or not changed_files:
        module.exit_json(**result)

    # the tree files first, the patch file last: on any failure all of them are put back, so a
    # failed run never leaves a half-patched tree (which the next run would refuse to parse)
    writes = [(f['path'], f['after'], f['before'], None) for f in changed_files]
    if p['patch_file']:
        pfile = os.path.abspath(p['patch_file'])
        pdir = os.path.dirname(pfile)
        if not os.path.isdir(pdir):
            module.fail_json(msg='directory %s for patch_file does not exist: create it or choose another '
                                 'patch_file; the tree was not changed' % pdir, changed=False)
        writes.append((pfile, res['patch'], None, 0o600))
    error, left = write_all(module, writes)
    if error:
        if left:
            msg = ('%s. The tree is half patched: %s kept the new text. Re-extract the tree '
                   '(rpmbuild -bp) or restore it from the diff before rerunning.' % (error, ', '.join(left)))
        else:
            msg = ('%s; every file was put back as it was, nothing was changed. Check that the tree is '
                   'writable by the remote user (and not immutable: lsattr)' % error)
        result['changed'] = bool(left)
        result['changed_files'] = left
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
