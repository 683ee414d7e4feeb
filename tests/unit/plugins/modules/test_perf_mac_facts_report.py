"""perf_mac_facts, the facts the fleet report needs: paranoid_source, denials, perf_users,
last_change, and the ``root`` option (fake roots, real files, the real semodule/getcap)."""
import bz2
import os
import shutil
import time

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf

from helpers import make_proc, make_root, run_module, write_file

NOW = 1732800000.0
DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'
MANAGED = '# Managed by perfsec.selinux.perf_paranoid: local changes will be overwritten.\n'


def avc(ts, perms, stype='user_t', tclass='perf_event', result='denied', comm='perf', serial=1):
    return ('type=AVC msg=audit(%.3f:%d): avc:  %s  { %s } for  pid=4242 comm="%s" '
            'scontext=user_u:user_r:%s:s0 tcontext=user_u:user_r:%s:s0 tclass=%s permissive=0\n'
            % (ts, serial, result, ' '.join(perms), comm, stype, stype, tclass))


# ---- paranoid_source ----------------------------------------------------------------------

def test_paranoid_source_runtime_only(tmp_path):
    src = pmf.paranoid_source(2, str(tmp_path))
    assert src['state'] == 'runtime_only' and src['file'] is None and src['entries'] == []
    assert src['runtime'] == 2 and src['boot'] is None and src['managed'] is False


def test_paranoid_source_dropin_wins_then_sysctl_conf(tmp_path):
    root = make_root(str(tmp_path), {
        '/usr/lib/sysctl.d/50-default.conf': 'kernel.perf_event_paranoid = 1\n',
        DROPIN: MANAGED + 'kernel.perf_event_paranoid = 2\n',
    })
    src = pmf.paranoid_source(2, root)
    assert src['file'] == DROPIN and src['line'] == 2 and src['boot'] == '2'
    assert src['managed'] is True and src['state'] == 'file'
    assert [e['path'] for e in src['entries']] == ['/usr/lib/sysctl.d/50-default.conf', DROPIN]
    # procps applies /etc/sysctl.conf last: it wins, and the runtime value no longer matches
    write_file(os.path.join(root, 'etc/sysctl.conf'), '# local\nkernel.perf_event_paranoid=-1\n')
    src = pmf.paranoid_source(2, root)
    assert src['file'] == '/etc/sysctl.conf' and src['line'] == 2 and src['boot'] == '-1'
    assert src['managed'] is False and src['state'] == 'runtime_differs'


def test_gather_kernel_has_paranoid_source(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=1)
    make_root(str(tmp_path), {'/etc/sysctl.d/10-perf.conf': 'kernel/perf_event_paranoid = 1\n'})
    k = pmf.gather_kernel(proc, str(tmp_path))
    assert k['paranoid_source']['file'] == '/etc/sysctl.d/10-perf.conf'
    assert k['paranoid_source']['state'] == 'file' and k['paranoid_source']['managed'] is False


# ---- denials --------------------------------------------------------------------------------

def test_count_denials_filters_class_perm_result_and_age():
    text = ''.join([
        avc(NOW - 100, ['open'], serial=1),
        avc(NOW - 50, ['cpu', 'kernel'], serial=2),
        avc(NOW - 40, ['perfmon'], tclass='capability2', stype='staff_t', serial=3),
        avc(NOW - 30, ['syslog'], tclass='capability2', serial=4),       # not a perf capability
        avc(NOW - 20, ['read'], tclass='file', serial=5),                 # other class
        avc(NOW - 10, ['open'], result='granted', serial=6),              # granted
        avc(NOW - 90000, ['tracepoint'], serial=7),                       # older than a day
        'type=USER_AVC msg=audit(%.3f:8): pid=1 uid=0 msg=\'avc:  denied  { open } for '
        'scontext=a:b:c_t:s0 tcontext=a:b:c_t:s0 tclass=perf_event\'\n' % NOW,
        'garbage avc: line\n',
    ])
    d = pmf.count_denials(text, max_age=86400, now=NOW)
    assert d['count'] == 3
    assert d['perms'] == ['cpu', 'kernel', 'open', 'perfmon']
    assert d['domains'] == ['staff_t', 'user_t']
    assert d['classes'] == ['capability2', 'perf_event']
    assert d['comms'] == ['perf']
    assert d['first'] == NOW - 100 and d['last'] == NOW - 40
    assert d['groups'] == [
        {'stype': 'staff_t', 'tclass': 'capability2', 'perms': ['perfmon'], 'count': 1},
        {'stype': 'user_t', 'tclass': 'perf_event', 'perms': ['cpu', 'kernel', 'open'], 'count': 2},
    ]
    # no age limit: the old record counts too
    assert pmf.count_denials(text, max_age=0, now=NOW)['count'] == 4


