"""perf_policy_patch: run as Ansible runs it (a subprocess with an args file) on fixture trees.

The two compile tests build real monolithic policies with refpolicy's Makefile and
checkpolicy (about 20 s each on 2 cores, once: cached under .cache/policy/builds by tree
content) and read them back with seinfo.
"""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'policy')
MODULE = os.path.join(ROOT, 'plugins', 'modules', 'perf_policy_patch.py')
sys.path.insert(0, FIXTURES)
import fc31tree  # noqa: E402

PERF = ['open', 'cpu', 'kernel', 'tracepoint', 'read', 'write']
AV = os.path.join('policy', 'flask', 'access_vectors')
SC = os.path.join('policy', 'flask', 'security_classes')


def run_module(tmp_path, check=False, diff=False, **args):
    args = dict(args)
    args['_ansible_check_mode'] = check
    args['_ansible_diff'] = diff
    argfile = os.path.join(str(tmp_path), 'args.json')
    with open(argfile, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LC_ALL='C.UTF-8')
    proc = subprocess.run([sys.executable, MODULE, argfile], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          universal_newlines=True, env=env)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('module output is not JSON: %s\n%s' % (proc.stdout, proc.stderr))


def _cached(fn):
    try:
        return fn()
    except fc31tree.FixtureUnavailable as e:
        pytest.skip(str(e))


def _copy(src, dest):
    shutil.copytree(src, dest, symlinks=True)
    return dest


