"""perf_users_binary: the perf ELF for the perf_users group and its file capabilities, on fixture
procfs roots and real files (a copy of this machine's /bin/true is an ELF, a shell script is
not; libcap's capsh is asked for real). The decisions (module_utils/perfusers) row by row."""
import json
import os
import shutil

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import perfusers as pu
from ansible_collections.perfsec.selinux.plugins.modules import perf_users_binary as mod

from helpers import run_module, write_file

CAPS = ['cap_perfmon', 'cap_sys_ptrace', 'cap_syslog']


def proc(base, release='6.1.0-27-amd64', cap_last=40, paranoid=2):
    write_file(os.path.join(base, 'proc/sys/kernel/osrelease'), release + '\n')
    if cap_last is not None:
        write_file(os.path.join(base, 'proc/sys/kernel/cap_last_cap'), '%d\n' % cap_last)
    write_file(os.path.join(base, 'proc/sys/kernel/perf_event_paranoid'), '%d\n' % paranoid)
    return os.path.join(base, 'proc')


@pytest.fixture
def elf(tmp_path):
    path = str(tmp_path / 'perf')
    shutil.copy('/bin/true', path)
    return path


def run(capsys, procdir, **kw):
    return run_module(mod.main, capsys, check=True, proc_root=procdir, **kw)


def test_elf_source_and_capabilities(tmp_path, capsys, elf):
    r = run(capsys, proc(str(tmp_path)), source=elf, capabilities=CAPS)
    assert r.get('failed') is not True, r
    assert r['changed'] is False and r['source'] == elf and r['tried'] == [elf]
    # libcap on this machine names capability 38, or the number stands in for it
    assert r['capabilities'] in (CAPS, ['38'] + CAPS[1:])
    assert r['remove'] == [c for c in pu.MANAGED_CAPS if c not in r['capabilities']]
    assert 'cap_sys_admin' in r['remove'] and r['cap_last_cap'] == 40 and r['paranoid'] == 2
    assert 'perf_event_paranoid' not in json.dumps(r.get('warnings'))   # other tests' warnings may linger


def test_a_script_is_not_a_perf_binary(tmp_path, capsys):
    script = str(tmp_path / 'perf')
    write_file(script, '#!/bin/sh\nexec perf_6.1 "$@"\n')
    r = run(capsys, proc(str(tmp_path)), source=script)
    assert r['failed'] is True and r['msg'].startswith('No perf ELF binary found (tried %s).' % script)


def test_no_cap_perfmon_refused_unless_allowed(tmp_path, capsys, elf):
    p = proc(str(tmp_path), release='5.4.0-100-generic', cap_last=37)
    r = run(capsys, p, source=elf)
    assert r['failed'] is True and r['msg'].startswith('This kernel (5.4.0-100-generic, cap_last_cap 37) has no CAP_PERFMON')
    r = run(capsys, p, source=elf, allow_cap_sys_admin=True, capabilities=CAPS)
    assert r['capabilities'] == ['cap_sys_admin', 'cap_sys_ptrace', 'cap_syslog']
    assert r['remove'] == ['cap_perfmon', '38']


def test_bad_input_one_message(tmp_path, capsys, elf):
    p = proc(str(tmp_path))
    r = run(capsys, p, source='-oops')
    assert r['failed'] is True and 'must be an absolute path' in r['msg']
    r = run(capsys, p, source=elf, capabilities=['cap_perfmon', 'all; rm'])
    assert r['failed'] is True and "invalid capability name 'all; rm'" in r['msg']


def test_paranoid_above_2_warns(tmp_path, capsys, elf):
    r = run(capsys, proc(str(tmp_path), paranoid=3), source=elf)
    assert 'kernel.perf_event_paranoid is 3' in json.dumps(r.get('warnings'))   # 2.19 returns dicts


@pytest.mark.parametrize('release, source, want', [
    ('6.1.0-27-amd64', '', ['/usr/lib/linux-tools/6.1.0-27-amd64/perf', '/usr/bin/perf_6.1', '/usr/bin/perf']),
    ('5.15.0-91-generic', '/opt/perf', ['/opt/perf']),
    ('', '', ['/usr/bin/perf']),
])
def test_candidates_rows(release, source, want):
    assert pu.candidates(release, source) == want


@pytest.mark.parametrize('cap_last, named, want', [
    (40, True, CAPS),
    (38, False, ['38', 'cap_sys_ptrace', 'cap_syslog']),
    (37, True, ['cap_sys_admin', 'cap_sys_ptrace', 'cap_syslog']),
    (None, True, ['cap_sys_admin', 'cap_sys_ptrace', 'cap_syslog']),
])
def test_capabilities_rows(cap_last, named, want):
    assert pu.capabilities(CAPS, cap_last, named) == want
