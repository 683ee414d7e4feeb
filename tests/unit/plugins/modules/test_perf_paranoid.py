"""perf_paranoid: the whole module (main()) on temp /proc and sysctl.d trees.

PROC_ROOT and ROOT of the module are pointed at tmp_path for every test, so this
machine's /proc/sys and /etc are only ever read (the in-container test reads nothing).
"""
import os

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_paranoid as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import sysctl as sc

from helpers import make_proc, make_root, read_file as _read, run_module, write_file as _write


DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'


def _clear_warnings():
    # warnings accumulate in a module-global of ansible; each main() here is one "run"
    from ansible.module_utils.common import warnings as w
    w._global_warnings.clear()


def _warnings(r):
    return [str(x) for x in r.get('warnings', [])]


@pytest.fixture
def host(tmp_path, monkeypatch):
    base = str(tmp_path)
    proc = make_proc(base, paranoid=3, version='#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1')
    _write(os.path.join(proc, '1/environ'), 'HOME=/\0TERM=linux\0')
    _write(os.path.join(proc, 'self/mountinfo'),
           '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n')
    make_root(base, {'/etc/sysctl.conf': '# sysctl.conf\n'})
    os.makedirs(os.path.join(base, 'etc/sysctl.d'))
    os.symlink('../sysctl.conf', os.path.join(base, 'etc/sysctl.d/99-sysctl.conf'))
    _clear_warnings()
    monkeypatch.setattr(mod, 'PROC_ROOT', proc)
    monkeypatch.setattr(mod, 'ROOT', base)
    return {'base': base, 'proc': proc}


def run(capsys, check=False, diff=True, **args):
    _clear_warnings()
    return run_module(mod.main, capsys, check=check, diff=diff, **args)


def paranoid(host):
    return _read(os.path.join(host['proc'], 'sys/kernel/perf_event_paranoid')).strip()


def dropin(host):
    path = os.path.join(host['base'], DROPIN.lstrip('/'))
    return _read(path) if os.path.exists(path) else None


def test_set_level_persist_runtime_then_idempotent(host, capsys):
    r = run(capsys, level=2)
    assert r['changed'] is True and not r.get('failed')
    assert r['previous'] == {sc.PARANOID: 3} and r['current'] == {sc.PARANOID: 2}
    assert r['runtime_changed'] == [sc.PARANOID] and r['dropin_changed'] is True
    assert r['dropin'] == DROPIN and r['boot_values'] == {sc.PARANOID: '2'}
    assert r['level'] == 2 and 'kernel profiling' in r['level_meaning']
    assert sorted(r['level_meanings']) == ['-1', '0', '1', '2', '3', '4']
    assert r['supported_levels'] == [-1, 0, 1, 2, 3]
    assert paranoid(host) == '2'
    assert 'kernel.perf_event_paranoid = 2\n' in dropin(host)
    assert r['diff'][0]['before'] == '' and 'kernel.perf_event_paranoid = 2' in r['diff'][0]['after']
    assert r['diff'][1] == {'before_header': 'runtime ' + sc.PARANOID,
                            'after_header': 'runtime ' + sc.PARANOID,
                            'before': '3\n', 'after': '2\n'}
    mode = os.stat(os.path.join(host['base'], DROPIN.lstrip('/'))).st_mode & 0o777
    assert mode == 0o644
    r2 = run(capsys, level=2)
    assert r2['changed'] is False and r2['diff'] == [] and r2['runtime_changed'] == []


def test_check_mode_changes_nothing(host, capsys):
    r = run(capsys, check=True, level=1, mlock_kb=1024)
    assert r['changed'] is True
    assert r['current'] == {sc.PARANOID: 1, sc.MLOCK_KB: 1024}
    assert r['previous'] == {sc.PARANOID: 3, sc.MLOCK_KB: 516}
    assert paranoid(host) == '3' and dropin(host) is None
    assert 'kernel.perf_event_mlock_kb = 1024' in r['diff'][0]['after']


def test_persist_false_and_runtime_false(host, capsys):
    r = run(capsys, level=2, persist=False)
    assert r['changed'] is True and dropin(host) is None and paranoid(host) == '2'
    r = run(capsys, level=1, runtime=False)
    assert r['changed'] is True and paranoid(host) == '2'
    assert 'kernel.perf_event_paranoid = 1' in dropin(host)
    assert r['boot_values'] == {sc.PARANOID: '1'}


