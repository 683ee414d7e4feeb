"""perf_mac_facts: fixture selinuxfs/procfs trees, and this real machine (SELinux off)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf
from ansible_collections.perfsec.selinux.plugins.module_utils import selinuxfs

from helpers import make_proc, run_module, write_file as _write

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def make_selinuxfs(base, enforce=1, perf_event=True, perfmon=True):
    fs = os.path.join(base, 'sys/fs/selinux')
    _write(os.path.join(fs, 'enforce'), '%d' % enforce)
    _write(os.path.join(fs, 'policyvers'), '33\n')
    _write(os.path.join(fs, 'deny_unknown'), '1')
    _write(os.path.join(fs, 'reject_unknown'), '0')
    _write(os.path.join(fs, 'mls'), '1')
    cap2 = ['mac_override', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read']
    if perfmon:
        cap2 += ['perfmon', 'bpf']
    for p in cap2:
        _write(os.path.join(fs, 'class/capability2/perms', p), '1')
    if perf_event:
        for i, p in enumerate(selinuxfs.PERF_EVENT_PERMS):
            _write(os.path.join(fs, 'class/perf_event/perms', p), str(i + 1))
        _write(os.path.join(fs, 'class/perf_event/index'), '120')
    return fs


@pytest.mark.parametrize('enforce,mode', [(1, 'enforcing'), (0, 'permissive')])
def test_fixture_fedora34_like(tmp_path, enforce, mode):
    base = str(tmp_path)
    fs = make_selinuxfs(base, enforce=enforce)
    conf = os.path.join(base, 'etc/selinux/config')
    _write(conf, '# comment\nSELINUX=%s # trailing\nSELINUXTYPE=targeted\n' % mode)
    facts = pmf.gather_selinux(fs, conf, base)
    assert facts['status'] == 'enabled'
    assert facts['mode'] == mode and facts['config_mode'] == mode
    assert facts['policy_type'] == 'targeted'
    assert facts['perf_event_class'] is True
    assert facts['perf_event_perms'] == ['cpu', 'kernel', 'open', 'read', 'tracepoint', 'write']
    assert facts['perfmon'] is True and facts['bpf'] is True
    assert facts['deny_unknown'] is True and facts['reject_unknown'] is False
    assert facts['policyvers'] == 33
    assert facts['autorelabel_pending'] is False


def test_fixture_fedora31_like_pending_relabel(tmp_path):
    base = str(tmp_path)
    fs = make_selinuxfs(base, enforce=0, perf_event=False, perfmon=False)
    conf = os.path.join(base, 'etc/selinux/config')
    _write(conf, 'SELINUX=permissive\nSELINUXTYPE=targeted\n')
    _write(os.path.join(base, '.autorelabel'), '')
    facts = pmf.gather_selinux(fs, conf, base)
    assert facts['perf_event_class'] is False and facts['perf_event_perms'] == []
    assert facts['perfmon'] is False
    assert facts['autorelabel_pending'] is True


def test_fixture_disabled_and_absent(tmp_path):
    base = str(tmp_path)
    conf = os.path.join(base, 'etc/selinux/config')
    facts = pmf.gather_selinux(os.path.join(base, 'nofs'), conf, base)
    assert facts['status'] == 'absent' and facts['enabled'] is False and facts['mode'] == 'disabled'
    _write(conf, 'SELINUX=disabled\n')
    facts = pmf.gather_selinux(os.path.join(base, 'nofs'), conf, base)
    assert facts['status'] == 'disabled' and facts['config_mode'] == 'disabled'
    assert facts['policy_type'] is None


def test_fixture_kernel(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=-1, release='5.3.7-301.fc31.x86_64')
    _write(os.path.join(proc, '1/environ'), 'HOME=/\0TERM=linux\0')
    os.remove(os.path.join(proc, 'sys/kernel/perf_event_max_sample_rate'))
    facts = pmf.gather_kernel(proc, str(tmp_path))
    assert facts['perf_event_paranoid'] == -1
    assert facts['perf_event_mlock_kb'] == 516
    assert facts['perf_event_max_sample_rate'] is None
    assert facts['cap_perfmon'] is False  # 5.3 < 5.8
    assert facts['container'] is False
    _write(os.path.join(proc, '1/environ'), 'container=podman\0')
    assert pmf.gather_kernel(proc, str(tmp_path))['container'] is True


# ---- require_perf_event_class (open_perf_access: the perf module alone needs the class) ------

NO_CLASS = ('the loaded policy has no class perf_event; run perfsec.selinux.enable_perf_mac '
            '(it rebuilds and installs the policy) instead.')


def _host(base, selinuxfs=None, config='SELINUX=enforcing\nSELINUXTYPE=targeted\n'):
    """A fake root: /proc, selinuxfs (make_selinuxfs's keywords, or none: SELinux off), the config."""
    make_proc(base)
    if selinuxfs is not None:
        make_selinuxfs(base, **selinuxfs)
    if config is not None:
        _write(os.path.join(base, 'etc/selinux/config'), config)
    return base


@pytest.mark.parametrize('selinuxfs,config,refused', [
    ({'perf_event': False, 'perfmon': False}, 'SELINUX=enforcing\n', True),   # fc31-like: enabled, no class
    ({'enforce': 0, 'perf_event': False}, 'SELINUX=permissive\n', True),       # permissive is enabled too
    ({}, 'SELINUX=enforcing\n', False),                                      # the class is there
    (None, 'SELINUX=disabled\n', False),                                     # SELinux not enabled: passes
    (None, None, False),                                                     # no SELinux at all: passes
])
@pytest.mark.parametrize('check', [False, True])
def test_require_perf_event_class(tmp_path, capsys, selinuxfs, config, refused, check):
    root = _host(str(tmp_path), selinuxfs, config)
    r = run_module(pmf.main, capsys, check=check, root=root, gather_modules=False, gather_denials=False,
                   require_perf_event_class=True)
    if refused:
        assert r['failed'] is True and r['msg'] == NO_CLASS, r
        assert 'ansible_facts' not in r
    else:
        assert not r.get('failed'), r
        assert r['changed'] is False
        assert r['ansible_facts']['perfsec']['selinux']['enabled'] is (selinuxfs is not None)
    # without the option the same host only reports it
    r = run_module(pmf.main, capsys, check=check, root=root, gather_modules=False, gather_denials=False)
    assert not r.get('failed'), r
    assert r['ansible_facts']['perfsec']['selinux']['perf_event_class'] is (selinuxfs == {})


# ---- this real machine: SELinux is off in its kernel -------------------------------------

def _run_module_on_localhost(check=False, args=None):
    """Run the module through ansible-core against localhost; return its facts."""
    env = dict(os.environ, LC_ALL='C.UTF-8',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    if not os.path.exists(ansible):
        pytest.skip('ansible is not installed in this lane (%s)' % sys.executable)
    cmd = [ansible, 'localhost', '-i', 'localhost,', '-c', 'local', '-m', 'perfsec.selinux.perf_mac_facts',
           '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if check:
        cmd.append('--check')
    if args:
        cmd += ['-a', args]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
    assert result['changed'] is False
    return result['ansible_facts']['perfsec']


@pytest.mark.skipif(os.path.exists('/sys/fs/selinux/enforce'), reason='this host has SELinux enabled')
@pytest.mark.parametrize('check', [False, True])
def test_real_machine_without_selinux(check):
    facts = _run_module_on_localhost(check)
    se = facts['selinux']
    assert se['enabled'] is False and se['mode'] == 'disabled'
    # setup installs selinux-policy-default, which writes /etc/selinux/config
    expected = 'disabled' if os.path.exists('/etc/selinux/config') else 'absent'
    assert se['status'] == expected
    assert se['perf_event_class'] is False
    assert facts['kernel']['release'] == os.uname()[2]
    with open('/proc/sys/kernel/perf_event_paranoid') as f:
        assert facts['kernel']['perf_event_paranoid'] == int(f.read())
    perf = shutil.which('perf')
    assert facts['perf']['path'] == perf
    if perf:
        assert facts['perf']['real_path'] == os.path.realpath(perf)
        assert facts['perf']['capabilities'] == ''  # Debian ships perf without file caps
    # the installed selinux-policy (policy_build's dnf download --source reads it), as rpm -q says it
    pkg = facts['selinux_policy_package']
    rpm = shutil.which('rpm')
    dbpath = rpm and subprocess.run([rpm, '--eval', '%{_dbpath}'], stdout=subprocess.PIPE,
                                    universal_newlines=True, check=True).stdout.strip()
    if not rpm:
        assert pkg == {'version': None, 'detail': 'rpm is not installed'}
    elif not os.path.isdir(dbpath):
        assert pkg == {'version': None, 'detail': 'no rpm database at %s' % dbpath}
    else:
        q = subprocess.run([rpm, '-q', '--qf', '%{VERSION}-%{RELEASE}', 'selinux-policy'], stdout=subprocess.PIPE,
                           universal_newlines=True, check=False)
        assert pkg == ({'version': q.stdout, 'detail': ''} if q.returncode == 0
                       else {'version': None, 'detail': q.stdout.strip()})


@pytest.mark.skipif(not shutil.which('semodule'), reason='semodule is not installed')
def test_real_machine_module_list_matches_semodule():
    """The installed-module facts agree with semodule's own listing of this host's store."""
    out = subprocess.run(['semodule', '-lfull', '-m'], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    line = [ln.split() for ln in out.splitlines() if ln.split()[1:2] == ['accountsd']][0]
    facts = _run_module_on_localhost(args='module_filter=^accountsd$')
    assert facts['modules_error'] is None
    assert facts['modules'] == [{'name': 'accountsd', 'priority': int(line[0]), 'enabled': 'disabled' not in line,
                                 'lang': line[2], 'checksum': line[3].split(':', 1)[1],
                                 'perf_rules': []}]
    # default filter: only modules away from the distribution's priority 100
    facts = _run_module_on_localhost()
    assert all(m['priority'] != 100 for m in facts['modules'])


# ---- issue 13 finding 8: change_paths over a directory chain deeper than the recursion limit

def test_last_change_walks_a_1100_level_directory_chain(tmp_path):
    base = str(tmp_path)
    top = os.path.join(base, 'var/lib/perfsec')
    os.makedirs(top)
    chain = [top]
    for _i in range(1100):
        chain.append(os.path.join(chain[-1], 'd'))
        os.mkdir(chain[-1])       # os.makedirs recurses once per level
    deepest = os.path.join(chain[-1], 'newest')
    try:
        with open(deepest, 'w') as f:
            f.write('x')
        for i, d in enumerate(chain):
            os.utime(d, (1000000 + i, 1000000 + i))
        os.utime(deepest, (2000000, 2000000))
        got = pmf.gather_last_change(['/var/lib/perfsec'], [], {}, root=base)
        assert got['path'] == '/' + os.path.relpath(deepest, base) and got['time'] == 2000000
        # the budget still bounds the walk: the first entries only
        budget = [5]
        best = [None, None]
        pmf._newest(top, best, budget)
        assert budget == [0] and best[1] == chain[4]
    finally:
        if os.path.exists(deepest):
            os.remove(deepest)
        for d in reversed(chain[1:]):   # shutil.rmtree may recurse once per level too
            os.rmdir(d)
