# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of perfsec.selinux.perf_policy_packages (runs on the controller).

With O(src_packages) / O(src_previous_packages) (controller paths) it copies those files into the
host's record directory ``<backup_dir>/<key>`` first, as ansible.builtin.copy does (it runs the copy
action once per file): ``new/`` with force, ``previous/`` never overwritten, mode 0600, missing
directories created (the module makes them 0700), nothing transferred in check mode, a file whose
checksum matches left alone. Then it runs the module with the host paths appended to O(packages)
and O(previous_packages). Every controller file is looked up before anything is copied: a missing
one is one message and the host stays as it was. A relative backup_dir or root, or a key that is not
one directory name, copies nothing and leaves the refusal to the module (its message).

Without them the module runs as it is (perfsec.selinux.rollback, state original).
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import posixpath

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.common.validation import check_type_list
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.perfsec.selinux.plugins.module_utils.constants import POLICY_BACKUP_DIR
from ansible_collections.perfsec.selinux.plugins.module_utils.packages import key_problem, record_dir_of

# (option, record subdirectory, force): the copy of perfsec.selinux.policy_install, in its order
SOURCES = (('src_packages', 'new', True), ('src_previous_packages', 'previous', False))
EMPTY = ('No RPMs to install: run perfsec.selinux.policy_build first in the same play (it sets '
         'policy_build_result) or set policy_install_rpms to the rebuilt selinux-policy RPMs.')
REPORT = ("policy_install: %s on %s; where SELinux is enabled the packages' %%post loads the new policy live "
          "(load_policy, changed file contexts relabelled); where it is not, the next boot loads it "
          "(perfsec.selinux.relabel).")


class ActionModule(ActionBase):

    TRANSFERS_FILES = True
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        given = 'src_packages' in args
        sources = []
        try:
            for option, sub, force in SOURCES:
                paths = check_type_list(args.pop(option, None) or [])
                if not all(isinstance(x, str) and x for x in paths):
                    raise TypeError('%s must be a list of controller paths' % option)
                sources.append((option, sub, force, paths))
        except TypeError as e:
            return dict(result, failed=True, changed=False, msg=to_text(e))
        state = args.get('state') or 'rebuilt'
        if any(s[3] for s in sources) and state != 'rebuilt':
            return dict(result, failed=True, changed=False,
                        msg='src_packages and src_previous_packages go with state rebuilt (state original reinstalls '
                            'the copies kept on the host). Nothing was changed.')
        if (given and state == 'rebuilt' and not sources[0][3] and not args.get('packages')
                and not self._task.check_mode):
            return dict(result, failed=True, changed=False, msg=EMPTY)

        copies = dict(changed=False, diff=[], copied=[], warnings=[])
        if any(s[3] for s in sources):
            failed = self._copy_sources(sources, args, task_vars, copies)
            if failed:
                self._remove_tmp_path(self._connection._shell.tmpdir)
                return dict(result, **failed)

        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if given:
            result['copied'] = copies['copied']
        if copies['changed']:
            result['changed'] = True
        if copies['warnings']:
            result['warnings'] = copies['warnings'] + list(result.get('warnings') or [])
        if copies['diff']:
            diff = result.get('diff')
            result['diff'] = copies['diff'] + (diff if isinstance(diff, list) else [diff] if diff else [])
        if state == 'rebuilt' and not result.get('failed') and result.get('reason') == 'installed':
            result['report'] = REPORT % (result.get('msg', ''), task_vars.get('inventory_hostname', ''))
        return result

    def _copy_sources(self, sources, args, task_vars, copies):
        """Look every controller file up, then (placement permitting) copy them to the record
        directory; the host paths go to the module's packages / previous_packages. Returns the
        failed result, or None."""
        found, missing = [], []
        for option, sub, force, paths in sources:
            for src in paths:
                try:
                    path = self._find_needle('files', src)
                except AnsibleError:
                    missing.append('%s: %s not found on the controller' % (option, src))
                    continue
                if os.path.isdir(path):
                    missing.append('%s: %s is a directory, not an RPM file' % (option, src))
                    continue
                found.append((option, sub, force, path))
        if missing:
            return dict(failed=True, changed=False,
                        msg='%s. Nothing was copied and nothing installed.' % '; '.join(missing))
        # the module's defaults; with a relative (or empty) directory, or a key that is not one directory
        # name, nothing is copied and the module refuses the task (its message is the one)
        backup_dir, root, key = (args.get('backup_dir', POLICY_BACKUP_DIR), args.get('root', '/'),
                                 args.get('key', 'manual'))
        place = (all(isinstance(x, str) for x in (backup_dir, root, key)) and posixpath.isabs(backup_dir)
                 and posixpath.isabs(root) and not key_problem(key))
        record_dir = record_dir_of(backup_dir, key) if place else posixpath.join(str(backup_dir), str(key))
        host = dict(packages=list(args.get('packages') or []), previous_packages=list(args.get('previous_packages') or []))
        for option, sub, force, path in found:
            dest = posixpath.join(record_dir, sub, os.path.basename(path))
            host['packages' if sub == 'new' else 'previous_packages'].append(dest)
            if not place:
                continue
            res = self._copy_one(path, posixpath.join(record_dir, sub) + '/', force, task_vars)
            if res.get('failed'):
                return dict(failed=True, changed=copies['changed'],
                            msg='copy of %s to %s failed: %s' % (path, dest, res.get('msg', '')))
            if res.get('changed'):
                copies['changed'] = True
                copies['copied'].append(dest)
            diff = res.get('diff') or []
            # an RPM's diff is "diff skipped: source file appears to be binary": the list below names them
            copies['diff'].extend(d for d in (diff if isinstance(diff, list) else [diff])
                                  if d and not (d.get('src_binary') or d.get('dst_binary')))
            copies['warnings'].extend(res.get('warnings') or [])
        if copies['copied'] and self._task.diff:
            copies['diff'].insert(0, dict(
                before='', after=''.join(posixpath.relpath(x, record_dir) + '\n' for x in copies['copied']),
                before_header='%s (copied from the controller)' % record_dir,
                after_header='%s (copied from the controller)' % record_dir))
        args.update(host)
        return None

    def _copy_one(self, src, dest_dir, force, task_vars):
        """ansible.builtin.copy of one controller file into dest_dir (mode 0600), as a task would."""
        task = self._task.copy()
        task.args = dict(src=src, dest=dest_dir, mode='0600', force=force)
        task.async_val = 0
        copy = self._shared_loader_obj.action_loader.get('ansible.legacy.copy', task=task, connection=self._connection,
                                                         play_context=self._play_context, loader=self._loader,
                                                         templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return copy.run(task_vars=task_vars)