def test_sysctl_conf_override_reported_then_commented(host, capsys):
    conf = os.path.join(host['base'], 'etc/sysctl.conf')
    _write(conf, '# local\nkernel.perf_event_paranoid = 1\n')
    r = run(capsys, level=2)
    # the default drop-in sorts after 99-sysctl.conf: it wins under systemd-sysctl, but
    # procps' sysctl --system applies sysctl.conf last, so the entry is still reported
    assert r['overriding_files'] == ['/etc/sysctl.conf']
    assert r['overriding'][0]['value'] == '1' and r['overriding'][0]['line'] == 2
    assert 'sysctl --system' in r['overriding'][0]['reason']
    assert r['commented_out'] == [] and r['boot_values'] == {sc.PARANOID: '2'}
    assert any('comment_out_overrides=true' in w for w in _warnings(r))
    assert 'kernel.perf_event_paranoid = 1' in _read(conf)
    r = run(capsys, level=2, comment_out_overrides=True)
    assert r['changed'] is True and r['commented_out'] == ['/etc/sysctl.conf']
    assert r['boot_values'] == {sc.PARANOID: '2'} and _warnings(r) == []
    text = _read(conf)
    assert '# perfsec.selinux: overridden by %s: kernel.perf_event_paranoid = 1' % DROPIN in text
    assert os.path.islink(os.path.join(host['base'], 'etc/sysctl.d/99-sysctl.conf'))
    r = run(capsys, level=2, comment_out_overrides=True)
    assert r['changed'] is False and r['overriding'] == []


def test_early_dropin_loses_to_sysctl_conf_at_boot(host, capsys):
    _write(os.path.join(host['base'], 'etc/sysctl.conf'), 'kernel.perf_event_paranoid = 1\n')
    r = run(capsys, level=2, dropin='/etc/sysctl.d/90-perfsec-perf.conf')
    assert r['boot_values'] == {sc.PARANOID: '1'} and r['overriding_files'] == ['/etc/sysctl.conf']
    assert 'sorts later' in r['overriding'][0]['reason'] or 'sysctl --system' in r['overriding'][0]['reason']
    r = run(capsys, level=2, dropin='/etc/sysctl.d/90-perfsec-perf.conf', comment_out_overrides=True)
    assert r['boot_values'] == {sc.PARANOID: '2'}


def test_vendor_file_is_shadowed_not_edited(host, capsys):
    vendor = os.path.join(host['base'], 'usr/lib/sysctl.d/zz-vendor.conf')
    _write(vendor, 'kernel.perf_event_paranoid = 4\n')
    r = run(capsys, level=2, comment_out_overrides=True)
    assert r['commented_out'] == ['/usr/lib/sysctl.d/zz-vendor.conf']
    assert _read(vendor) == 'kernel.perf_event_paranoid = 4\n'
    shadow = _read(os.path.join(host['base'], 'etc/sysctl.d/zz-vendor.conf'))
    assert shadow.startswith('# perfsec.selinux: overridden by')
    assert r['boot_values'] == {sc.PARANOID: '2'}


def test_other_knobs_and_order(host, capsys):
    r = run(capsys, level=2, mlock_kb=2064, max_sample_rate=10000, cpu_time_max_percent=20)
    assert r['changed'] is True
    k = os.path.join(host['proc'], 'sys/kernel')
    assert _read(os.path.join(k, 'perf_event_mlock_kb')) == '2064\n'
    assert _read(os.path.join(k, 'perf_event_max_sample_rate')) == '10000\n'
    assert _read(os.path.join(k, 'perf_cpu_time_max_percent')) == '20\n'
    assert r['runtime_changed'] == [sc.PARANOID, sc.CPU_TIME_MAX_PERCENT, sc.MAX_SAMPLE_RATE,
                                    sc.MLOCK_KB]


def test_max_sample_rate_refused_while_throttling_disabled(host, capsys):
    _write(os.path.join(host['proc'], 'sys/kernel/perf_cpu_time_max_percent'), '0\n')
    r = run(capsys, max_sample_rate=5000)
    assert r['failed'] is True and 'cpu_time_max_percent to 1..99' in r['msg']
    r = run(capsys, max_sample_rate=5000, cpu_time_max_percent=10)
    assert r['changed'] is True


@pytest.mark.parametrize('args,words', [
    ({'level': 7}, 'invalid level 7'),
    ({'level': 2, 'cpu_time_max_percent': 150}, 'invalid cpu_time_max_percent 150'),
    ({'level': 2, 'mlock_kb': -5}, 'invalid mlock_kb -5'),
])
def test_invalid_values_fail_once(host, capsys, args, words):
    r = run(capsys, **args)
    assert r['failed'] is True and words in r['msg']
    assert paranoid(host) == '3' and dropin(host) is None


