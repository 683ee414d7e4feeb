"""The decision table (module_utils/plan.py, README "Decision rules"), one test per row.

Every row builds a fixture tree (selinuxfs, procfs with kallsyms and cap_last_cap,
/etc/selinux/config, the module store's base CIL) and reads it with the same readers
perf_mac_facts uses on a host, then asks plan.decide() for the plan.
"""
import bz2
import os

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import plan, selinuxfs
from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf

from helpers import make_proc, write_file

WANT = {'build': 'auto', 'require_perfmon': False, 'final_mode': 'enforcing',
        'relabel_mode': 'auto', 'policy_installed': False, 'class_source': 'rebuild'}
BASE_CIL = """(handleunknown {handle})
(mls true)
(common cap2 (mac_override mac_admin syslog wake_alarm block_suspend audit_read {perfmon}))
(class capability2 ())
(classcommon capability2 cap2)
{perf_event}
(class process (fork transition))
"""


def tree(base, selinux='enforcing', config=None, perf_event=True, perfmon=True, deny_unknown=True,
         release='6.1.0-test', kallsyms='hook', cap_last_cap=40, disk=None, autorelabel=False,
         policy_type='targeted', lsm=True):
    """A host below ``base``. selinux: enforcing | permissive | nopolicy (the SELinux LSM is
    active, no policy is loaded and selinuxfs is not mounted: SELINUX=disabled on a kernel
    without runtime disable, as seen on the Debian 12 VM) | off (no SELinux LSM). disk: None or dict(perf_event=, perfmon=, handle=, compress=)."""
    fs = os.path.join(base, 'sys/fs/selinux')
    if selinux != 'off' and lsm:
        write_file(os.path.join(base, 'sys/kernel/security/lsm'), 'lockdown,capability,yama,selinux,bpf')
    if selinux in ('enforcing', 'permissive'):
        write_file(os.path.join(fs, 'enforce'), '1' if selinux == 'enforcing' else '0')
        write_file(os.path.join(fs, 'policyvers'), '33')
        write_file(os.path.join(fs, 'deny_unknown'), '1' if deny_unknown else '0')
        write_file(os.path.join(fs, 'reject_unknown'), '0')
        write_file(os.path.join(fs, 'mls'), '1')
        cap2 = ['syslog', 'wake_alarm'] + (['perfmon', 'bpf'] if perfmon else [])
        for p in cap2:
            write_file(os.path.join(fs, 'class/capability2/perms', p), '1')
        if perf_event:
            for i, p in enumerate(selinuxfs.PERF_EVENT_PERMS):
                write_file(os.path.join(fs, 'class/perf_event/perms', p), str(i + 1))
    conf = config if config is not None else ('disabled' if selinux in ('nopolicy', 'off') else selinux)
    write_file(os.path.join(base, 'etc/selinux/config'), 'SELINUX=%s\nSELINUXTYPE=%s\n' % (conf, policy_type))
    if autorelabel:
        write_file(os.path.join(base, '.autorelabel'), '')
    proc = make_proc(base, release=release, extra={'cap_last_cap': cap_last_cap} if cap_last_cap else None)
    if kallsyms is not None:
        syms = ['ffffffff81000000 T _stext', 'ffffffff81a90b00 t selinux_perf_event_alloc']
        if kallsyms == 'hook':
            syms.append('ffffffff81a90b20 t selinux_perf_event_open')
        write_file(os.path.join(proc, 'kallsyms'), '\n'.join(syms) + '\n')
    if disk is not None:
        text = BASE_CIL.format(handle=disk.get('handle', 'allow'),
                               perfmon='perfmon bpf' if disk.get('perfmon', True) else '',
                               perf_event='(class perf_event (open cpu kernel tracepoint read write ))'
                               if disk.get('perf_event', True) else '')
        path = os.path.join(base, 'var/lib/selinux', policy_type, 'active/modules/100/base/cil')
        os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as f:
            f.write(bz2.compress(text.encode()) if disk.get('compress', True) else text.encode())
    return base


