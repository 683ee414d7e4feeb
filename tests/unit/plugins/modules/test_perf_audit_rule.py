"""perf_audit_rule (issue 17): the rules.d file on a fake root, with a stub auditctl/augenrules
(the loaded rules in a state file) and, where this machine's auditctl can list and change the
kernel's rules as root, the real auditctl (a throwaway key, deleted afterwards)."""
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_audit_rule as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import auditrules as ar

from helpers import run_module, write_file

PATH = '/etc/audit/rules.d/perfsec-perf.rules'

STUB_AUDITCTL = r'''#!/usr/bin/env python3
import os, sys
state = os.environ['PERFSEC_AUDIT_STATE']
lines = open(state).read().splitlines() if os.path.exists(state) else []
a = sys.argv[1:]
def norm(args):
    out = []
    i = 0
    while i < len(args):
        if args[i] == '-k':
            out += ['-F', 'key=' + args[i + 1]]; i += 2
        else:
            out.append(args[i]); i += 1
    return ' '.join(out)
if a == ['-l']:
    print('\n'.join(lines) if lines else 'No rules')
elif a == ['-s']:
    print('enabled %s\nfailure 1' % os.environ.get('PERFSEC_AUDIT_ENABLED', '1'))
elif a[:1] in (['-a'], ['-d']):
    rule = '-a ' + norm(a[1:])
    if a[0] == '-a':
        lines.append(rule)
    elif rule in lines:
        lines.remove(rule)
    else:
        sys.exit('Error deleting rule (No such file or directory)')
    open(state, 'w').write(''.join(l + '\n' for l in lines))
else:
    sys.exit('stub auditctl: unexpected %r' % a)
open(state + '.calls', 'a').write(' '.join(a) + '\n')
'''
# augenrules --load: the rules of ROOT/etc/audit/rules.d, loaded after a -D of the key's rules
STUB_AUGENRULES = r'''#!/bin/sh
set -e
[ "$1" = --load ] || exit 2
echo augenrules >> "$PERFSEC_AUDIT_STATE.calls"
: > "$PERFSEC_AUDIT_STATE.new"
if [ -n "$PERFSEC_AUDIT_KEEP" ] && [ -f "$PERFSEC_AUDIT_STATE" ]; then cp "$PERFSEC_AUDIT_STATE" "$PERFSEC_AUDIT_STATE.new"; fi
mv "$PERFSEC_AUDIT_STATE.new" "$PERFSEC_AUDIT_STATE"
for f in "$PERFSEC_ROOT"/etc/audit/rules.d/*.rules; do
  [ -f "$f" ] || continue
  grep '^-a' "$f" | while read -r line; do
    [ -n "$PERFSEC_AUDIT_KEEP" ] && grep -qx -- "$(echo "$line" | sed 's/ -k / -F key=/')" "$PERFSEC_AUDIT_STATE" && continue
    # shellcheck disable=SC2086
    $AUDITCTL $line
  done
done
'''


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path / 'root'
    (root / 'etc/audit/rules.d').mkdir(parents=True)
    write_file(str(root / 'etc/audit/rules.d/audit.rules'), '-D\n-b 8192\n')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('auditctl', STUB_AUDITCTL), ('augenrules', STUB_AUGENRULES)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    state = str(tmp_path / 'loaded')
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    monkeypatch.setenv('PERFSEC_AUDIT_STATE', state)
    monkeypatch.setenv('PERFSEC_ROOT', str(root))
    monkeypatch.setenv('AUDITCTL', str(bin_dir / 'auditctl'))
    monkeypatch.setattr(mod, 'ROOT', str(root))
    monkeypatch.setattr(os, 'uname', lambda: ('Linux', 'h', '6.1', '#1', 'x86_64'))
    return {'root': str(root), 'state': state}


def run(capsys, check=False, **args):
    from ansible.module_utils.common import warnings as w
    w._global_warnings.clear()
    return run_module(mod.main, capsys, check=check, diff=True, **args)


def loaded(host):
    return open(host['state']).read().splitlines() if os.path.exists(host['state']) else []


def calls(host):
    p = host['state'] + '.calls'
    return open(p).read().splitlines() if os.path.exists(p) else []


def rules_file(host):
    return os.path.join(host['root'], PATH.lstrip('/'))