def _read(root, rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()


@pytest.fixture
def fc31_copy(tmp_path):
    """Just the flask files of the Fedora-31-like tree (all the module reads); cheap to copy."""
    dest = os.path.join(str(tmp_path), 'selinux-policy-fc31')
    _copy(os.path.join(_cached(fc31tree.fc31_tree), 'policy', 'flask'), os.path.join(dest, 'policy', 'flask'))
    return dest


def test_check_mode_reports_and_writes_nothing(tmp_path, fc31_copy):
    before = (_read(fc31_copy, AV), _read(fc31_copy, SC))
    pfile = os.path.join(str(tmp_path), 'perf.patch')
    res = run_module(tmp_path, check=True, diff=True, path=fc31_copy, patch_file=pfile)
    assert res['changed'] is True, res
    assert [c['class'] for c in res['added_classes']] == ['perf_event']
    assert res['added_permissions'] == [{'class': 'capability2', 'permission': 'perfmon', 'block': 'common cap2'}]
    assert '+\tperfmon\n' in res['patch'] and '+class perf_event\n' in res['patch']
    assert len(res['diff']) == 2 and 'class perf_event' in res['diff'][0]['after']
    assert (_read(fc31_copy, AV), _read(fc31_copy, SC)) == before
    assert not os.path.exists(pfile)


def test_fc31_adds_then_second_run_is_unchanged(tmp_path, fc31_copy):
    pfile = os.path.join(str(tmp_path), 'selinux-policy-perf-events-perfmon.patch')
    orig = _copy(fc31_copy, os.path.join(str(tmp_path), 'orig'))
    res = run_module(tmp_path, path=fc31_copy, patch_file=pfile)
    assert res['changed'] is True and not res.get('failed'), res
    assert sorted(res['changed_files']) == sorted([os.path.join(fc31_copy, AV), os.path.join(fc31_copy, SC)])
    assert stat.S_IMODE(os.stat(pfile).st_mode) == 0o600
    with open(pfile) as f:
        assert f.read() == res['patch']
    # the patch file is the same change: it applies to the untouched tree and gives the same files
    subprocess.run(['patch', '-p1', '-s', '-i', pfile], cwd=orig, check=True)
    for rel in (AV, SC):
        assert _read(orig, rel) == _read(fc31_copy, rel)
    mtime = os.stat(pfile).st_mtime
    again = run_module(tmp_path, diff=True, path=fc31_copy, patch_file=pfile)
    assert again['changed'] is False and again['patch'] == '' and again['diff'] == [], again
    assert again['added_classes'] == [] and again['added_permissions'] == []
    assert os.stat(pfile).st_mtime == mtime


def test_debian_stock_tree_is_unchanged(tmp_path):
    stock = _copy(os.path.join(_cached(fc31tree.stock_tree), 'policy', 'flask'),
                  os.path.join(str(tmp_path), 'stock', 'policy', 'flask'))
    stock = os.path.dirname(os.path.dirname(stock))
    res = run_module(tmp_path, path=stock, extra_permissions={'capability2': ['bpf', 'checkpoint_restore']})
    assert res['changed'] is False and res['changed_files'] == [], res


def test_extra_options(tmp_path, fc31_copy):
    res = run_module(tmp_path, path=fc31_copy, perf_event=False,
                     extra_permissions={'capability2': 'mac_admin, newcap'},
                     extra_classes={'perfsec_demo': ['alpha', 'beta']})
    assert res['changed'] is True, res
    assert [p['permission'] for p in res['added_permissions']] == ['perfmon', 'newcap']
    assert res['added_classes'] == [{'class': 'perfsec_demo', 'permissions': ['alpha', 'beta']}]
    assert 'perf_event' not in _read(fc31_copy, SC)


@pytest.mark.parametrize('args,needle', [
    ({'extra_classes': {'bad-name': ['x']}}, 'not a valid SELinux class/permission name'),
    ({'extra_permissions': {'capability2': []}}, 'non-empty list'),
])
def test_bad_options(tmp_path, fc31_copy, args, needle):
    res = run_module(tmp_path, path=fc31_copy, **args)
    assert res.get('failed') and needle in res['msg'], res


def test_garbage_flask_file_fails_cleanly(tmp_path, fc31_copy):
    with open(os.path.join(fc31_copy, AV), 'a') as f:
        f.write('class broken\n{\n\topen\n')
    before = _read(fc31_copy, SC)
    pfile = os.path.join(str(tmp_path), 'p.patch')
    res = run_module(tmp_path, path=fc31_copy, patch_file=pfile)
    assert res.get('failed') and res.get('changed') is False, res
    assert 'access_vectors:' in res['msg'] and "unterminated '{' of class broken" in res['msg'], res['msg']
    assert 'Nothing was changed' in res['msg']
    assert res['line'] > 1000 and res['file'].endswith(AV)
    assert _read(fc31_copy, SC) == before and not os.path.exists(pfile)


def test_not_a_tree(tmp_path):
    res = run_module(tmp_path, path=str(tmp_path))
    assert res.get('failed') and 'missing flask file' in res['msg'] and 'rpmbuild -bp' in res['msg'], res
    res = run_module(tmp_path, path=os.path.join(str(tmp_path), 'nope'))
    assert res.get('failed') and 'not a directory' in res['msg'], res


# -- real compiles (cached) -----------------------------------------------------------------
def _seinfo_class(policy, cls, kind='-c'):
    out = subprocess.run(['seinfo', policy, '-x', kind, cls], stdout=subprocess.PIPE, check=True,
                         stderr=subprocess.STDOUT, universal_newlines=True).stdout
    return out


def _perms(seinfo_out):
    body = seinfo_out.split('{', 1)[1].split('}', 1)[0] if '{' in seinfo_out else ''
    return sorted(body.split())


needs_tools = pytest.mark.skipif(not (shutil.which('checkpolicy') and shutil.which('seinfo')
                                      and shutil.which('make') and shutil.which('m4')),
                                 reason='checkpolicy/seinfo/make/m4 not installed')


@needs_tools
def test_fc31_like_tree_compiles_without_perf_event():
    """The fixture is what it claims: a valid policy without class perf_event or perfmon."""
    policy = fc31tree.compile_tree(_cached(fc31tree.fc31_tree))
    assert 'Classes: 0' in _seinfo_class(policy, 'perf_event')
    cap2 = _seinfo_class(policy, 'cap2', '--common')
    assert 'audit_read' in _perms(cap2) and 'perfmon' not in _perms(cap2), cap2


@needs_tools
def test_patched_fc31_like_tree_compiles_with_perf_event(tmp_path):
    fc31_copy = _copy(_cached(fc31tree.fc31_tree), os.path.join(str(tmp_path), 'selinux-policy-fc31'))
    res = run_module(tmp_path, path=fc31_copy)
    assert res['changed'] is True, res
    try:
        policy = fc31tree.compile_tree(fc31_copy)
    except subprocess.CalledProcessError as e:
        raise AssertionError('patched tree does not compile:\n%s' % e.output)
    out = _seinfo_class(policy, 'perf_event')
    assert 'Classes: 1' in out, out
    assert _perms(out) == sorted(PERF)
    # capability2 and cap2_userns both inherit common cap2
    assert 'inherits cap2' in _seinfo_class(policy, 'capability2')
    assert 'perfmon' in _perms(_seinfo_class(policy, 'cap2', '--common'))


# -- issue 13: recoverable writes (finding 4), bounded input and output (finding 8) ---------------
SMALL_AV = ('common cap2\n{\n\tsyslog\n\taudit_read\n}\n\nclass capability2\ninherits cap2\n\n'
            'class file\n{\n\tread\n}\n')
SMALL_SC = 'class capability2\nclass file\n'


def _small_tree(tmp_path, av=SMALL_AV, sc=SMALL_SC, name='tree'):
    root = os.path.join(str(tmp_path), name)
    os.makedirs(os.path.join(root, 'policy', 'flask'))
    for rel, text in ((AV, av), (SC, sc)):
        with open(os.path.join(root, rel), 'wb') as f:
            f.write(text.encode('utf-8'))
    return root


def _run_inproc(capsys, **args):
    """main() in this process, so that a test can make one file's replacement fail."""
    from helpers import run_module as run_main
    from ansible_collections.perfsec.selinux.plugins.modules import perf_policy_patch as mod
    return run_main(mod.main, capsys, **args)


def _failing_rename(monkeypatch, fail):
    """os.rename raising EPERM (as for an immutable file) for destinations in ``fail``;
    ``fail`` maps a path to how many renames onto it succeed first."""
    real_rename = os.rename
    left = dict(fail)

    def rename(src, dst, *a, **kw):
        d = os.path.abspath(os.fsdecode(dst))
        if d in left:
            if left[d] <= 0:
                raise OSError(1, 'Operation not permitted', d)
            left[d] -= 1
        return real_rename(src, dst, *a, **kw)
    monkeypatch.setattr(os, 'rename', rename)


def _flask_dir_listing(root):
    return sorted(os.listdir(os.path.join(root, 'policy', 'flask')))


def test_failure_on_second_file_restores_the_first(tmp_path, capsys, monkeypatch):
    root = _small_tree(tmp_path)
    _failing_rename(monkeypatch, {os.path.join(root, SC): 0})
    res = _run_inproc(capsys, path=root)
    assert res.get('failed') and res['changed'] is False, res
    assert 'cannot replace %s' % os.path.join(root, SC) in res['msg'], res['msg']
    assert 'nothing was changed' in res['msg']
    assert _read(root, AV) == SMALL_AV and _read(root, SC) == SMALL_SC
    assert _flask_dir_listing(root) == ['access_vectors', 'security_classes']   # no temp files left
    monkeypatch.undo()
    # the tree is whole: the next run patches it
    again = _run_inproc(capsys, path=root)
    assert again['changed'] is True and not again.get('failed'), again
    assert 'perfmon' in _read(root, AV) and 'perf_event' in _read(root, SC)


def test_failed_restore_reports_changed_and_the_half_written_file(tmp_path, capsys, monkeypatch):
    root = _small_tree(tmp_path)
    # the first rename onto access_vectors (the patch) works, the second (the restore) fails
    _failing_rename(monkeypatch, {os.path.join(root, SC): 0, os.path.join(root, AV): 1})
    res = _run_inproc(capsys, path=root)
    assert res.get('failed') and res['changed'] is True, res
    assert res['changed_files'] == [os.path.join(root, AV)]
    assert 'half patched' in res['msg'] and 'restoring %s failed' % os.path.join(root, AV) in res['msg']
    assert _flask_dir_listing(root) == ['access_vectors', 'security_classes']


def test_patch_file_failure_rolls_the_tree_back(tmp_path, capsys, monkeypatch):
    root = _small_tree(tmp_path)
    pfile = os.path.join(str(tmp_path), 'perf.patch')
    _failing_rename(monkeypatch, {pfile: 0})
    res = _run_inproc(capsys, path=root, patch_file=pfile)
    assert res.get('failed') and res['changed'] is False, res
    assert _read(root, AV) == SMALL_AV and _read(root, SC) == SMALL_SC and not os.path.exists(pfile)
    assert sorted(os.listdir(str(tmp_path))) == ['tree']


def test_files_keep_their_mode(tmp_path, capsys):
    root = _small_tree(tmp_path)
    os.chmod(os.path.join(root, AV), 0o640)
    res = _run_inproc(capsys, path=root)
    assert res['changed'] is True
    assert stat.S_IMODE(os.stat(os.path.join(root, AV)).st_mode) == 0o640


def test_50mb_flask_file_is_refused_with_a_message(tmp_path):
    av = SMALL_AV.replace('\taudit_read\n', '\taudit_read\t# ' + 'x' * (50 * 1024 * 1024) + '\n')
    root = _small_tree(tmp_path, av=av)
    res = run_module(tmp_path, path=root)
    assert res.get('failed') and res['changed'] is False, {k: str(v)[:200] for k, v in res.items()}
    assert 'larger than 4 MiB' in res['msg'] and res['file'].endswith(AV)
    assert len(json.dumps(res)) < 10000


def test_large_patch_is_left_out_of_the_result_but_written(tmp_path):
    # under the input cap, but the edited line carries a 2 MB comment: the diff has it twice
    av = SMALL_AV.replace('common cap2\n{\n\tsyslog\n\taudit_read\n}\n',
                          'common cap2 { syslog audit_read }\t# ' + 'x' * (2 * 1024 * 1024) + '\n')
    root = _small_tree(tmp_path, av=av)
    pfile = os.path.join(str(tmp_path), 'perf.patch')
    res = run_module(tmp_path, path=root, patch_file=pfile)
    assert res['changed'] is True and not res.get('failed'), {k: str(v)[:200] for k, v in res.items()}
    assert res['patch'] == '' and res['patch_omitted'] is True and res['patch_size'] > 4 * 1024 * 1024
    with open(pfile) as f:
        assert len(f.read()) == res['patch_size']
    small = run_module(tmp_path, check=True, path=_small_tree(tmp_path, name='small'))
    assert small['patch_omitted'] is False and len(small['patch']) == small['patch_size'] > 0


def test_extra_permissions_string_splits_on_ascii_only(tmp_path):
    root = _small_tree(tmp_path)
    res = run_module(tmp_path, path=root, extra_permissions={'capability2': 'bpf\xa0newcap'})
    assert res.get('failed') and 'not a valid SELinux class/permission name' in res['msg'], res
    assert _read(root, AV) == SMALL_AV