def host_of(base):
    facts = {'selinux': pmf.gather_selinux(os.path.join(base, 'sys/fs/selinux'),
                                           os.path.join(base, 'etc/selinux/config'), base),
             'kernel': pmf.gather_kernel(os.path.join(base, 'proc'), base)}
    return pmf.plan_host(facts, base)


def decide(base, module=None, class_module=None, policy_record=None, gate=None, extra_steps=None, **want):
    host = host_of(base)
    host['paranoid_gate'] = gate
    host['extra_steps'] = extra_steps
    host['module'] = module
    host['class_module'] = class_module
    host['policy_record'] = policy_record
    w = dict(WANT)
    w.update(want)
    return plan.decide(host, w)


def steps(p):
    return [s['step'] for s in p['steps']]


def reason(p, step):
    return dict((s['step'], s['reason']) for s in p['steps'])[step]


MODULE_OK = {'name': 'perfsec_perf', 'priority': 300, 'state': 'present', 'generate': False,
             'installed': True, 'installed_any': True, 'enabled': True, 'checksum': 'sha256:aa',
             'desired_checksum': 'sha256:aa', 'new_denials': 0, 'new_denial_domains': []}


def mod(**kw):
    m = dict(MODULE_OK)
    m.update(kw)
    return m


# --- rows: which policy needs a rebuild ------------------------------------------------------

def test_row_enforcing_with_class_and_perfmon_converged(tmp_path):
    """EL9 / Fedora >= 34 / Debian 12 enforcing, module in place: nothing to do."""
    p = decide(tree(str(tmp_path)), module=MODULE_OK)
    assert p['converged'] is True and p['steps'] == [] and p['supported'] is True
    assert p['policy']['source'] == 'loaded'


def test_row_enforcing_with_class_module_missing_only_module(tmp_path):
    """The same host without the module: the module only; no permissive, relabel or reboot."""
    p = decide(tree(str(tmp_path)), module=mod(installed=False, installed_any=False, enabled=None))
    assert steps(p) == ['module']
    assert reason(p, 'module') == 'perfsec_perf@300 is not installed'
    assert not p['needs']['relabel'] and not p['needs']['permissive']


def test_row_permissive_with_class_goes_enforcing_without_relabel(tmp_path):
    """Debian 12 as `make demo` boots it (permissive, class defined)."""
    p = decide(tree(str(tmp_path), selinux='permissive'), module=MODULE_OK)
    assert steps(p) == ['final_mode']
    assert reason(p, 'final_mode') == 'runtime permissive, config permissive; wanted enforcing'


def test_row_no_class_rebuilds_installs_no_reboot(tmp_path):
    """Fedora 31-33, permissive: the loaded policy lacks class perf_event. The rebuilt packages'
    %post loads the policy live (as Fedora's does): no relabel, no reboot."""
    p = decide(tree(str(tmp_path), selinux='permissive', perf_event=False, perfmon=False))
    assert steps(p) == ['policy_build', 'policy_install', 'final_mode']
    assert 'lacks class perf_event' in reason(p, 'policy_build')
    assert reason(p, 'final_mode') == 'runtime permissive, config permissive; wanted enforcing'
    assert any('load the policy live' in n and 'no reboot' in n for n in p['notes'])


def test_row_no_class_enforcing_stays_enforcing(tmp_path):
    """Enforcing and no class: nothing lowers the protection (no permissive, no relabel)."""
    p = decide(tree(str(tmp_path), selinux='enforcing', perf_event=False, perfmon=False))
    assert steps(p) == ['policy_build', 'policy_install']


def test_row_no_class_relabel_always_keeps_the_seeds_reboot(tmp_path):
    p = decide(tree(str(tmp_path), selinux='enforcing', perf_event=False, perfmon=False), relabel_mode='always')
    assert steps(p) == ['policy_build', 'policy_install', 'permissive', 'relabel', 'final_mode']
    assert reason(p, 'relabel') == 'relabel_mode=always'
    assert not any('load the policy live' in n for n in p['notes'])


