"""perf_users: the group, its members, the directory, the copy of perf and its file capabilities,
against the real tools (groupadd, gpasswd, groupdel, getcap, setcap) on this machine. Each test
uses a throwaway group and throwaway system users with unique names, removed afterwards; the
directory is under the test's tmp dir and the "perf" is a copy of /bin/true (an ELF). The pure
parts (names, paths, getcap parsing, the capabilities the binary ends up with) row by row."""
import grp
import hashlib
import itertools
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import perfusers as pu
from ansible_collections.perfsec.selinux.plugins.modules import perf_users as mod

from helpers import run_module, write_file

TOOLS = ('groupadd', 'groupdel', 'gpasswd', 'useradd', 'userdel', 'getcap', 'setcap')
real = pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(t) for t in TOOLS),
                          reason='needs root and groupadd/gpasswd/useradd/getcap/setcap')
COUNTER = itertools.count()


def unique(prefix):
    return '%s%d_%d' % (prefix, os.getpid() % 100000, next(COUNTER))


def proc(base, cap_last=40, paranoid=2):
    write_file(os.path.join(base, 'proc/sys/kernel/osrelease'), '6.1.0-27-amd64\n')
    write_file(os.path.join(base, 'proc/sys/kernel/cap_last_cap'), '%d\n' % cap_last)
    write_file(os.path.join(base, 'proc/sys/kernel/perf_event_paranoid'), '%d\n' % paranoid)
    return os.path.join(base, 'proc')


def getcap(path):
    out = subprocess.check_output(['getcap', path]).decode()
    return sorted(pu.parse_getcap(out, path))


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def group_members(name):
    try:
        return grp.getgrnam(name).gr_mem
    except KeyError:
        return None


@pytest.fixture
def host(tmp_path):
    """A throwaway group name (not created), two existing users, a perf dir and an ELF source."""
    group = unique('pfu_g')
    users = [unique('pfu_u'), unique('pfu_u')]
    for u in users:
        subprocess.check_call(['useradd', '-r', '-M', '-N', '-s', '/usr/sbin/nologin', u])
    src = str(tmp_path / 'src' / 'perf')
    os.makedirs(os.path.dirname(src))
    shutil.copy('/bin/true', src)
    h = dict(group=group, users=users, src=src, dir=str(tmp_path / 'opt' / 'perf_users'),
             proc=proc(str(tmp_path)))
    try:
        yield h
    finally:
        for u in users:
            subprocess.call(['userdel', u])
        if group_members(group) is not None:
            subprocess.call(['groupdel', group])


def run(capsys, h, check=False, diff=False, **kw):
    args = dict(group=h['group'], members=h['users'], dir=h['dir'], source=h['src'], proc_root=h['proc'],
                capabilities=['cap_perfmon', 'cap_sys_ptrace', 'cap_syslog'])
    args.update(kw)
    return run_module(mod.main, capsys, check=check, diff=diff, **args)


def state(h):
    """What is on disk and in /etc/group for this host."""
    perf = os.path.join(h['dir'], 'perf')
    out = {'members': group_members(h['group']), 'dir': os.path.exists(h['dir']), 'perf': os.path.exists(perf)}
    with open('/etc/group', 'rb') as f:
        out['etc_group'] = hashlib.sha256(f.read()).hexdigest()
    if out['perf']:
        st = os.stat(perf)
        out.update(sha=sha(perf), mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid, caps=getcap(perf))
    return out


WANT = [('cap_perfmon', '=ep'), ('cap_sys_ptrace', '=ep'), ('cap_syslog', '=ep')]


