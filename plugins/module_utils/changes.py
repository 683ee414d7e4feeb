# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the rollout changed on a host, in the order it happened, as the lines of its summary.
The rollout role calls changes() through the rollout_changes filter at the end of its steps
(also when one failed: the lines then say what had changed until then). Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


def _from_results(done, check_mode):
    """done with its *_result entries (registered task results) read into the plain keys."""
    done = dict(done)
    install = done.pop('policy_install_result', None)
    if install is not None:
        done['installed'] = install.get('installed') or []
    if 'class_module_result' in done:
        # reached in check mode: the task is skipped there, and would change the store
        result = done.pop('class_module_result')
        done['class_module'] = result is not None and bool(result.get('changed') or check_mode)
    paranoid = done.pop('paranoid_result', None) or {}
    if paranoid.get('changed'):
        done['paranoid'] = paranoid.get('stig') or {}
    audit_rule = done.pop('audit_rule_result', None) or {}
    if audit_rule.get('changed'):
        done['audit_rule'] = audit_rule.get('path')
    return done


def changes(plan, done, check_mode=False, final_mode='enforcing', module_name='perfsec_perf',
            module_priority=300):
    """plan is perf_mac_facts' plan; done what the steps returned:
    installed (packages policy_install installed), class_module (its task changed, or was reached
    in check mode), permissive and final_mode (the mode switch changed something), relabelled,
    paranoid (the STIG check perf_paranoid returned when it changed the level, else None),
    audit_rule (the rule file when it changed, else None), module (the perf module changed),
    module_waits (check mode: the module can only be installed after the new policy).
    Instead of installed, class_module, paranoid and audit_rule, done may hold the steps' registered
    results as policy_install_result, class_module_result, paranoid_result and audit_rule_result
    (absent or None: the step did not run); they are read as above."""
    done = _from_results(done, check_mode)
    needs = plan.get('needs') or {}
    probe_first = plan.get('probe_permissive') is not None
    out = []
    if done.get('installed'):
        out.append('policy installed: ' + ', '.join(done['installed']))
    class_module = plan.get('class_module') or {}
    if needs.get('class_module') and done.get('class_module'):
        suffix = '' if needs.get('relabel') else ' (no rebuild, no reboot)'
        out.append('class perf_event from module %s@%s%s' % (class_module.get('name'), class_module.get('priority'), suffix))
    if done.get('permissive'):
        out.append('permissive for the relabel')
    if needs.get('relabel') and done.get('relabelled'):
        out.append('relabelled and rebooted')
    stig = done.get('paranoid')
    if needs.get('paranoid') and stig is not None:
        out.append('kernel.perf_event_paranoid 2 (STIG check %s, %s wins at boot)' % (stig.get('status'), stig.get('file')))
    if needs.get('audit_rule') and done.get('audit_rule'):
        out.append('audit rule %s loaded' % done['audit_rule'])
    module = None
    if done.get('module'):
        suffix = ' (probed while permissive, one transaction)' if probe_first else ''
        module = 'perf module %s installed at %s%s' % (module_name, module_priority, suffix)
        if probe_first:
            out.append(module)
    if needs.get('final_mode') and done.get('final_mode'):
        out.append('%s (config and runtime)' % final_mode)
    if module and not probe_first:
        out.append(module)
    if needs.get('module') and done.get('module_waits'):
        out.append('perf module %s (after the new policy is loaded)' % module_name)
    return out


def policy_problem(selinux, declared_classes=None, notes=None, final_mode='enforcing'):
    """Why the loaded policy is not ready for the final mode and the perf module, in one sentence,
    or '' when it is: SELinux enabled, class perf_event defined (by the policy read back, or by the
    class module's own result: whether the kernel took the class), no relabel pending."""
    selinux = selinux or {}
    declared = (declared_classes or {}).get('perf_event', False)
    defined = bool(selinux.get('perf_event_class')) or bool(declared)
    if selinux.get('enabled') and defined and not selinux.get('autorelabel_pending'):
        return ''
    return ('SELinux enabled=%s, class perf_event defined=%s, relabel pending=%s; plan notes: %s. '
            'The loaded policy must define perf_event before going %s.'
            % (bool(selinux.get('enabled')), bool(selinux.get('perf_event_class')),
               bool(selinux.get('autorelabel_pending')), '; '.join(notes or []) or 'none', final_mode))