def test_gather_denials_bounded_tail(tmp_path):
    root = str(tmp_path)
    old = avc(NOW - 5, ['open'], serial=1)
    padding = 'type=SYSCALL msg=audit(%.3f:2): arch=c000003e syscall=298 success=no\n' % NOW
    new = avc(NOW - 1, ['cpu'], serial=3)
    write_file(os.path.join(root, 'var/log/audit/audit.log'), old + padding * 50 + new)
    d = pmf.gather_denials(max_bytes=len(new) + 20, max_age=0, root=root, now=NOW)
    assert d['available'] is True and d['truncated'] is True and d['error'] is None
    assert d['bytes_read'] == len(new) + 20
    assert d['count'] == 1 and d['perms'] == ['cpu']       # the partial first line is dropped
    d = pmf.gather_denials(max_bytes=1 << 20, max_age=0, root=root, now=NOW)
    assert d['truncated'] is False and d['count'] == 2 and d['perms'] == ['cpu', 'open']
    d = pmf.gather_denials(max_bytes=1 << 20, max_age=3, root=root, now=NOW)
    assert d['count'] == 1


def test_gather_denials_missing_log(tmp_path):
    d = pmf.gather_denials(root=str(tmp_path))
    assert d['available'] is False and d['count'] == 0
    assert d['error'].startswith('cannot read /var/log/audit/audit.log')


# ---- perf_users and last_change ------------------------------------------------------------

def test_perf_users_from_root(tmp_path):
    root = make_root(str(tmp_path), {
        '/etc/group': 'root:x:0:\nperf_users:x:998:bob,alice\nusers:x:100:\n',
        '/opt/perf_users/perf': '\x7fELF fake',
    })
    os.chmod(os.path.join(root, 'opt/perf_users/perf'), 0o750)

    class NoGetcap(object):
        def get_bin_path(self, name):
            return None
    f = pmf.gather_perf_users(NoGetcap(), 'perf_users', '/opt/perf_users', root)
    assert f['group_exists'] is True and f['gid'] == 998 and f['members'] == ['alice', 'bob']
    assert f['binary'] == '/opt/perf_users/perf' and f['binary_mode'] == '0750'
    assert f['binary_group'] == 'root'                     # gid 0 in the fake /etc/group
    assert f['capabilities'] is None                       # no getcap
    f = pmf.gather_perf_users(NoGetcap(), 'nosuch', '/nowhere', root)
    assert f['group_exists'] is False and f['binary'] is None


def test_last_change_newest_file(tmp_path):
    root = make_root(str(tmp_path), {
        '/var/lib/perfsec/relabel.done': '',
        '/var/lib/perfsec/policy-backup/1/state.json': '{}',
        DROPIN: MANAGED,
        '/etc/selinux/config': 'SELINUX=enforcing\nSELINUXTYPE=default\n',
        '/var/lib/selinux/default/active/modules/300/my-perf/cil': '',
    })
    for i, p in enumerate(['var/lib/perfsec', 'var/lib/perfsec/relabel.done', 'var/lib/perfsec/policy-backup',
                           'var/lib/perfsec/policy-backup/1', 'var/lib/perfsec/policy-backup/1/state.json',
                           DROPIN.lstrip('/'), 'var/lib/selinux/default/active/modules/300/my-perf',
                           'var/lib/selinux/default/active/modules/300/my-perf/cil']):
        os.utime(os.path.join(root, p), (NOW + i, NOW + i))
    paths = ['/var/lib/perfsec', DROPIN]
    lc = pmf.gather_last_change(paths, [], {}, root)
    assert lc['path'] == DROPIN and lc['time'] == NOW + 5
    assert lc['iso'] == time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(NOW + 5))
    lc = pmf.gather_last_change(paths, [{'name': 'my-perf', 'priority': 300}], {}, root)
    assert lc['path'] == '/var/lib/selinux/default/active/modules/300/my-perf/cil' and lc['time'] == NOW + 7
    assert pmf.gather_last_change(['/nothing'], [], {}, root) == {'time': None, 'iso': None, 'path': None}


# ---- main() with root ---------------------------------------------------------------------

def make_host(base, paranoid=2, enforce=1, checksum_text='(allow user_t self (perf_event (open)))\n'):
    """A fake host below ``base``: selinuxfs, /proc, sysctl drop-in, module store, audit log."""
    make_proc(base, paranoid=paranoid)
    fs = os.path.join(base, 'sys/fs/selinux')
    write_file(os.path.join(fs, 'enforce'), '%d' % enforce)
    for p in ('open', 'cpu', 'kernel', 'tracepoint', 'read', 'write'):
        write_file(os.path.join(fs, 'class/perf_event/perms', p), '1')
    write_file(os.path.join(fs, 'class/capability2/perms/perfmon'), '1')
    make_root(base, {
        '/etc/selinux/config': 'SELINUX=enforcing\nSELINUXTYPE=default\n',
        DROPIN: MANAGED + 'kernel.perf_event_paranoid = %d\n' % paranoid,
        '/etc/group': 'root:x:0:\nperf_users:x:998:alice\n',
        '/var/log/audit/audit.log': avc(time.time() - 60, ['open', 'cpu']),
        '/var/lib/selinux/default/active/modules/300/perf_local/lang_ext': 'pp',
    })
    with open(os.path.join(base, 'var/lib/selinux/default/active/modules/300/perf_local/cil'), 'wb') as f:
        f.write(bz2.compress(checksum_text.encode()))
    return base


