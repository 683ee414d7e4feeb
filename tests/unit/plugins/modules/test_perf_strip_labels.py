"""perf_strip_labels (rollback's last level) against real security.selinux extended attributes
on this machine's file system (root can set them where no LSM claims them): check mode counts,
a real run removes, a second run changes nothing; the refusals leave every label in place."""
import os
import shutil
import subprocess

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import labels
from ansible_collections.perfsec.selinux.plugins.modules import perf_strip_labels

from helpers import run_module, write_file

LABEL = b'system_u:object_r:user_home_t:s0\x00'
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='security.* attributes need root')


def labelled_tree(base):
    paths = [base]
    for rel in ('a', 'd/b', 'd/e/c'):
        write_file(os.path.join(base, rel), 'x\n')
    paths += [os.path.join(base, p) for p in ('a', 'd', 'd/b', 'd/e', 'd/e/c')]
    os.symlink('a', os.path.join(base, 'link'))
    paths.append(os.path.join(base, 'link'))
    write_file(os.path.join(base, 'unlabelled'), '')
    for p in paths:
        os.setxattr(p, labels.XATTR, LABEL, follow_symlinks=False)
    return paths


def count(paths):
    n = 0
    for p in paths:
        try:
            os.getxattr(p, labels.XATTR, follow_symlinks=False)
            n += 1
        except OSError:
            pass
    return n


def run(capsys, check=False, **kw):
    kw.setdefault('confirm', labels.CONFIRM)
    return run_module(perf_strip_labels.main, capsys, check=check, **kw)


def test_check_then_strip_then_nothing(tmp_path, capsys):
    base = str(tmp_path / 't')
    paths = labelled_tree(base)
    r = run(capsys, check=True, paths=[base])
    assert r['changed'] is True and r['labelled'] == 7 and r['removed'] == 0 and count(paths) == 7
    assert r['msg'] == 'would remove 7 of 7 labels on %s' % base
    r = run(capsys, paths=[base])
    assert r['changed'] is True and r['labelled'] == 7 and r['removed'] == 7 and r['error_count'] == 0
    assert count(paths) == 0 and os.readlink(os.path.join(base, 'link')) == 'a'
    again = run(capsys, paths=[base])
    assert again['changed'] is False and again['labelled'] == 0


def test_refusals_leave_the_labels(tmp_path, capsys, monkeypatch):
    base = str(tmp_path / 't')
    paths = labelled_tree(base)
    r = run(capsys, paths=[base], confirm='yes')
    assert r['failed'] is True and 'Set confirm to exactly "%s"' % labels.CONFIRM in r['msg']
    r = run(capsys, paths=['relative/dir'])
    assert r['failed'] is True and 'paths must be absolute' in r['msg']
    monkeypatch.setattr(perf_strip_labels, 'runtime_state', lambda fs: {'enabled': True})
    r = run(capsys, paths=[base])
    assert r['failed'] is True and 'the running kernel has SELinux enabled' in r['msg']
    assert count(paths) == 7
    r = run(capsys, check=True, paths=[base])                  # a check run before the reboot counts
    assert r['changed'] is True and r['labelled'] == 7
    r = run(capsys, paths=[base], ignore_selinux_state=True)
    assert r['removed'] == 7 and count(paths) == 0


@pytest.mark.skipif(shutil.which('chattr') is None, reason='no chattr')
def test_a_label_that_cannot_be_removed_is_counted(tmp_path, capsys):
    base = str(tmp_path / 't')
    paths = labelled_tree(base)
    stuck = os.path.join(base, 'd/b')
    if subprocess.run(['chattr', '+i', stuck], check=False).returncode != 0:
        pytest.skip('file system without the immutable flag')
    try:
        r = run(capsys, paths=[base])
    finally:
        subprocess.run(['chattr', '-i', stuck], check=True)
    assert r['labelled'] == 7 and r['removed'] == 6 and r['error_count'] == 1
    assert r['errors'][0].startswith(stuck + ': ') and count(paths) == 1


def test_local_mounts_from_proc_mounts():
    text = ('/dev/vda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/vdb /srv/my\\040data xfs rw 0 0\n'
            'tmpfs /tmp tmpfs rw 0 0\n/dev/vda1 / ext4 rw 0 0\n/dev/vdc /boot btrfs rw 0 0\n')
    assert labels.local_mounts(text) == ['/', '/srv/my data', '/boot']
    assert labels.local_mounts(text, ['tmpfs']) == ['/tmp']