def test_row_rebuilt_class_gone_after_a_package_update(tmp_path):
    """The rebuild route's packages were replaced (dnf update): the record of ours says so."""
    rec = {'installed': ['selinux-policy-2.20221101-48.fc31like.perf1.noarch'], 'path': '/var/lib/perfsec/x/state.json'}
    p = decide(tree(str(tmp_path), selinux='enforcing', perf_event=False, perfmon=False), policy_record=rec)
    assert steps(p) == ['policy_build', 'policy_install']
    assert any('class perf_event is gone although perfsec installed selinux-policy-2.20221101-48.fc31like.perf1'
               in n and 'replaced' in n for n in p['notes'])
    p = decide(tree(str(tmp_path / 'b'), selinux='enforcing'), policy_record=rec, module=MODULE_OK)
    assert p['converged'] and not p['notes']


def test_row_rebuilt_packages_replaced_class_still_loaded(tmp_path):
    """An update replaced our packages but its own policy build failed (our perf module needs the
    class), so the store still has our old base: the record says the packages are not ours."""
    rec = {'installed': ['selinux-policy-2.20221101-48.fc31like.perf1.noarch'], 'path': '/x', 'current': False}
    base = tree(str(tmp_path), selinux='enforcing', deny_unknown=False)
    p = decide(base, policy_record=rec, module=MODULE_OK)
    assert steps(p) == ['policy_build', 'policy_install']
    assert reason(p, 'policy_build') == ('the rebuilt packages perfsec installed (selinux-policy-2.20221101-48.'
                                         'fc31like.perf1.noarch) are no longer installed: a package update replaced them')
    assert decide(base, policy_record=dict(rec, current=True), module=MODULE_OK)['converged']
    assert decide(base, policy_record=dict(rec, current=None), module=MODULE_OK)['converged']
    p = decide(base, policy_record=rec, module=MODULE_OK, build='never')
    assert p['converged'] and any('no longer installed' in n and 'perfsec_build=never' in n for n in p['notes'])
    p = decide(base, policy_record=rec, module=MODULE_OK, class_source='module')
    assert p['converged']


def test_policy_record_skips_rolled_back(tmp_path):
    import json
    import time
    d = tmp_path / 'backup'
    (d / 'k1').mkdir(parents=True)
    (d / 'k1' / 'state.json').write_text(json.dumps({'installed': ['a-1-1.perf1.noarch']}))
    assert plan.policy_record(str(d))['installed'] == ['a-1-1.perf1.noarch']
    time.sleep(0.01)
    (d / 'k1' / 'rolled-back').write_text('a-1-1.noarch\n')
    assert plan.policy_record(str(d)) is None
    (d / 'k2').mkdir()
    (d / 'k2' / 'state.json').write_text('not json')
    assert plan.policy_record(str(d)) is None
    assert plan.policy_record(str(tmp_path / 'missing')) is None


# --- rows: the module route (perfsec_class_source=module) -------------------------------------

CLASS_OK = {'name': plan.CLASS_MODULE_NAME, 'priority': plan.CLASS_MODULE_PRIORITY, 'installed': True,
            'enabled': True, 'checksum': 'c1', 'desired_checksum': 'c1'}


def test_row_module_route_no_class_declares_it_without_rebuild(tmp_path):
    p = decide(tree(str(tmp_path), selinux='permissive', perf_event=False, perfmon=False, deny_unknown=False), class_source='module')
    assert steps(p) == ['class_module', 'final_mode']
    assert reason(p, 'class_module').startswith('the loaded policy (targeted) lacks class perf_event: declare it '
                                                'with the CIL module perfsec_perf_event@250')
    assert 'class perf_event from module perfsec_perf_event, perfmon not mediated' in p['notes']


def test_row_module_route_enforcing_no_permissive(tmp_path):
    p = decide(tree(str(tmp_path), selinux='enforcing', perf_event=False, perfmon=False, deny_unknown=False), class_source='module')
    assert steps(p) == ['class_module']