def test_level_4_refused_on_debian_kernel(host, capsys):
    r = run(capsys, level=4)
    assert r['failed'] is True
    assert 'level 4 is not supported by the running kernel (supported: -1, 0, 1, 2, 3' in r['msg']
    assert 'assume_level_supported=true' in r['msg']
    r = run(capsys, level=4, assume_level_supported=True)
    assert r['changed'] is True and paranoid(host) == '4'


def test_level_3_refused_on_upstream_kernel(host, capsys):
    _write(os.path.join(host['proc'], 'sys/kernel/version'), '#1 SMP\n')
    _write(os.path.join(host['proc'], 'sys/kernel/perf_event_paranoid'), '2\n')
    r = run(capsys, level=3)
    assert r['failed'] is True and 'level 3 is not supported' in r['msg']


def test_unknown_sysctl_on_this_kernel(host, capsys):
    os.remove(os.path.join(host['proc'], 'sys/kernel/perf_event_max_sample_rate'))
    r = run(capsys, level=2, max_sample_rate=1000)
    assert r['failed'] is True
    assert r['msg'].startswith('unknown sysctl kernel.perf_event_max_sample_rate')
    assert paranoid(host) == '3'


def test_readonly_proc_sys_fails_or_skips(host, capsys):
    _write(os.path.join(host['proc'], 'self/mountinfo'),
           '22 1 0:21 / /proc rw shared:12 - proc proc rw\n'
           '30 22 0:21 /sys /proc/sys ro,nosuid - proc proc rw\n')
    r = run(capsys, level=2)
    assert r['failed'] is True and '/proc/sys is read-only' in r['msg']
    assert dropin(host) is None and paranoid(host) == '3'
    r = run(capsys, level=2, skip_unsupported=True)
    assert r['skipped'] is True and r['changed'] is False
    # nothing to write at runtime: read-only /proc/sys does not matter
    r = run(capsys, level=3)
    assert r['changed'] is True and not r.get('failed')


def test_container_fails_or_skips(host, capsys):
    _write(os.path.join(host['base'], 'run/.containerenv'), '')
    r = run(capsys, level=2)
    assert r['failed'] is True and 'container' in r['msg'] and 'runtime=false' in r['msg']
    r = run(capsys, level=2, skip_unsupported=True)
    assert r['skipped'] is True and r['changed'] is False and paranoid(host) == '3'
    r = run(capsys, level=2, runtime=False)
    assert r['changed'] is True and paranoid(host) == '3' and dropin(host)


def test_nothing_to_do_is_an_error(host, capsys):
    r = run(capsys, persist=True)
    assert r['failed'] is True and 'one of the following is required' in r['msg']


# ---- issue 13: drop-in path, foreign files, mode (finding 4), symlinks (finding 3), types (7)

def _dropin_path(host, dropin=DROPIN):
    return os.path.join(host['base'], dropin.lstrip('/'))


def _run_raw(capsys, check=False, diff=False, **args):
    """run(), also returning the module's raw stdout (to look for leaked file content)."""
    import json
    from helpers import patch_module_args
    _clear_warnings()
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            mod.main()
    out = capsys.readouterr().out
    return json.loads(out), out


@pytest.mark.parametrize('bad', [
    '/etc/sysctl.conf', '/etc/sysctl.d/../sysctl.conf', '/etc/sysctl.d/sub/x.conf',
    '/etc/sysctl.d/x.txt', '/etc/sysctl.d/.hidden.conf', '/usr/lib/sysctl.d/50-x.conf',
    '/tmp/x.conf', 'etc/sysctl.d/x.conf',
])
def test_dropin_outside_sysctl_d_is_refused(host, capsys, bad):
    conf = os.path.join(host['base'], 'etc/sysctl.conf')
    _write(conf, 'net.ipv4.ip_forward = 1\nvm.swappiness = 10\n')
    before = sorted(os.listdir(os.path.join(host['base'], 'etc/sysctl.d')))
    for check in (True, False):
        r = run(capsys, check=check, level=2, dropin=bad)
        assert r['failed'] is True and 'dropin' in r['msg'], r
        assert '/etc/sysctl.d' in r['msg'] or 'absolute' in r['msg'], r['msg']
    assert _read(conf) == 'net.ipv4.ip_forward = 1\nvm.swappiness = 10\n'
    assert sorted(os.listdir(os.path.join(host['base'], 'etc/sysctl.d'))) == before
    assert not os.path.exists(os.path.join(host['base'], 'tmp/x.conf'))
    assert not os.path.exists(os.path.join(host['base'], 'usr/lib/sysctl.d/50-x.conf'))
    assert paranoid(host) == '3'


