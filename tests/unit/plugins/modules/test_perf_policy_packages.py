"""perf_policy_packages: run as Ansible runs it (a subprocess with an args file), against the
real rpm and rpmbuild, into throwaway rpm roots (rpm --root), never into this host's database.

Tiny noarch packages are built once per session: selinux-policy + selinux-policy-targeted
1.0-1 (the originals, installed into each root first, as on a Fedora box), their 1.0-1.perf1
rebuild (another file_contexts) and a 1.0-1.perf2 whose %pre fails (an RPM that does not
install). The roots' rpm databases do not know rpm itself, so nodeps=auto must pick --nodeps.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils.selinuxfs import runtime_state

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
MODULE = os.path.join(ROOT, 'plugins', 'modules', 'perf_policy_packages.py')

pytestmark = pytest.mark.skipif(not (shutil.which('rpm') and shutil.which('rpmbuild')),
                                reason='needs rpm and rpmbuild')

FC = '/etc/selinux/targeted/contexts/files/file_contexts'
ORIG = ['selinux-policy-1.0-1.noarch', 'selinux-policy-targeted-1.0-1.noarch']
NEW = ['selinux-policy-1.0-1.perf1.noarch', 'selinux-policy-targeted-1.0-1.perf1.noarch']
SPEC = """Name: selinux-policy
Version: 1.0
Release: %(release)s
Summary: test policy
License: GPLv2
BuildArch: noarch
%%description
test
%%package targeted
Summary: test targeted policy
Requires: selinux-policy = %%{version}-%%{release}
%%description targeted
test
%(pre)s
%%install
mkdir -p %%{buildroot}/etc/selinux/targeted/contexts/files %%{buildroot}/usr/share/selinux
echo '%(fc)s' > %%{buildroot}%(fcpath)s
echo '%(release)s' > %%{buildroot}/usr/share/selinux/release
%%files
/usr/share/selinux/release
%%files targeted
%(fcpath)s
"""


def _rpmbuild(base, release, fc, pre=''):
    top = os.path.join(base, 'top-' + release)
    for d in ('SPECS', 'SOURCES', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT'):
        os.makedirs(os.path.join(top, d))
    spec = os.path.join(top, 'SPECS', 'selinux-policy.spec')
    with open(spec, 'w') as f:
        f.write(SPEC % dict(release=release, fc=fc, fcpath=FC, pre=pre))
    proc = subprocess.run(['rpmbuild', '--define', '_topdir %s' % top, '--nodeps', '-bb', spec],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          env=dict(os.environ, HOME=top), check=False)
    assert proc.returncode == 0, proc.stdout
    return sorted(glob.glob(os.path.join(top, 'RPMS', 'noarch', '*.rpm')))


@pytest.fixture(scope='module')
def rpms(tmp_path_factory):
    base = str(tmp_path_factory.mktemp('rpms'))
    bad_pre = '%pre\nexit 1\n%pre targeted\nexit 1\n'
    return {'orig': _rpmbuild(base, '1', '/.* system_u:object_r:default_t:s0'),
            'new': _rpmbuild(base, '1.perf1', '/.* system_u:object_r:default_t:s0\n/perf system_u:object_r:bin_t:s0'),
            'bad': _rpmbuild(base, '1.perf2', '/.* x', pre=bad_pre)}


def run_module(tmp_path, check=False, diff=False, **args):
    args = dict(args)
    args['_ansible_check_mode'] = check
    args['_ansible_diff'] = diff
    argfile = os.path.join(str(tmp_path), 'args', 'args.json')
    if not os.path.isdir(os.path.dirname(argfile)):
        os.makedirs(os.path.dirname(argfile))
    with open(argfile, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LC_ALL='C.UTF-8')
    proc = subprocess.run([sys.executable, MODULE, argfile], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False, universal_newlines=True, env=env)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module output is not JSON: %s\n%s' % (proc.stdout, proc.stderr))


def make_root(tmp_path, rpms):
    """A root with the original packages (rpm --nodeps --noscripts, as on a Fedora 31 box)."""
    root = os.path.join(str(tmp_path), 'root')
    os.makedirs(root)
    subprocess.run(['rpm', '--root', root, '--initdb'], check=True)
    subprocess.run(['rpm', '--root', root, '-Uh', '--quiet', '--nodeps', '--noscripts'] + rpms['orig'], check=True)
    assert installed(root) == ORIG
    return root


def installed(root):
    out = subprocess.run(['rpm', '--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n'],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return sorted(out.split())


def snapshot(top):
    """Every path below ``top`` with its content (files) or None (directories), the rpm
    database aside (rpm opens it read-write even for a transaction that fails)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in ('.rpmdb', 'args')]
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), top)] = None
        for n in filenames:
            with open(os.path.join(dirpath, n), 'rb') as f:
                out[os.path.relpath(os.path.join(dirpath, n), top)] = f.read()
    return out