def test_row_module_route_converged_notes_perfmon(tmp_path):
    """The class module is loaded (selinuxfs shows the class), perfmon is not in the policy."""
    p = decide(tree(str(tmp_path), perf_event=True, perfmon=False, deny_unknown=False), class_source='module',
               class_module=CLASS_OK, module=MODULE_OK)
    assert p['converged'] is True
    assert p['notes'] == ['class perf_event from module perfsec_perf_event, perfmon not mediated']


def test_row_module_route_disabled_or_stale_class_module(tmp_path):
    base = tree(str(tmp_path), perf_event=False, perfmon=False, deny_unknown=False)
    cm = dict(CLASS_OK, enabled=False)
    p = decide(base, class_source='module', class_module=cm, module=MODULE_OK)
    assert 'installed but disabled' in reason(p, 'class_module')
    cm = dict(CLASS_OK, checksum='c0')
    assert 'differs' in reason(decide(base, class_source='module', class_module=cm, module=MODULE_OK), 'class_module')


def test_row_module_route_perfmon_needed_rebuilds(tmp_path):
    """deny_unknown and a CAP_PERFMON kernel: only a rebuild adds perfmon (and the class)."""
    p = decide(tree(str(tmp_path), perf_event=False, perfmon=False, deny_unknown=True), class_source='module',
               require_perfmon=True)
    assert steps(p)[:2] == ['policy_build', 'policy_install'] and 'class_module' not in steps(p)
    assert 'only a rebuild adds' in reason(p, 'policy_build')


def test_row_module_route_class_module_blocks_a_rebuild(tmp_path):
    """The class from our module and a rebuild wanted for perfmon: the class would be declared twice."""
    p = decide(tree(str(tmp_path), perf_event=True, perfmon=False, deny_unknown=False), class_source='rebuild', require_perfmon=True,
               class_module=CLASS_OK, module=MODULE_OK)
    assert p['converged'] is True
    assert any('declare the class twice' in n for n in p['notes'])
    p = decide(tree(str(tmp_path / 'b'), perf_event=True, perfmon=False, deny_unknown=False), build='always', class_module=CLASS_OK,
               module=MODULE_OK)
    assert p['converged'] is True and any('declare it twice' in n for n in p['notes'])


def test_row_module_route_selinux_off_class_module_in_store(tmp_path):
    """SELinux off, the store's base lacks the class, our class module is in the store: no rebuild."""
    base = tree(str(tmp_path), selinux='nopolicy', disk={'perf_event': False, 'perfmon': False, 'handle': 'allow'})
    p = decide(base, class_source='module', class_module=CLASS_OK, module=MODULE_OK)
    assert steps(p) == ['selinux_enable', 'relabel', 'final_mode']
    p = decide(base, class_source='module', module=MODULE_OK)
    assert steps(p) == ['class_module', 'selinux_enable', 'relabel', 'final_mode']


def test_class_module_cil_declares_the_six_permissions():
    assert '(class perf_event (open cpu kernel tracepoint read write))' in plan.CLASS_MODULE_CIL
    assert '(classorder (unordered perf_event))' in plan.CLASS_MODULE_CIL


def test_row_class_without_perfmon_deny_unknown_rebuilds(tmp_path):
    """RHEL 8.4+ / refpolicy 2020 on an MLS-like policy that denies unknown permissions."""
    p = decide(tree(str(tmp_path), perfmon=False, deny_unknown=True))
    assert steps(p) == ['policy_build', 'policy_install']
    assert 'lacks capability2 perfmon and denies unknown permissions' in reason(p, 'policy_build')


def test_row_class_without_perfmon_allow_unknown_reported_not_rebuilt(tmp_path):
    """RHEL 8.4+ targeted (allows unknown permissions): reported, not rebuilt."""
    p = decide(tree(str(tmp_path), perfmon=False, deny_unknown=False), module=MODULE_OK)
    assert p['converged'] is True
    assert any('lacks capability2 perfmon' in n and 'not rebuilt' in n for n in p['notes'])