def test_run_sysctl_d_dropin_is_accepted(host, capsys):
    r = run(capsys, level=2, dropin='/run/sysctl.d/50-perfsec.conf')
    assert r['changed'] is True and not r.get('failed'), r
    assert 'kernel.perf_event_paranoid = 2' in _read(_dropin_path(host, '/run/sysctl.d/50-perfsec.conf'))


def test_foreign_dropin_is_kept_unless_force(host, capsys):
    path = _dropin_path(host)
    _write(path, 'vm.swappiness = 10\n')
    for check in (True, False):
        r = run(capsys, check=check, level=2)
        assert r['failed'] is True and 'not written by perfsec.selinux' in r['msg'], r
        assert 'force=true' in r['msg']
    assert _read(path) == 'vm.swappiness = 10\n' and paranoid(host) == '3'
    r = run(capsys, level=2, force=True)
    assert r['changed'] is True and r['dropin_changed'] is True, r
    assert r['diff'][0]['before'] == 'vm.swappiness = 10\n'
    assert sc.written_by_perfsec(_read(path)) and 'kernel.perf_event_paranoid = 2\n' in _read(path)
    # ours now: no force needed any more
    r = run(capsys, level=1)
    assert r['changed'] is True and 'kernel.perf_event_paranoid = 1\n' in _read(path)


def test_existing_dropin_gets_mode_0644_root_root(host, capsys):
    path = _dropin_path(host)
    _write(path, sc.render_dropin([(sc.PARANOID, 2)]))
    _write(os.path.join(host['proc'], 'sys/kernel/perf_event_paranoid'), '2\n')
    os.chmod(path, 0o666)
    if os.geteuid() == 0:
        os.chown(path, 1000, 1000)
    r = run(capsys, check=True, level=2)
    assert r['changed'] is True and r['dropin_changed'] is True, r
    assert r['diff'][0]['before'].startswith('mode 0666') and r['diff'][0]['after'] == 'mode 0644, owner 0:0\n'
    assert os.stat(path).st_mode & 0o777 == 0o666
    r = run(capsys, level=2)
    assert r['changed'] is True and r['dropin_changed'] is True and r['runtime_changed'] == []
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o644
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (0, 0)
    assert _read(path) == sc.render_dropin([(sc.PARANOID, 2)])
    r = run(capsys, level=2)
    assert r['changed'] is False and r['diff'] == []


def test_new_dropin_is_0644_under_any_umask(host, capsys):
    old = os.umask(0o000)
    try:
        r = run(capsys, level=2)
    finally:
        os.umask(old)
    assert r['changed'] is True
    assert os.stat(_dropin_path(host)).st_mode & 0o777 == 0o644


@pytest.mark.parametrize('link_to', ['../shadow', '/etc/shadow', '99-ours.conf'])
def test_symlinked_dropin_is_refused_and_never_read(host, capsys, link_to):
    secret = os.path.join(host['base'], 'etc/shadow')
    _write(secret, 'root:$6$SECRETHASH:19000:0:99999:7:::\n')
    _write(os.path.join(host['base'], 'etc/sysctl.d/99-ours.conf'),
           sc.render_dropin([(sc.PARANOID, 2)]))
    os.symlink(link_to, _dropin_path(host))
    for check in (True, False):
        r, out = _run_raw(capsys, check=check, diff=True, level=2)
        assert r['failed'] is True and 'is a symbolic link' in r['msg'], r
        assert 'SECRETHASH' not in out
    assert _read(secret) == 'root:$6$SECRETHASH:19000:0:99999:7:::\n'
    assert os.path.islink(_dropin_path(host)) and paranoid(host) == '3'


def test_non_regular_dropin_is_refused(host, capsys):
    os.makedirs(_dropin_path(host))
    r = run(capsys, check=True, level=2)
    assert r['failed'] is True and 'not a regular file' in r['msg'], r


@pytest.mark.parametrize('args,words', [
    ({'level': True}, 'invalid level True'),
    ({'level': False}, 'invalid level False'),
    ({'level': 2, 'mlock_kb': True}, 'invalid mlock_kb True'),
    ({'level': 2, 'max_sample_rate': True}, 'invalid max_sample_rate True'),
    ({'level': 2, 'cpu_time_max_percent': False}, 'invalid cpu_time_max_percent False'),
])
def test_boolean_values_are_refused(host, capsys, args, words):
    r = run(capsys, **args)
    assert r['failed'] is True and words in r['msg'] and 'not a bool' in r['msg'], r
    assert paranoid(host) == '3' and dropin(host) is None