def stage(tmp_path, rpms, which='new'):
    """The rebuilt RPMs copied to the host, as the role does (backup_dir/key/new)."""
    backup = os.path.join(str(tmp_path), 'backup')
    new = os.path.join(backup, 'k1', 'new')
    os.makedirs(new)
    out = []
    for p in rpms[which]:
        shutil.copy(p, new)
        out.append(os.path.join(new, os.path.basename(p)))
    return backup, out


def one_message(res):
    assert res.get('failed') is True and res['changed'] is False, res
    assert isinstance(res['msg'], str) and res['msg'], res
    return res['msg']


def test_install_then_nothing_then_rollback(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    fc_before = open(os.path.join(root, FC.lstrip('/'))).read()
    args = dict(packages=files, backup_dir=backup, key='k1', root=root, method='auto',
                previous_packages=list(rpms['orig']))
    res = run_module(tmp_path, diff=True, **args)
    assert res['changed'] is True and not res.get('failed'), res
    assert res['reason'] == 'installed' and res['skipped'] is False
    assert res['installed'] == NEW and res['previous'] == ORIG
    assert res['method'] == 'rpm' and res['nodeps'] is True  # the root's rpmdb does not know rpm
    assert res['file_contexts_changed'] is True and res['kept_copies'] is True
    assert res['msg'] == '%s installed (rpm -Uhv --nodeps)' % ', '.join(NEW)
    assert res['diff']['before'] == '\n'.join(ORIG) + '\n' and res['diff']['after'] == '\n'.join(NEW) + '\n'
    assert installed(root) == NEW
    assert open(os.path.join(root, FC.lstrip('/'))).read() != fc_before
    rec = os.path.join(backup, 'k1')
    assert res['state_file'] == os.path.join(rec, 'state.json')
    with open(res['state_file']) as f:
        state = json.load(f)
    assert state == {'previous': ORIG, 'installed': NEW, 'root': root, 'kept_copies': True}
    with open(os.path.join(rec, 'previous-packages.txt')) as f:
        assert f.read() == '\n'.join(ORIG) + '\n'
    for sub in ('', 'previous', 'new'):
        assert oct(os.stat(os.path.join(rec, sub)).st_mode & 0o777) == oct(0o700)
    for name in ('state.json', 'previous-packages.txt'):
        assert oct(os.stat(os.path.join(rec, name)).st_mode & 0o777) == oct(0o600)
    assert sorted(os.listdir(os.path.join(rec, 'previous'))) == sorted(os.path.basename(p) for p in rpms['orig'])

    # second run: rpm -q says installed, nothing changes
    before = snapshot(str(tmp_path))
    res = run_module(tmp_path, diff=True, **args)
    assert res['changed'] is False and res['reason'] == 'already installed' and res['installed'] == [], res
    assert res['previous'] == NEW and res['relabel_needed'] is False and 'diff' not in res
    assert snapshot(str(tmp_path)) == before

    # rollback: the originals from the kept copies, rpm -Uhv --oldpackage --replacepkgs --nodeps
    orig_args = dict(state='original', backup_dir=backup, root=root)
    res = run_module(tmp_path, check=True, diff=True, **orig_args)
    assert res['changed'] is True and res['reinstalled'] == ORIG, res
    assert res['diff']['after'] == '\n'.join(ORIG) + '\n'
    assert installed(root) == NEW and not os.path.exists(os.path.join(rec, 'rolled-back'))
    res = run_module(tmp_path, **orig_args)
    assert res['changed'] is True and res['reinstalled'] == ORIG and res['nodeps'] is True, res
    assert res['msg'] == '%s reinstalled (rpm -Uhv --oldpackage --replacepkgs --nodeps)' % ', '.join(ORIG)
    assert installed(root) == ORIG
    assert open(os.path.join(root, FC.lstrip('/'))).read() == fc_before
    with open(os.path.join(rec, 'rolled-back')) as f:
        assert f.read() == '\n'.join(ORIG) + '\n'
    res = run_module(tmp_path, **orig_args)
    assert res['changed'] is False and res['reinstalled'] == [] and not res.get('failed'), res

    # installing again after the rollback keeps the first record (the originals) as it was
    res = run_module(tmp_path, **args)
    assert res['changed'] is True and installed(root) == NEW, res
    with open(os.path.join(rec, 'previous-packages.txt')) as f:
        assert f.read() == '\n'.join(ORIG) + '\n'


def test_check_mode_changes_nothing(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    before = snapshot(str(tmp_path))
    res = run_module(tmp_path, check=True, diff=True, packages=files, backup_dir=backup, key='k1', root=root)
    assert res['changed'] is True and res['installed'] == NEW and res['reason'] == 'installed', res
    assert res['previous'] == ORIG and res['method'] == 'rpm' and res['nodeps'] is True
    assert res['file_contexts_changed'] is True  # from the package's sha256 file digest
    assert res['relabel_needed'] is (not runtime_state()['enabled'])  # SELinux off here: True
    assert res['msg'] == '(check mode) %s would be installed' % ', '.join(NEW)
    assert res['diff']['before'] == '\n'.join(ORIG) + '\n' and res['diff']['after'] == '\n'.join(NEW) + '\n'
    assert snapshot(str(tmp_path)) == before and installed(root) == ORIG

    # the files not on the host yet (the role's copy is skipped in check mode): named by their file names
    gone = [os.path.join(backup, 'k2', 'new', os.path.basename(p)) for p in rpms['new']]
    res = run_module(tmp_path, check=True, packages=gone, backup_dir=backup, key='k2', root=root)
    assert res['changed'] is True and res['installed'] == NEW and res['file_contexts_changed'] is None, res
    # nothing built yet (policy_build would build in this run)
    res = run_module(tmp_path, check=True, packages=[], backup_dir=backup, root=root)
    assert res['changed'] is True and res['installed'] == [] and 'would install' in res['msg'], res
    assert snapshot(str(tmp_path)) == before
    # outside check mode an empty list is refused
    assert 'no packages to install' in one_message(run_module(tmp_path, packages=[], backup_dir=backup, root=root))


def test_corrupt_rpm_one_message_root_unchanged(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    # truncated in the header, and truncated in the payload (rpm -qp still reads the header)
    for cut in (300, os.path.getsize(files[1]) - 200):
        with open(rpms['new'][1], 'rb') as f:
            data = f.read()
        with open(files[1], 'wb') as f:
            f.write(data[:cut])
        before = snapshot(str(tmp_path))
        for check in (True, False):
            msg = one_message(run_module(tmp_path, check=check, packages=files, backup_dir=backup, key='k1',
                                         root=root))
            assert files[1] in msg or 'corrupt' in msg, msg
            assert 'nothing was installed and nothing recorded' in msg, msg
        assert snapshot(str(tmp_path)) == before and installed(root) == ORIG
    with open(files[1], 'w') as f:
        f.write('not an rpm\n')
    msg = one_message(run_module(tmp_path, packages=files, backup_dir=backup, key='k1', root=root))
    assert msg.startswith('not usable binary RPMs: %s (' % files[1]), msg
    assert not os.path.exists(os.path.join(backup, 'k1', 'state.json'))


def test_rpm_that_does_not_install(tmp_path, rpms):
    """A %pre that fails: one message with rpm's words, no state.json, no record, root as it was."""
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms, 'bad')
    before = snapshot(root)
    res = run_module(tmp_path, packages=files, backup_dir=backup, key='k1', root=root)
    msg = one_message(res)
    assert msg.startswith('rpm -Uhv --nodeps of selinux-policy-1.0-1.perf2.noarch, '
                          'selinux-policy-targeted-1.0-1.perf2.noarch failed (rc '), msg
    assert 'scriptlet' in msg or '%pre' in msg, msg
    assert 'the installed packages are as they were (%s)' % ', '.join(ORIG) in msg, msg
    assert installed(root) == ORIG
    # every file as it was; rpm itself leaves an empty /var/tmp, made for the scriptlet it ran
    after = snapshot(root)
    assert {k: v for k, v in after.items() if k not in ('var', 'var/tmp')} == before, after
    rec = os.path.join(backup, 'k1')
    assert not os.path.exists(os.path.join(rec, 'state.json'))
    assert not os.path.exists(os.path.join(rec, 'previous-packages.txt'))
    # the plan sees no install of ours, and a rollback finds nothing to reinstall
    msg = one_message(run_module(tmp_path, state='original', backup_dir=backup, root=root))
    assert msg == ('no previous-packages.txt under %s; perfsec.selinux.policy_install never replaced the policy '
                   'here (nothing to reinstall: leave rollback_policy_packages off).' % backup)


def test_bad_paths_refused(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    before = snapshot(str(tmp_path))
    for check in (True, False):
        for args, what in ((dict(backup_dir='backup'), 'backup_dir ("backup")'),
                           (dict(backup_dir=backup, root='-root'), 'root ("-root")'),
                           (dict(backup_dir=backup, key='../x'), 'key "../x"')):
            a = dict(dict(packages=files, root=root), **args)
            msg = one_message(run_module(tmp_path, check=check, **a))
            assert msg.startswith(what), msg
        msg = one_message(run_module(tmp_path, check=check, state='original', backup_dir='rel/dir', root=root))
        assert msg.startswith('backup_dir ("rel/dir") must be an absolute path'), msg
    assert snapshot(str(tmp_path)) == before and installed(root) == ORIG
    msg = one_message(run_module(tmp_path, packages=['/nonexistent/x.rpm'], backup_dir=backup, root=root))
    assert msg == '/nonexistent/x.rpm not found on the host: copy the rebuilt RPMs there first. Nothing was changed.'


def test_rollback_without_records_or_copies(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    backup = os.path.join(str(tmp_path), 'backup')
    msg = one_message(run_module(tmp_path, state='original', backup_dir=backup, root=root))
    assert msg.startswith('no previous-packages.txt under %s;' % backup), msg
    # an install without copies of the originals (no dnf here, none given): warned, and the
    # rollback says where to get them
    backup, files = stage(tmp_path, rpms)
    res = run_module(tmp_path, packages=files, backup_dir=backup, key='k1', root=root)
    assert res['changed'] is True and res['kept_copies'] is False, res
    # ansible-core 2.19 returns warnings as objects, 2.16 as strings
    warned = json.dumps(res.get('warnings', []))
    assert 'could not keep copies of' in warned and 'rollback will need them from a repository' in warned, res
    with open(res['state_file']) as f:
        assert json.load(f)['kept_copies'] is False
    msg = one_message(run_module(tmp_path, state='original', backup_dir=backup, root=root))
    assert msg == ('the original packages (%s) were not kept as files; install them from a repository (dnf '
                   'downgrade / dnf install NAME-VERSION).' % ' '.join(ORIG)), msg
    assert installed(root) == NEW


def test_rollback_takes_the_oldest_record(tmp_path, rpms):
    """Two records (a later install under another key): the oldest names the originals, and
    every record directory is marked rolled back."""
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    res = run_module(tmp_path, packages=files, backup_dir=backup, key='k1', root=root,
                     previous_packages=list(rpms['orig']))
    assert res['changed'] is True, res
    later = os.path.join(backup, 'k0')
    os.makedirs(os.path.join(later, 'previous'))
    with open(os.path.join(later, 'previous-packages.txt'), 'w') as f:
        f.write('\n'.join(NEW) + '\n')
    res = run_module(tmp_path, state='original', backup_dir=backup, root=root, nodeps='always')
    assert res['changed'] is True and res['record'] == os.path.join(backup, 'k1', 'previous-packages.txt'), res
    assert installed(root) == ORIG
    for key in ('k0', 'k1'):
        with open(os.path.join(backup, key, 'rolled-back')) as f:
            assert f.read() == '\n'.join(ORIG) + '\n'


def test_documented_default_is_the_constant():
    """The documented backup_dir default is constants.POLICY_BACKUP_DIR, as the roles' defaults are
    (test_constants.py checks those)."""
    yaml = pytest.importorskip('yaml')  # the 3.6/3.7 lanes have no PyYAML
    from ansible_collections.perfsec.selinux.plugins.module_utils import constants, packages
    from ansible_collections.perfsec.selinux.plugins.modules import perf_policy_packages
    doc = yaml.safe_load(perf_policy_packages.DOCUMENTATION)
    assert doc['options']['backup_dir']['default'] == packages.POLICY_BACKUP_DIR == constants.POLICY_BACKUP_DIR


def test_record_dirs_made_root_only_when_already_installed(tmp_path, rpms):
    """The role's copy creates backup_dir/key/new with the default mode (0755): the module makes the
    record directories 0700 on the install and, when the packages are already installed, on its own
    (check mode only says so); a run after that changes nothing."""
    root = make_root(tmp_path, rpms)
    backup, files = stage(tmp_path, rpms)
    rec = os.path.join(backup, 'k1')
    args = dict(packages=files, backup_dir=backup, key='k1', root=root, method='rpm')
    res = run_module(tmp_path, **args)
    assert res['changed'] is True and installed(root) == NEW, res
    for sub in ('', 'previous', 'new'):
        os.chmod(os.path.join(rec, sub), 0o755)
    res = run_module(tmp_path, check=True, **args)
    assert res['changed'] is True and res['reason'] == 'already installed', res
    assert 'would make the record directories root-only (0700)' in res['msg']
    assert oct(os.stat(os.path.join(rec, 'new')).st_mode & 0o777) == oct(0o755)
    res = run_module(tmp_path, **args)
    assert res['changed'] is True and res['installed'] == [] and 'made the record directories' in res['msg'], res
    for sub in ('', 'previous', 'new'):
        assert oct(os.stat(os.path.join(rec, sub)).st_mode & 0o777) == oct(0o700)
    res = run_module(tmp_path, **args)
    assert res['changed'] is False and res['msg'] == '%s already installed' % ', '.join(NEW), res


# -- the action plugin, through ansible-playbook (the role perfsec.selinux.policy_install) ----------------------
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def run_play(tmp_path, tasks, check=False, diff=False):
    """ansible-playbook on a local connection (host1) with ``tasks``; the playbook is JSON (also YAML)."""
    if not os.path.exists(PLAYBOOK_BIN):
        pytest.skip('ansible-playbook is not installed in this lane (%s)' % sys.executable)
    tmp = str(tmp_path)
    inv = os.path.join(tmp, 'inventory.ini')
    with open(inv, 'w') as f:
        f.write('host1 ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    play = os.path.join(tmp, 'play.yml')
    with open(play, 'w') as f:
        json.dump([{'name': 'P', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}], f)
    env = dict(os.environ, LC_ALL='C.UTF-8', LANG='C.UTF-8', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'), ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'ansible-tmp'))
    cmd = [PLAYBOOK_BIN, '-i', inv, play] + (['--check'] if check else []) + (['--diff'] if diff else [])
    proc = subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def recap(out):
    m = re.search(r'^host1\s+:\s+(ok=.*)$', out, re.M)
    assert m, out
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(1))}


def role_tasks(root, backup, rpms_new, rpms_prev, **more):
    """The role with the controller paths, then what it registered (one line each)."""
    v = dict(policy_install_root=root, policy_install_backup_dir=backup, policy_install_method='rpm',
             policy_build_result={'key': 'k1', 'controller_rpms': rpms_new}, policy_install_previous_rpms=rpms_prev)
    v.update(more)
    return [{'name': 'Install', 'ansible.builtin.include_role': {'name': 'perfsec.selinux.policy_install'}, 'vars': v},
            {'name': 'Result', 'ansible.builtin.debug': {
                'msg': 'RESULT reason={{ policy_install_result.reason }} copied={{ policy_install_result.copied '
                       '| map("basename") | join(",") }}'}}]


def controller_files(tmp_path, rpms):
    """Copies of the test RPMs in a controller directory (a test may remove one)."""
    d = os.path.join(str(tmp_path), 'controller')
    os.makedirs(d)
    out = {}
    for which in ('new', 'orig'):
        out[which] = []
        for p in rpms[which]:
            shutil.copy(p, d)
            out[which].append(os.path.join(d, os.path.basename(p)))
    return out


def mode(path):
    return oct(os.stat(path).st_mode & 0o777)


@pytest.mark.slow
def test_role_action_plugin_check_then_install_then_nothing(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    ctl = controller_files(tmp_path, rpms)
    backup = os.path.join(str(tmp_path), 'backup')
    rec = os.path.join(backup, 'k1')
    tasks = role_tasks(root, backup, ctl['new'], ctl['orig'])
    names = sorted(os.path.basename(p) for p in ctl['new'] + ctl['orig'])

    # check mode: nothing copied, nothing installed; says what it would copy and install
    rc, out = run_play(tmp_path, tasks, check=True, diff=True)
    assert rc == 0, out
    assert not os.path.exists(backup) and installed(root) == ORIG
    assert recap(out)['changed'] == 1, out
    assert 'RESULT reason=installed copied=%s' % ','.join(os.path.basename(p) for p in ctl['new'] + ctl['orig']) in out
    assert ('policy_install: (check mode) %s would be installed on host1; where SELinux is enabled the packages\' '
            '%%post loads the new policy live' % ', '.join(NEW)) in out, out
    # the diff: the files to copy (in the order of the copy), then the module's rpm -qa before and after
    listed = ''.join('+%s/%s\n' % (sub, os.path.basename(p)) for sub, files in (('new', ctl['new']), ('previous', ctl['orig']))
                     for p in files)
    assert '--- before: %s (copied from the controller)\n' % rec in out and listed in out, out
    assert out.index(listed) < out.index('--- before: selinux-policy* (rpm -qa)') and 'binary' not in out, out

    # first run: copies (new/ and previous/, 0600; the record directories 0700) and installs
    rc, out = run_play(tmp_path, tasks)
    assert rc == 0, out
    assert recap(out)['changed'] == 1 and installed(root) == NEW, out
    assert ('"policy_install: %s installed (rpm -Uhv --nodeps) on host1; where SELinux is enabled the packages\' '
            '%%post loads the new policy live (load_policy, changed file contexts relabelled); where it is not, the '
            'next boot loads it (perfsec.selinux.relabel)."' % ', '.join(NEW)) in out, out
    assert sorted(os.listdir(os.path.join(rec, 'new'))) == sorted(os.path.basename(p) for p in ctl['new'])
    assert sorted(os.listdir(os.path.join(rec, 'previous'))) == sorted(os.path.basename(p) for p in ctl['orig'])
    for sub in ('', 'previous', 'new'):
        assert mode(os.path.join(rec, sub)) == oct(0o700)
    for sub in ('previous', 'new'):
        for n in os.listdir(os.path.join(rec, sub)):
            assert mode(os.path.join(rec, sub, n)) == oct(0o600)
    with open(os.path.join(rec, 'state.json')) as f:
        assert json.load(f) == {'previous': ORIG, 'installed': NEW, 'root': root, 'kept_copies': True}

    # second run, and its check mode: nothing changes, nothing copied, no report
    before = snapshot(str(tmp_path))
    for check in (True, False):
        rc, out = run_play(tmp_path, tasks, check=check, diff=True)
        assert rc == 0, out
        assert recap(out)['changed'] == 0 and '"RESULT reason=already installed copied="' in out, out
        assert 'policy_install: ' not in out
    assert {k: v for k, v in snapshot(str(tmp_path)).items() if not k.startswith('ansible-tmp')} == \
        {k: v for k, v in before.items() if not k.startswith('ansible-tmp')}

    # a rebuilt package changed on the controller is copied again (force); a previous/ copy is never replaced
    with open(ctl['orig'][0], 'ab') as f:
        f.write(b'x')
    with open(os.path.join(rec, 'new', os.path.basename(ctl['new'][0])), 'ab') as f:
        f.write(b'x')
    rc, out = run_play(tmp_path, tasks)
    assert rc == 0 and recap(out)['changed'] == 1, out
    assert 'RESULT reason=already installed copied=%s' % os.path.basename(ctl['new'][0]) in out, out
    with open(os.path.join(rec, 'new', os.path.basename(ctl['new'][0])), 'rb') as f, open(rpms['new'][0], 'rb') as g:
        assert f.read() == g.read()
    with open(os.path.join(rec, 'previous', os.path.basename(ctl['orig'][0])), 'rb') as f, \
            open(rpms['orig'][0], 'rb') as g:
        assert f.read() == g.read()
    assert sorted(os.listdir(os.path.join(rec, 'new')) + os.listdir(os.path.join(rec, 'previous'))) == names

    # no controller paths (perfsec.selinux.rollback's task): the module as it is, through the action plugin
    rc, out = run_play(tmp_path, [{'name': 'Rollback', 'perfsec.selinux.perf_policy_packages': {
        'state': 'original', 'backup_dir': backup, 'root': root}, 'register': 'r'},
        {'name': 'Said', 'ansible.builtin.debug': {'msg': 'SAID {{ r.msg }} copied={{ r.copied | default("none") }}'}}])
    assert rc == 0 and recap(out)['changed'] == 1 and installed(root) == ORIG, out
    assert 'SAID %s reinstalled (rpm -Uhv --oldpackage --replacepkgs --nodeps) copied=none' % ', '.join(ORIG) in out


@pytest.mark.slow
def test_role_action_plugin_refusals_leave_the_host_alone(tmp_path, rpms):
    root = make_root(tmp_path, rpms)
    ctl = controller_files(tmp_path, rpms)
    backup = os.path.join(str(tmp_path), 'backup')
    gone = os.path.join(str(tmp_path), 'controller', 'selinux-policy-gone.noarch.rpm')
    before = snapshot(root)

    def fatal(tasks, check=False):
        rc, out = run_play(tmp_path, tasks, check=check)
        lines = [x for x in out.splitlines() if x.startswith('fatal:')]
        assert rc != 0 and len(lines) == 1, out
        assert recap(out)['changed'] == 0, out
        assert not os.path.exists(backup) and snapshot(root) == before and installed(root) == ORIG
        res = json.loads(lines[0].split(' => ', 1)[1])
        assert res['changed'] is False and res.get('copied', []) == [], res  # copied nowhere else either
        return res['msg']

    # a controller file missing (of the rebuilt ones, or of the previous ones): one message, nothing copied
    for check in (False, True):
        line = fatal(role_tasks(root, backup, ctl['new'] + [gone], ctl['orig']), check=check)
        assert line == 'src_packages: %s not found on the controller. Nothing was copied and nothing installed.' % gone
    line = fatal(role_tasks(root, backup, ctl['new'], [gone] + ctl['orig']))
    assert line == 'src_previous_packages: %s not found on the controller. Nothing was copied and nothing installed.' \
        % gone, line
    # an empty list outside check mode: policy_install's message; in check mode, would install
    line = fatal(role_tasks(root, backup, [], ctl['orig']))
    assert line == ('No RPMs to install: run perfsec.selinux.policy_build first in the same play (it sets '
                    'policy_build_result) or set policy_install_rpms to the rebuilt selinux-policy RPMs.'), line
    rc, out = run_play(tmp_path, role_tasks(root, backup, [], ctl['orig']), check=True)
    assert rc == 0 and recap(out)['changed'] == 1 and 'would install the rebuilt packages (none given' in out, out
    assert not os.path.exists(backup)
    # a relative backup directory or root: nothing copied, the module's refusal is the one message
    line = fatal(role_tasks(root, 'rel/backup', ctl['new'], ctl['orig']))
    assert line.startswith('backup_dir ("rel/backup") must be an absolute path'), line
    assert not os.path.exists(os.path.join(str(tmp_path), 'rel'))
    line = fatal(role_tasks('rel-root', backup, ctl['new'], ctl['orig']))
    assert line.startswith('root ("rel-root") must be an absolute path'), line
    # an empty backup directory or key (not the module's defaults): nothing copied there either
    line = fatal(role_tasks(root, '', ctl['new'], ctl['orig']))
    assert line.startswith('backup_dir ("") must be an absolute path'), line
    line = fatal(role_tasks(root, backup, ctl['new'], ctl['orig'],
                            policy_build_result={'key': '../k', 'controller_rpms': ctl['new']}))
    assert line.startswith('key "../k" must be one directory name'), line
    assert not os.path.exists(os.path.join(str(tmp_path), 'k'))
    # controller paths with state original
    line = fatal([{'name': 'Bad', 'perfsec.selinux.perf_policy_packages': {
        'state': 'original', 'backup_dir': backup, 'root': root, 'src_packages': ctl['new']}}])
    assert line.startswith('src_packages and src_previous_packages go with state rebuilt'), line


def test_module_alone_refuses_controller_paths(tmp_path, rpms):
    """Run without its action plugin (as here), the module refuses src_packages: they are controller paths."""
    root = make_root(tmp_path, rpms)
    backup = os.path.join(str(tmp_path), 'backup')
    before = snapshot(str(tmp_path))
    for opt in ('src_packages', 'src_previous_packages'):
        msg = one_message(run_module(tmp_path, backup_dir=backup, root=root, packages=['/x.rpm'], **{opt: ['/a.rpm']}))
        assert msg.startswith('src_packages and src_previous_packages are controller paths'), msg
    assert snapshot(str(tmp_path)) == before and installed(root) == ORIG