def test_row_class_without_perfmon_allow_unknown_rebuilt_when_required(tmp_path):
    p = decide(tree(str(tmp_path), perfmon=False, deny_unknown=False), module=MODULE_OK, require_perfmon=True)
    assert steps(p)[:2] == ['policy_build', 'policy_install']
    assert 'perfsec_require_perfmon=true' in reason(p, 'policy_build')


def test_row_class_without_perfmon_kernel_without_cap_perfmon_not_rebuilt(tmp_path):
    """A kernel before CAP_PERFMON (cap_last_cap 37): perfmon cannot matter."""
    p = decide(tree(str(tmp_path), perfmon=False, deny_unknown=True, cap_last_cap=37), module=MODULE_OK)
    assert p['converged'] is True


def test_row_build_always(tmp_path):
    p = decide(tree(str(tmp_path)), module=MODULE_OK, build='always')
    assert reason(p, 'policy_build') == 'perfsec_build=always'


def test_row_build_never_reports_what_it_skips(tmp_path):
    p = decide(tree(str(tmp_path), selinux='permissive', perf_event=False, perfmon=False), build='never')
    assert steps(p) == ['final_mode']
    assert any('lacks class perf_event' in n and 'perfsec_build=never' in n for n in p['notes'])


# --- rows: the kernel hook ---------------------------------------------------------------------

def test_row_el8_418_with_backported_hook_is_planned(tmp_path):
    """RHEL 8: 4.18 with the hook backported (kallsyms has it) and no class: rebuilt."""
    p = decide(tree(str(tmp_path), release='4.18.0-553.el8.x86_64', cap_last_cap=40,
                    selinux='permissive', perf_event=False, perfmon=False))
    assert p['supported'] is True and steps(p)[0] == 'policy_build'


def test_row_418_without_the_hook_changes_nothing(tmp_path):
    p = decide(tree(str(tmp_path), release='4.18.0-80.el8.x86_64', kallsyms='nohook', cap_last_cap=37,
                    selinux='permissive', perf_event=False, perfmon=False))
    assert p['supported'] is False and p['converged'] is True and p['steps'] == []
    assert 'no selinux_perf_event_open in /proc/kallsyms' in p['notes'][0]


def test_row_54_without_the_hook_by_version(tmp_path):
    """No readable kallsyms: the version decides (5.4 < 5.5)."""
    p = decide(tree(str(tmp_path), release='5.4.0-42-generic', kallsyms=None, cap_last_cap=None,
                    selinux='enforcing', perf_event=False, perfmon=False))
    assert p['supported'] is False and p['steps'] == []
    assert 'by its version' in p['notes'][0]


def test_row_55_hook_by_version(tmp_path):
    host = host_of(tree(str(tmp_path), release='5.5.0', kallsyms=None, cap_last_cap=None))
    assert host['kernel']['hook'] is True and host['kernel']['hook_source'] == 'version'
    assert host['kernel']['cap_perfmon'] is False


# --- rows: SELinux off ---------------------------------------------------------------------------

def test_row_no_policy_loaded_class_on_disk(tmp_path):
    """SELINUX=disabled, kernel with SELinux but no policy (RHEL 9+, Debian 12 here): enable,
    relabel, enforcing; the installed policy defines the class, so no rebuild."""
    base = tree(str(tmp_path), selinux='nopolicy', disk={'perf_event': True})
    host = host_of(base)
    assert host['selinux']['enabled'] is False and host['selinux']['lsm'] is True
    p = decide(base, module=mod(installed=False, installed_any=False, enabled=None))
    assert steps(p) == ['selinux_enable', 'relabel', 'final_mode', 'module']
    assert p['policy']['source'] == 'installed' and p['policy']['perf_event_class'] is True
    assert reason(p, 'selinux_enable') == 'no SELinux policy is loaded; /etc/selinux/config says SELINUX=disabled'
    assert 'SELinux is being enabled' in reason(p, 'relabel')