def test_present_check_then_write_then_idempotent(host, capsys):
    r = run(capsys, check=True)
    assert r['changed'] is True and r['file_changed'] and r['reloaded'] and r['loaded_before'] == []
    assert not os.path.exists(rules_file(host)) and 'augenrules' not in calls(host)
    assert r['diff'][0]['after'].startswith(ar.MANAGED_LINE)
    r = run(capsys)
    assert r['changed'] is True and r['arches'] == ['b64', 'b32'] and r['loaded'] == ['b32', 'b64']
    text = open(rules_file(host)).read()
    assert '-a always,exit -F arch=b64 -S perf_event_open -k perfsec-perf\n' in text
    assert '-a always,exit -F arch=b32 -S perf_event_open -k perfsec-perf\n' in text
    st = os.stat(rules_file(host))
    assert stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid == 0) == (os.geteuid() == 0)
    assert loaded(host) == ['-a always,exit -F arch=b64 -S perf_event_open -F key=perfsec-perf',
                            '-a always,exit -F arch=b32 -S perf_event_open -F key=perfsec-perf']
    n = len(calls(host))
    r = run(capsys)
    assert r['changed'] is False and r['reloaded'] is False
    assert [c for c in calls(host)[n:] if c not in ('-l', '-s')] == []   # only read


def test_loaded_rule_missing_is_reloaded(host, capsys):
    run(capsys)
    open(host['state'], 'w').close()       # e.g. someone ran auditctl -D
    r = run(capsys)
    assert r['changed'] is True and r['file_changed'] is False and r['reloaded'] is True
    assert len(loaded(host)) == 2


def test_mode_is_fixed(host, capsys):
    run(capsys)
    os.chmod(rules_file(host), 0o644)
    r = run(capsys)
    assert r['changed'] and r['file_changed'] and stat.S_IMODE(os.stat(rules_file(host)).st_mode) == 0o600


def test_arch_choice_and_32_bit_machine(host, capsys, monkeypatch):
    r = run(capsys, arches=['b64'])
    assert r['rules'] == ['-a always,exit -F arch=b64 -S perf_event_open -k perfsec-perf']
    monkeypatch.setattr(os, 'uname', lambda: ('Linux', 'h', '6.1', '#1', 'ppc64le'))
    assert run(capsys, check=True)['arches'] == ['b64']
    assert ar.abis('i686') == ('b32',) and ar.abis('aarch64') == ('b64', 'b32')


def test_absent_removes_file_and_rules_even_without_minus_D(host, capsys, monkeypatch):
    run(capsys)
    monkeypatch.setenv('PERFSEC_AUDIT_KEEP', '1')      # augenrules keeps what is loaded (no -D)
    r = run(capsys, check=True, state='absent')
    assert r['changed'] is True and os.path.exists(rules_file(host))
    r = run(capsys, state='absent')
    assert r['changed'] is True and r['loaded'] == [] and not os.path.exists(rules_file(host))
    assert loaded(host) == [] and any(c.startswith('-d always,exit -F arch=b64') for c in calls(host))
    assert run(capsys, state='absent')['changed'] is False


def test_immutable_rules_write_the_file_and_ask_for_a_reboot(host, capsys, monkeypatch):
    monkeypatch.setenv('PERFSEC_AUDIT_ENABLED', '2')
    r = run(capsys)
    assert r['changed'] is True and r['reboot_required'] is True and r['reloaded'] is False
    assert os.path.exists(rules_file(host)) and loaded(host) == []
    assert any('immutable' in str(w) for w in r.get('warnings', [])), r


def test_load_false_only_writes(host, capsys):
    r = run(capsys, load=False)
    assert r['changed'] and r['loaded_before'] is None and calls(host) == []


@pytest.mark.parametrize('args,words', [
    ({'path': '/etc/audit/audit.rules'}, 'NAME.rules file directly in /etc/audit/rules.d'),
    ({'path': '/etc/audit/rules.d/../x.rules'}, 'not allowed'),
    ({'key': 'bad key'}, 'invalid key'),
])
def test_refusals(host, capsys, args, words):
    r = run(capsys, **args)
    assert r['failed'] is True and words in r['msg']


def test_foreign_file_and_symlink_are_refused(host, capsys):
    write_file(rules_file(host), '-w /etc/passwd -k mine\n')
    r = run(capsys)
    assert r['failed'] and 'not written by perfsec.selinux' in r['msg']
    os.unlink(rules_file(host))
    os.symlink('/etc/passwd', rules_file(host))
    r = run(capsys)
    assert r['failed'] and 'not a regular file' in r['msg']


def test_missing_rules_dir_or_tools(host, capsys, monkeypatch):
    shutil.rmtree(os.path.join(host['root'], 'etc/audit'))
    assert 'install auditd' in run(capsys)['msg']


def test_failing_augenrules_fails_with_its_output(host, capsys, tmp_path):
    (tmp_path / 'bin/augenrules').write_text('#!/bin/sh\necho "Error sending add rule data request" >&2\nexit 1\n')
    r = run(capsys)
    assert r['failed'] and 'augenrules --load failed (rc 1): Error sending add rule' in r['msg']