def test_role_default_dropin_is_allowed():
    yaml = pytest.importorskip('yaml')
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
    with open(os.path.join(root, 'roles/paranoid/defaults/main.yml')) as f:
        defaults = yaml.safe_load(f)
    assert sc.check_dropin_path(defaults['paranoid_dropin']) is None
    assert defaults['paranoid_dropin'] == sc.DEFAULT_DROPIN


def test_gate_is_read_before_the_change(host, capsys):
    """perf_module's paranoid gate: Debian's kernel at 3 refuses before SELinux; the gate is read
    before the task changes the level, in check mode and not, and 3 can be put back."""
    r = run(capsys, check=True, level=2, persist=False)
    assert r['gate']['blocks'] is True and r['gate']['level'] == 3 and r['gate']['variant'] == 'debian'
    assert 'its patch refuses perf_event_open() to every process without CAP_SYS_ADMIN' in r['gate']['reason']
    assert paranoid(host) == '3' and dropin(host) is None
    r = run(capsys, level=2, persist=False)
    assert r['changed'] is True and r['gate']['blocks'] is True and paranoid(host) == '2'
    r = run(capsys, level=2, persist=False)
    assert r['changed'] is False and r['gate'] == dict(r['gate'], blocks=False, level=2)
    r = run(capsys, level=3, persist=False, assume_level_supported=True)
    assert r['changed'] is True and paranoid(host) == '3' and dropin(host) is None


def test_gate_on_an_upstream_kernel_never_blocks(host, capsys):
    _write(os.path.join(host['proc'], 'sys/kernel/version'), '#1 SMP\n')
    _write(os.path.join(host['proc'], 'sys/kernel/osrelease'), '6.18.0\n')
    r = run(capsys, check=True, level=2, persist=False)
    assert r['gate']['blocks'] is False and r['gate']['variant'] == 'upstream'


def test_gate_lower_changes_only_where_the_patch_refuses(host, capsys):
    """gate=lower (perf_module's probe): Debian at 3 refuses before SELinux, so 2 is set at
    runtime and the previous level returned; at 2 the gate lets perf through and nothing
    changes; check mode predicts without writing."""
    r = run(capsys, check=True, level=2, persist=False, gate='lower')
    assert r['changed'] is True and paranoid(host) == '3' and r['gate']['blocks'] is True
    r = run(capsys, level=2, persist=False, gate='lower')
    assert r['changed'] is True and paranoid(host) == '2' and dropin(host) is None
    assert r['previous'] == {sc.PARANOID: 3} and 'lowered at runtime' in r['msg']
    r = run(capsys, level=2, persist=False, gate='lower')
    assert r['changed'] is False and 'nothing changed' in r['msg']


def test_gate_lower_leaves_a_level_the_gate_lets_through(host, capsys):
    """Level 1 on Debian does not block: gate=lower leaves it at 1 (ignore would raise it to 2)."""
    _write(os.path.join(host['proc'], 'sys/kernel/perf_event_paranoid'), '1\n')
    r = run(capsys, level=2, persist=False, gate='lower')
    assert r['changed'] is False and r['gate']['blocks'] is False and paranoid(host) == '1'
    assert r['runtime_changed'] == [] and r['current'] == {sc.PARANOID: 1} and r['diff'] == []
    r = run(capsys, level=2, persist=False)
    assert r['changed'] is True and paranoid(host) == '2'


def test_gate_refuse_fails_with_the_reason_and_hint_and_changes_nothing(host, capsys):
    for check in (True, False):
        r = run(capsys, check=check, level=2, persist=False, gate='refuse', gate_hint='Set lower: true.')
        assert r['failed'] is True and r['gate']['blocks'] is True
        assert 'refuses perf_event_open() to every process without CAP_SYS_ADMIN' in r['msg']
        assert r['msg'].endswith('Set lower: true.')
    assert paranoid(host) == '3' and dropin(host) is None
    _write(os.path.join(host['proc'], 'sys/kernel/perf_event_paranoid'), '2\n')
    r = run(capsys, level=2, persist=False, gate='refuse')
    assert r['changed'] is False and not r.get('failed')


@pytest.mark.parametrize('args', [{'persist': True}, {'persist': False, 'runtime': False}])
def test_gate_needs_runtime_only(host, capsys, args):
    r = run(capsys, level=2, gate='lower', **args)
    assert r['failed'] is True and 'persist=false and runtime=true' in r['msg']
    assert paranoid(host) == '3' and dropin(host) is None