def test_row_no_policy_loaded_selinuxfs_mounted_by_hand(tmp_path):
    """The same state with selinuxfs mounted (enforce 0, policyvers 33, class/ empty): getenforce
    says Permissive there, but no policy is loaded, so it is not 'enabled'."""
    base = tree(str(tmp_path), selinux='nopolicy', disk={'perf_event': True})
    fs = os.path.join(base, 'sys/fs/selinux')
    write_file(os.path.join(fs, 'enforce'), '0')
    write_file(os.path.join(fs, 'policyvers'), '33')
    os.makedirs(os.path.join(fs, 'class'))
    host = host_of(base)
    assert host['selinux']['enabled'] is False and host['selinux']['lsm'] is True
    assert steps(decide(base))[0] == 'selinux_enable'


def test_row_kernel_booted_without_selinux_class_missing_on_disk(tmp_path):
    """No selinuxfs at all (selinux=0 / another major LSM); the policy on disk lacks the class
    (an uncompressed store): rebuild, install, enable, relabel."""
    base = tree(str(tmp_path), selinux='off', disk={'perf_event': False, 'perfmon': False, 'compress': False})
    p = decide(base)
    assert steps(p) == ['policy_build', 'policy_install', 'selinux_enable', 'relabel', 'final_mode']
    assert 'installed policy (targeted) lacks class perf_event' in reason(p, 'policy_build')
    assert 'booted without the SELinux LSM' in reason(p, 'selinux_enable')
    assert reason(p, 'relabel') == 'SELinux is being enabled: files written while it was off carry no labels'


def test_row_selinux_off_policy_unreadable_not_rebuilt(tmp_path):
    p = decide(tree(str(tmp_path), selinux='off', disk=None))
    assert not p['needs']['policy_build'] and p['needs']['selinux_enable']
    assert any('cannot tell' in n for n in p['notes'])


def test_row_no_selinux_at_all_is_refused(tmp_path):
    base = str(tmp_path)
    make_proc(base)
    host = host_of(base)
    with pytest.raises(ValueError, match='no SELinux on this host'):
        plan.decide(host, dict(WANT))


# --- rows: relabel -------------------------------------------------------------------------------

def test_row_pending_autorelabel(tmp_path):
    p = decide(tree(str(tmp_path), selinux='permissive', autorelabel=True), module=MODULE_OK)
    assert steps(p) == ['relabel', 'final_mode'] and reason(p, 'relabel') == '/.autorelabel is pending'


def test_row_relabel_always_goes_permissive_first(tmp_path):
    p = decide(tree(str(tmp_path)), module=MODULE_OK, relabel_mode='always')
    assert steps(p) == ['permissive', 'relabel', 'final_mode']


def test_row_relabel_never_notes_the_reason(tmp_path):
    p = decide(tree(str(tmp_path), selinux='permissive', autorelabel=True), relabel_mode='never')
    assert 'relabel' not in steps(p) and 'permissive' not in steps(p)
    assert any('relabel_mode=never' in n for n in p['notes'])


def test_row_caller_installed_packages(tmp_path):
    p = decide(tree(str(tmp_path)), module=MODULE_OK, policy_installed=True)
    assert reason(p, 'relabel') == 'the caller installed new policy packages'


def test_row_final_permissive(tmp_path):
    p = decide(tree(str(tmp_path)), module=MODULE_OK, final_mode='permissive')
    assert steps(p) == ['final_mode']


# --- rows: the perf module -------------------------------------------------------------------------

@pytest.mark.parametrize('m,expect', [
    (mod(checksum='sha256:bb'), 'differs from the wanted module'),
    (mod(enabled=False), 'installed but disabled'),
    (mod(generate=True, desired_checksum=None, new_denials=3, new_denial_domains=['user_t'],
         new_denial_perms=['kernel']),
     'perf_event denials of user_t ask for kernel, which perfsec_perf@300 does not grant'),
    (mod(state='absent'), 'is installed: remove it'),
    (mod(state='disabled'), 'is enabled: disable it'),
])
def test_row_module_needs_work(tmp_path, m, expect):
    p = decide(tree(str(tmp_path)), module=m)
    assert steps(p) == ['module'] and expect in reason(p, 'module')