@real
def test_first_run_sets_everything_up_second_changes_nothing(capsys, host):
    r = run(capsys, host)
    assert r.get('failed') is not True, r
    g = host['group']
    assert r['changed'] is True
    assert r['actions'] == ['groupadd -r %s' % g] + ['gpasswd -a %s %s' % (u, g) for u in host['users']] + [
        'mkdir %s' % host['dir'], 'copy %s to %s/perf' % (host['src'], host['dir']),
        'setcap cap_perfmon=ep cap_sys_ptrace=ep cap_syslog=ep %s/perf' % host['dir']]
    entry = grp.getgrnam(g)
    assert entry.gr_gid < 1000 and sorted(entry.gr_mem) == sorted(host['users'])    # a system group
    st = os.stat(host['dir'])
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, entry.gr_gid, 0o750)
    s = state(host)
    assert (s['uid'], s['gid'], s['mode'], s['sha'], s['caps']) == (0, entry.gr_gid, 0o750, sha(host['src']), WANT)
    assert os.listdir(host['dir']) == ['perf']                                      # no temporary file left
    assert r['gid'] == entry.gr_gid and r['sha256'] == sha(host['src']) and r['copied'] is True
    assert r['source'] == host['src'] and r['capabilities'] == ['cap_perfmon', 'cap_sys_ptrace', 'cap_syslog']
    assert 'cap_sys_admin' in r['remove'] and r['file_capabilities'] == 'cap_perfmon,cap_sys_ptrace,cap_syslog=ep'

    r2 = run(capsys, host)
    assert r2['changed'] is False and r2['actions'] == [] and r2['copied'] is False, r2
    assert state(host) == s
    r3 = run(capsys, host, check=True)
    assert r3['changed'] is False and r3['actions'] == []


@real
def test_check_mode_changes_nothing_and_predicts(capsys, host):
    before = state(host)
    r = run(capsys, host, check=True, diff=True)
    assert r.get('failed') is not True, r
    assert r['changed'] is True and r['gid'] is None and r['actions'][0] == 'groupadd -r %s' % host['group']
    assert r['actions'][-1].startswith('setcap cap_perfmon=ep') and r['copied'] is True
    assert state(host) == before and before['members'] is None and not before['dir']
    assert 'group %s: absent' % host['group'] in r['diff']['before']
    assert 'group %s: gid (new), members %s' % (host['group'], ','.join(host['users'])) in r['diff']['after']
    # the real run does what check mode said
    r2 = run(capsys, host)
    assert r2['actions'] == r['actions']


@real
def test_diff_shows_members_checksum_and_capabilities(capsys, host):
    run(capsys, host, members=host['users'][:1])
    r = run(capsys, host, diff=True)
    assert r['changed'] is True and r['actions'] == ['gpasswd -a %s %s' % (host['users'][1], host['group'])]
    d = r['diff']
    assert 'members %s\n' % host['users'][0] in d['before'] and 'members %s\n' % ','.join(host['users']) in d['after']
    assert 'sha256 %s, capabilities cap_perfmon,cap_sys_ptrace,cap_syslog=ep' % sha(host['src']) in d['after']
    # a perf upgrade: new content, copied again, capabilities set again on the new file
    with open(host['src'], 'ab') as f:
        f.write(b'\0upgrade')
    old = sha(os.path.join(host['dir'], 'perf'))
    r = run(capsys, host, diff=True)
    assert r['changed'] is True and r['copied'] is True and r['sha256'] == sha(host['src']) != old
    assert r['actions'][-1].startswith('setcap ') and state(host)['caps'] == WANT
    assert 'sha256 %s' % old in r['diff']['before'] and 'sha256 %s' % sha(host['src']) in r['diff']['after']


@real
def test_capabilities_semantics_kept(capsys, host):
    """As the role's community.general.capabilities tasks did: wanted caps set to exactly =ep, the
    managed unwanted ones (cap_sys_admin) dropped, other capabilities on the file kept."""
    run(capsys, host)
    perf = os.path.join(host['dir'], 'perf')
    subprocess.check_call(['setcap', 'cap_perfmon=eip cap_sys_admin=ep cap_net_raw=ep cap_syslog=ep', perf])
    r = run(capsys, host)
    assert r['changed'] is True and r['actions'] == [
        'setcap cap_net_raw=ep cap_perfmon=ep cap_sys_ptrace=ep cap_syslog=ep %s' % perf], r
    assert getcap(perf) == sorted(WANT + [('cap_net_raw', '=ep')])
    assert run(capsys, host)['changed'] is False
    # the group lost on the file (chown drops file capabilities): fixed, then capabilities set again
    os.chown(perf, 0, 0)
    r = run(capsys, host, check=True)
    assert r['changed'] is True and len(r['actions']) == 2 and r['actions'][0].startswith('chown root:%s' % host['group'])
    r = run(capsys, host)
    assert r['actions'] == ['chown root:%s, chmod 0750 %s' % (host['group'], perf),
                            'setcap cap_perfmon=ep cap_sys_ptrace=ep cap_syslog=ep %s' % perf], r
    assert os.stat(perf).st_gid == grp.getgrnam(host['group']).gr_gid and getcap(perf) == WANT