@pytest.mark.parametrize('check', [False, True])
def test_main_with_root(tmp_path, capsys, check):
    root = make_host(str(tmp_path))
    res = run_module(pmf.main, capsys, check=check, root=root)
    assert res['changed'] is False
    f = res['ansible_facts']['perfsec']
    assert f['selinux']['mode'] == 'enforcing' and f['selinux']['perf_event_class'] is True
    assert f['kernel']['paranoid_source']['file'] == DROPIN
    assert f['kernel']['paranoid_source']['managed'] is True
    assert f['denials']['count'] == 1 and f['denials']['perms'] == ['cpu', 'open']
    assert f['perf_users']['group_exists'] is True and f['perf_users']['members'] == ['alice']
    assert f['perf']['path'] is None
    assert f['last_change']['path'] is not None
    if shutil.which('semodule'):
        assert f['modules_error'] is None
        assert [(m['name'], m['priority'], m['enabled']) for m in f['modules']] == [('perf_local', 300, True)]
        assert len(f['modules'][0]['checksum']) == 64
    res = run_module(pmf.main, capsys, root=root, gather_denials=False, gather_modules=False)
    f = res['ansible_facts']['perfsec']
    assert f['denials']['enabled'] is False and f['denials']['count'] == 0 and f['modules'] == []


@pytest.mark.skipif(not shutil.which('semodule'), reason='semodule is not installed')
def test_main_root_module_checksums_differ(tmp_path, capsys):
    """Same module name, different content on two hosts: different checksums (report attention)."""
    a = make_host(str(tmp_path / 'a'))
    b = make_host(str(tmp_path / 'b'), checksum_text='(allow user_t self (perf_event (open cpu)))\n')
    ca = run_module(pmf.main, capsys, root=a)['ansible_facts']['perfsec']['modules'][0]['checksum']
    cb = run_module(pmf.main, capsys, root=b)['ansible_facts']['perfsec']['modules'][0]['checksum']
    assert ca != cb


@pytest.mark.parametrize('args,msg', [
    ({'denials_max_bytes': 0}, 'denials_max_bytes must be at least 1'),
    ({'denials_max_age': -1}, 'denials_max_age must be 0'),
    ({'root': '/nonexistent-perfsec-root'}, 'is not a directory'),
])
def test_main_bad_options(capsys, args, msg):
    res = run_module(pmf.main, capsys, **args)
    assert res['failed'] is True and msg in res['msg']


# ---- access: the effective-access verdict from the facts ----------------------------------------

@pytest.mark.skipif(not shutil.which('semodule'), reason='semodule is not installed')
def test_main_access_rows(tmp_path, capsys):
    """perf_local grants user_t open only; Debian kernel config, lockdown file, expected_access."""
    root = make_host(str(tmp_path), paranoid=-1)
    write_file(os.path.join(root, 'boot/config-6.1.0-test'), 'CONFIG_SECURITY_PERF_EVENTS_RESTRICT=y\n')
    write_file(os.path.join(root, 'sys/kernel/security/lockdown'), '[none] integrity confidentiality\n')
    res = run_module(pmf.main, capsys, root=root, expected_access={'user_t': 'allowed', 'other': 'allowed'})
    f = res['ansible_facts']['perfsec']
    assert f['kernel']['lockdown'] == 'none'
    assert f['kernel']['paranoid_variant']['variant'] == 'debian'
    assert f['kernel']['paranoid_variant']['source'] == 'config'
    assert f['modules'][0]['perf_rules'] == [{'source': 'user_t', 'target': 'self', 'class': 'perf_event',
                                              'perms': ['open']}]
    rows = dict((r['who'], r) for r in f['access']['rows'])
    assert list(rows) == ['root', 'perf_users', 'user_t', 'other']
    assert rows['user_t']['verdict'] == 'partial' and rows['user_t']['gate'] == 'selinux'
    assert rows['other']['verdict'] == 'allowed'
    assert f['access']['mismatches'] == [{'who': 'user_t', 'expected': 'allowed', 'verdict': 'partial'}]
    # Debian's 3: nobody but root, whatever the module grants
    write_file(os.path.join(root, 'proc/sys/kernel/perf_event_paranoid'), '3\n')
    f = run_module(pmf.main, capsys, root=root)['ansible_facts']['perfsec']
    assert f['access']['only_root'] is True and f['access']['summary'] == 'only root can use perf'


def test_main_bad_expected_access(capsys):
    res = run_module(pmf.main, capsys, expected_access={'other': 'maybe'})
    assert res['failed'] is True and "expected_access[other] is 'maybe'" in res['msg']