@pytest.mark.parametrize('m', [
    mod(generate=True, desired_checksum=None),
    mod(state='absent', installed=False, installed_any=False, enabled=None),
    mod(state='enabled'),
    mod(state='disabled', enabled=False),
])
def test_row_module_as_wanted(tmp_path, m):
    assert decide(tree(str(tmp_path)), module=m)['converged'] is True


def test_summary_lines(tmp_path):
    p = decide(tree(str(tmp_path), selinux='permissive'), module=MODULE_OK)
    assert plan.summary(p) == 'final_mode (runtime permissive, config permissive; wanted enforcing)'
    p = decide(tree(str(tmp_path / 'x')), module=MODULE_OK)
    assert plan.summary(p) == 'converged: nothing to do'
    p = decide(tree(str(tmp_path / 'c'), selinux='permissive', perf_event=False, perfmon=False), module=MODULE_OK)
    assert plan.summary(p).endswith('; notes: the rebuilt packages load the policy live (their %post runs load_policy '
                                    'and relabels only changed file contexts): no reboot')


def test_kallsyms_symbol_across_a_block_boundary(tmp_path):
    """The streaming search finds the symbol when a read block splits it."""
    path = str(tmp_path / 'kallsyms')
    line = b'ffffffff81a90b20 t selinux_perf_event_open\n'
    with open(path, 'wb') as f:
        f.write(b'x' * ((1 << 20) - 20) + b'\n' + line)
    with open(path, 'rb') as f:
        assert plan._find_in_stream(f, plan.HOOK_SYMBOL) is True
    with open(path, 'rb') as f:
        assert plan._find_in_stream(f, b'selinux_perf_event') is False


def test_installed_policy_reads_this_machines_store():
    """Debian's packaged refpolicy on this build host (class and perfmon, handleunknown allow)."""
    if not os.path.isfile('/var/lib/selinux/default/active/modules/100/base/cil'):
        pytest.skip('selinux-policy-default is not installed here')
    disk = plan.installed_policy('/', 'default')
    assert disk['source'] == 'store' and disk['error'] is None
    assert disk['perf_event_class'] is True and disk['perfmon'] is True
    assert disk['deny_unknown'] is False and disk['mls'] is True


def test_uncovered_denials_by_content_not_time():
    """A denial the installed module answers is old, whenever the store was last written;
    one for a permission it does not grant is new."""
    cil = ('(typeattributeset cil_gen_require user_t)\n'
           '(allow user_t self (perf_event (open read)))\n')
    grants = plan.granted(cil)
    assert grants == {('user_t', 'perf_event'): {'open', 'read'}}
    denials = {'groups': [
        {'stype': 'user_t', 'tclass': 'perf_event', 'perms': ['open'], 'count': 2},
        {'stype': 'staff_t', 'tclass': 'perf_event', 'perms': ['open'], 'count': 5},
        {'stype': 'user_t', 'tclass': 'capability2', 'perms': ['perfmon'], 'count': 1}]}
    m = plan.uncovered_denials(mod(generate=True), denials, ['user_t'], grants)
    assert m['new_denials'] == 0
    denials['groups'].append({'stype': 'user_t', 'tclass': 'perf_event', 'perms': ['kernel', 'open'], 'count': 3})
    m = plan.uncovered_denials(mod(generate=True), denials, ['user_t'], grants)
    assert m['new_denials'] == 3 and m['new_denial_domains'] == ['user_t'] and m['new_denial_perms'] == ['kernel']


def test_store_cil_reads_compressed_and_plain(tmp_path):
    for i, compress in enumerate((True, False)):
        sdir = str(tmp_path / str(i))
        d = os.path.join(sdir, 'active/modules/300/perfsec_perf')
        os.makedirs(d)
        text = b'(allow user_t self (perf_event (open)))\n'
        with open(os.path.join(d, 'cil'), 'wb') as f:
            f.write(bz2.compress(text) if compress else text)
        assert plan.store_cil(sdir, 'perfsec_perf', 300) == text.decode()
    assert plan.store_cil(str(tmp_path), 'missing', 300) is None