@real
def test_missing_member_one_message_nothing_changed(capsys, host):
    before = state(host)
    ghost = unique('pfu_nobody')
    r = run(capsys, host, members=[host['users'][0], ghost])
    assert r['failed'] is True and r['changed'] is False and r['missing'] == [ghost]
    assert r['msg'].startswith('member %s does not exist: create the account first' % ghost)
    assert 'nothing was changed' in r['msg']
    assert state(host) == before
    r = run(capsys, host, check=True, members=[ghost, ghost + 'x'])
    assert r['failed'] is True and r['msg'].startswith('members %s, %sx do not exist' % (ghost, ghost))


@real
@pytest.mark.parametrize('kw, msg', [
    ({'group': 'Perf;rm'}, "group='Perf;rm' is not a safe group name"),
    ({'group': '-perf'}, "group='-perf' is not a safe group name"),
    ({'group': 'x' * 33}, 'is not a safe group name'),
    ({'members': ['-oops']}, "members: '-oops' is not a safe user name"),
    ({'members': ['1000']}, "members: '1000' is not a safe user name"),
    ({'dir': 'opt/perf'}, 'must be an absolute, normalised path'),
    ({'dir': '/opt/../etc'}, 'must be an absolute, normalised path'),
    ({'dir': '/opt'}, 'is too close to /'),
    ({'source': 'perf'}, 'must be an absolute path'),
    ({'capabilities': ['cap_perfmon', 'all; rm']}, "invalid capability name 'all; rm'"),
])
def test_bad_input_refused(capsys, host, kw, msg):
    before = state(host)
    for state_ in ('present', 'absent'):
        if state_ == 'absent' and set(kw) & {'members', 'source', 'capabilities'}:
            continue
        r = run(capsys, host, state=state_, **kw)
        assert r['failed'] is True and msg in r['msg'] and r['changed'] is False, r
    assert state(host) == before


@real
def test_no_perfmon_kernel_and_no_elf_refused_before_any_change(capsys, host, tmp_path):
    before = state(host)
    r = run(capsys, host, proc_root=proc(str(tmp_path / 'old'), cap_last=37))
    assert r['failed'] is True and 'has no CAP_PERFMON' in r['msg']
    script = str(tmp_path / 'perf.sh')
    write_file(script, '#!/bin/sh\n')
    r = run(capsys, host, source=script)
    assert r['failed'] is True and r['msg'].startswith('No perf ELF binary found')
    assert state(host) == before


@real
def test_a_foreign_directory_is_neither_taken_over_nor_removed(capsys, host):
    write_file(os.path.join(host['dir'], 'notes.txt'), 'mine\n')
    for state_ in ('present', 'absent'):
        r = run(capsys, host, state=state_)
        assert r['failed'] is True and 'holds other files than perf (notes.txt)' in r['msg'], r
    assert os.path.exists(os.path.join(host['dir'], 'notes.txt')) and group_members(host['group']) is None