def test_count_hits_raw_and_enriched():
    text = '\n'.join([
        'type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=298 success=yes exit=3 a0=0 '
        'ppid=1 pid=2 auid=1001 uid=1001 gid=1001 comm="perf" exe="/usr/bin/perf" '
        'subj=user_u:user_r:user_t:s0 key="perfsec-perf"\x1dARCH=x86_64 SYSCALL=perf_event_open '
        'AUID="perfuser" UID="perfuser"',
        'type=SYSCALL msg=audit(1700000050.000:11): arch=c000003e syscall=298 success=no exit=-13 '
        'auid=1001 uid=1001 comm="perf" exe="/usr/bin/perf" subj=user_u:user_r:user_t:s0 key="perfsec-perf"',
        'type=SYSCALL msg=audit(1700000060.000:12): arch=c000003e syscall=298 success=yes exit=3 '
        'auid=4294967295 uid=0 comm="perf" exe="/usr/bin/perf" subj=system_u:system_r:init_t:s0 key="other"',
        'type=PROCTITLE msg=audit(1700000000.100:10): proctitle=70657266 key="perfsec-perf"',
    ])
    h = ar.count_hits(text)
    assert (h['count'], h['success'], h['failed']) == (2, 1, 1)
    assert h['first'] == 1700000000.1 and h['last'] == 1700000050.0
    assert h['users'] == [{'name': '1001', 'count': 1}, {'name': 'perfuser', 'count': 1}]
    assert h['domains'] == [{'name': 'user_t', 'count': 2}] and h['comms'] == [{'name': 'perf', 'count': 2}]
    assert ar.hits_summary(h).startswith('2 perf_event_open() (1 failed) by')
    assert ar.count_hits(text, max_age=20, now=1700000060.0)['count'] == 1


def test_loaded_abis_parses_auditctl_listing():
    listing = ('-a always,exit -F arch=b64 -S perf_event_open -F key=perfsec-perf\n'
               '-a always,exit -F arch=b32 -S perf_event_open,bpf -F key=perfsec-perf\n'
               '-w /etc/shadow -p wa -k identity\nNo rules\n')
    assert ar.loaded_abis(listing) == set(['b64', 'b32'])
    assert ar.foreign_lines(listing) == ['-a always,exit -F arch=b32 -S perf_event_open,bpf -F key=perfsec-perf']
    assert ar.immutable('enabled 2\n') and not ar.immutable('enabled 1\n')


REAL_AUDITCTL = shutil.which('auditctl') or '/usr/sbin/auditctl'


def _real_auditctl_works():
    tool = REAL_AUDITCTL
    if os.geteuid() != 0 or not os.path.exists(tool):
        return None
    try:
        if subprocess.run(check=False, args=[tool, '-l'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10).returncode != 0:
            return None
        if b'enabled 2' in subprocess.run(check=False, args=[tool, '-s'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10).stdout:
            return None
    except (OSError, subprocess.SubprocessError):
        return None
    return tool


@pytest.mark.skipif(_real_auditctl_works() is None, reason='no usable auditctl here (not root, or no audit netlink)')
def test_real_auditctl_loads_and_removes(host, capsys, monkeypatch, tmp_path):
    """The real auditctl: the rule goes into this kernel under a throwaway key and comes out again."""
    tool = _real_auditctl_works()
    key = 'perfsec-unit-%d' % os.getpid()
    (tmp_path / 'bin/auditctl').unlink()
    os.symlink(tool, str(tmp_path / 'bin/auditctl'))
    # augenrules --load on the fake root: delete the key's rules, then load the fake rules.d's
    (tmp_path / 'bin/augenrules').write_text(
        '#!/bin/sh\n%s -D -k %s >/dev/null\nfor f in "$PERFSEC_ROOT"/etc/audit/rules.d/*.rules; do\n'
        '  grep "^-a" "$f" | while read -r l; do %s $l || exit 1; done\ndone\n' % (tool, key, tool))
    try:
        r = run(capsys, key=key)
        assert r['changed'] is True and r['loaded'] == ['b32', 'b64'], r
        listing = subprocess.run(check=False, args=[tool, '-l'], stdout=subprocess.PIPE, universal_newlines=True).stdout
        assert '-a always,exit -F arch=b64 -S perf_event_open -F key=%s' % key in listing
        assert run(capsys, key=key)['changed'] is False
        r = run(capsys, key=key, state='absent')
        assert r['changed'] is True and r['loaded'] == []
        assert key not in subprocess.run(check=False, args=[tool, '-l'], stdout=subprocess.PIPE, universal_newlines=True).stdout
    finally:
        subprocess.run(check=False, args=[tool, '-D', '-k', key], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