# --- rows: where the probe runs (probe_permissive) -----------------------------------------------

GEN_MISSING = dict(generate=True, installed=False, installed_any=False, enabled=None, desired_checksum=None)


@pytest.mark.parametrize('row, kw, want, expect', [
    # permissive now, going enforcing, module generated from a probe: probe first
    ('permissive, class module route', dict(selinux='permissive', perf_event=False),
     dict(class_source='module'), 'the host runs permissive now'),
    ('permissive, class defined', dict(selinux='permissive'), {}, 'the host runs permissive now'),
    # disabled -> enable, relabel: permissive after the relabel boot
    ('disabled, relabel', dict(selinux='nopolicy', disk={'perf_event': True}), {},
     'the host is permissive after the relabel boot'),
    # enforcing with relabel_mode=always: permissive for the relabel, probe before going back
    ('enforcing, relabel always', {}, dict(relabel_mode='always'), 'the host is permissive after the relabel boot'),
    # enforcing without a relabel: the probe runs enforcing, in rounds (no lowering for it)
    ('enforcing', {}, {}, None),
    # the final mode is permissive: nothing to gain, the steps' order stands
    ('permissive, final permissive', dict(selinux='permissive'), dict(final_mode='permissive'), None),
])
def test_row_probe_permissive(tmp_path, row, kw, want, expect):
    p = decide(tree(str(tmp_path), **kw), module=mod(**GEN_MISSING), **want)
    assert 'module' in steps(p), row
    if expect is None:
        assert p['probe_permissive'] is None, row
        assert 'module before final_mode' not in plan.summary(p)
    else:
        assert p['probe_permissive'].startswith(expect + ': the probe runs before the switch to enforcing'), row
        assert 'one semodule transaction installs the module' in p['probe_permissive']
        assert plan.summary(p).count('module before final_mode (%s' % expect) == 1


def test_row_probe_permissive_needs_a_generated_module(tmp_path):
    """A given .te (no probe) or a module already in place: no reordering."""
    base = tree(str(tmp_path), selinux='permissive')
    p = decide(base, module=mod(installed=False, installed_any=False, enabled=None))
    assert steps(p) == ['final_mode', 'module'] and p['probe_permissive'] is None
    p = decide(base, module=mod(generate=True))
    assert steps(p) == ['final_mode'] and p['probe_permissive'] is None


def test_row_probe_permissive_not_behind_the_paranoid_gate(tmp_path):
    """Debian paranoid 3 refuses the probe before SELinux: the rounds stay after the final mode
    (perf_module lowers paranoid for them), unless the plan's paranoid step sets 2 first."""
    base = tree(str(tmp_path), selinux='permissive')
    gate = {'blocks': True, 'level': 3}
    assert decide(base, module=mod(**GEN_MISSING), gate=gate)['probe_permissive'] is None
    p = decide(base, module=mod(**GEN_MISSING), gate=gate, extra_steps={'paranoid': 'STIG wants 2'})
    assert steps(p) == ['paranoid', 'final_mode', 'module']
    assert p['probe_permissive'].startswith('the host runs permissive now')
    assert decide(base, module=mod(**GEN_MISSING), gate={'blocks': False})['probe_permissive']


def test_reasons_are_the_steps_as_a_dict():
    """plan['reasons'] (read by the rollout's task names and relabel's check) holds exactly the
    planned steps with the same reasons as plan['steps']."""
    from ansible_collections.perfsec.selinux.plugins.module_utils import plan as planmod
    r = planmod._result({'relabel': 'a pending /.autorelabel', 'module': 'perfsec_perf@300 is not installed'}, [], {})
    assert r['reasons'] == dict((s['step'], s['reason']) for s in r['steps'])
    assert r['reasons'] == {'relabel': 'a pending /.autorelabel', 'module': 'perfsec_perf@300 is not installed'}
    assert planmod._result({}, [], {})['reasons'] == {}