@real
def test_absent_removes_dir_and_group(capsys, host):
    run(capsys, host)
    assert state(host)['perf']
    r = run(capsys, host, state='absent', check=True, diff=True)
    assert r['changed'] is True and r['actions'] == ['remove %s' % host['dir'], 'groupdel %s' % host['group']]
    assert os.path.exists(host['dir']) and group_members(host['group']) is not None
    assert 'capabilities cap_perfmon,cap_sys_ptrace,cap_syslog=ep' in r['diff']['before'] and '%s: absent' % host['dir'] in r['diff']['after']
    r = run(capsys, host, state='absent', remove_group=False)
    assert r['changed'] is True and r['actions'] == ['remove %s' % host['dir']]
    assert not os.path.exists(host['dir']) and sorted(group_members(host['group'])) == sorted(host['users'])
    r = run(capsys, host, state='absent', diff=True)
    assert r['changed'] is True and r['actions'] == ['groupdel %s' % host['group']]
    assert group_members(host['group']) is None
    assert 'group %s: absent' % host['group'] in r['diff']['after']
    r = run(capsys, host, state='absent')
    assert r['changed'] is False and r['actions'] == []
    for u in host['users']:
        subprocess.check_call(['id', u], stdout=subprocess.DEVNULL)                 # accounts untouched


@pytest.mark.parametrize('text, want', [
    ('/p cap_syslog,cap_perfmon=ep\n', [('cap_syslog', '=ep'), ('cap_perfmon', '=ep')]),
    ('/p = cap_sys_ptrace,38+ep\n', [('cap_sys_ptrace', '=ep'), ('38', '=ep')]),
    # libcap 2.66 prints clauses applied in turn
    ('/p cap_perfmon=eip cap_net_raw,cap_sys_admin+ep\n',
     [('cap_perfmon', '=eip'), ('cap_net_raw', '=ep'), ('cap_sys_admin', '=ep')]),
    ('/p cap_a,cap_b=ep cap_a-e\n', [('cap_a', '=p'), ('cap_b', '=ep')]),
    ('/p cap_a=ep cap_a-ep\n', []),
    ('/p cap_net_raw=p cap_perfmon=eip\n', [('cap_net_raw', '=p'), ('cap_perfmon', '=eip')]),
    ('', []),
    ('/p\n', []),
    ('/p =ep\n', [('all', '=ep')]),
])
def test_parse_getcap_rows(text, want):
    assert pu.parse_getcap(text, '/p') == want


def test_caps_display():
    assert pu.caps_display([('cap_syslog', '=ep'), ('cap_net_raw', '=p'), ('cap_perfmon', '=ep')]) == \
        'cap_perfmon,cap_syslog=ep cap_net_raw=p'
    assert pu.caps_display([]) == ''


@pytest.mark.parametrize('current, wanted, remove, want', [
    ([], ['cap_perfmon', 'cap_syslog'], ['cap_sys_admin'], [('cap_perfmon', '=ep'), ('cap_syslog', '=ep')]),
    ([('cap_perfmon', '=eip'), ('cap_sys_admin', '=ep'), ('cap_net_raw', '=p')], ['cap_perfmon'],
     ['cap_sys_admin', '38'], [('cap_net_raw', '=p'), ('cap_perfmon', '=ep')]),
    ([('38', '+ep')], ['cap_sys_admin'], ['cap_perfmon', '38'], [('cap_sys_admin', '=ep')]),
    ([], [], ['cap_sys_admin'], []),
])
def test_desired_caps_rows(current, wanted, remove, want):
    assert pu.desired_caps(current, wanted, remove) == want


@pytest.mark.parametrize('name, ok', [('perf_users', True), ('_p-1', True), ('Perf', False), ('9perf', False),
                                      ('', False), ('a' * 32, True), ('a' * 33, False), ('p u', False)])
def test_group_names(name, ok):
    assert (pu.bad_group(name) is None) is ok


@pytest.mark.parametrize('name, ok', [('alice', True), ('john.doe', True), ('Admin', True), ('svc$', True),
                                      ('-alice', False), ('123', False), ('a b', False), ('a:b', False)])
def test_user_names(name, ok):
    assert (pu.bad_user(name) is None) is ok


@pytest.mark.parametrize('path, ok', [('/opt/perf_users', True), ('/srv/x/y', True), ('/opt', False), ('/', False),
                                      ('/opt/perf_users/', False), ('/opt//p', False), ('/opt/./p', False),
                                      ('relative/p', False), ('', False)])
def test_dir_paths(path, ok):
    assert (pu.bad_dir(path) is None) is ok
