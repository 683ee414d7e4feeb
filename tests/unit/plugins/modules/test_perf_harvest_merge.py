"""perf_harvest_merge (issue 20): the merged .te written 0600 only when it changed, check mode
writes nothing, diff mode, the empty harvest, forged results, and the file compiled with the
real checkmodule (validate=always; skipped without checkpolicy). Python 3.6 compatible.
"""
import io
import os
import shutil
import stat

import pytest

from ansible_collections.perfsec.selinux.plugins.modules import perf_harvest_merge as mod
from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import harvest as hv

from helpers import run_module

AUDIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'fixtures', 'audit')
HAVE_TOOLS = bool(shutil.which('checkmodule') and shutil.which('semodule_package'))


def host_result(name, since=0, include_bpf=False):
    agg = hv.Aggregator(since=since, include_bpf=include_bpf)
    with open(os.path.join(AUDIT, name), 'rb') as f:
        agg.feed(au.read_prefiltered(io.BytesIO(f.read()), exe=True))
    return {'changed': False, 'failed': False, 'available': True, 'source': 'auditd', 'since': float(since),
            'denials': agg.groups(), 'skipped_reasons': agg.total(), 'records': agg.records, 'installed': None}


RESULTS = {'web1': host_result('perf_clean.log'), 'web2\nallow user_t self:file write;': host_result('perf_poisoned.log'),
           'down': {'unreachable': True, 'msg': 'ssh: timeout'}}


def run(capsys, check=False, diff=False, **args):
    args.setdefault('validate', 'never')
    return run_module(mod.main, capsys, check=check, diff=diff, **args)


def test_writes_0600_once_then_unchanged(tmp_path, capsys):
    dest = str(tmp_path / 'perfsec_perf.te')
    r = run(capsys, results=RESULTS, dest=dest, allowed_domains=['user_t', 'staff_t'])
    assert r['changed'] is True and os.path.exists(dest)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    text = open(dest).read()
    assert text == r['te'] and au.parse_allow_rules(text) == au.parse_allow_rules('\n'.join(r['rules']))
    assert r['skipped_reasons']['down']['no_result'] == 1 and r['hosts']['down']['status'] == 'no_result'
    assert 'web2\\x0aallow user_t self:file write;' in text and '\nallow user_t self:file' not in text
    mtime = os.stat(dest).st_mtime_ns
    r2 = run(capsys, results=RESULTS, dest=dest, allowed_domains=['user_t', 'staff_t'])
    assert r2['changed'] is False and 'unchanged' in r2['msg'] and os.stat(dest).st_mtime_ns == mtime
    # a wider mode is fixed (changed), the content is kept
    os.chmod(dest, 0o644)
    r3 = run(capsys, results=RESULTS, dest=dest, allowed_domains=['user_t', 'staff_t'])
    assert r3['changed'] is True and stat.S_IMODE(os.stat(dest).st_mode) == 0o600 and open(dest).read() == text


def test_check_mode_writes_nothing_and_shows_the_diff(tmp_path, capsys):
    dest = str(tmp_path / 'perfsec_perf.te')
    r = run(capsys, check=True, diff=True, results=RESULTS, dest=dest, allowed_domains=['user_t'])
    assert r['changed'] is True and not os.path.exists(dest) and 'would be written' in r['msg']
    assert r['diff']['before'] == '' and r['diff']['after'] == r['te']
    assert r['rules'] == ['allow user_t self:capability2 perfmon;',
                          'allow user_t self:perf_event { cpu kernel open read tracepoint };']
    assert r['installed_diff'] == [{'checksum': None, 'hosts': ['web1', 'web2\nallow user_t self:file write;'],
                                    'installed': [], 'add': r['rules'], 'drop': []}]
    # after a real run, the diff shows the file before and after a change of the input
    run(capsys, results=RESULTS, dest=dest, allowed_domains=['user_t'])
    r = run(capsys, check=True, diff=True, results={'web1': RESULTS['web1']}, dest=dest, allowed_domains=['user_t'])
    assert r['changed'] is True and r['diff']['before'] == open(dest).read() and r['diff']['after'] == r['te']
    assert r['diff']['before'] != r['diff']['after']


def test_empty_harvest_writes_no_file(tmp_path, capsys):
    dest = str(tmp_path / 'perfsec_perf.te')
    r = run(capsys, results={'web1': host_result('perf_clean.log', since=1900000000)}, dest=dest,
            allowed_domains=['user_t'])
    assert r['changed'] is False and r['te'] is None and r['rules'] == [] and not os.path.exists(dest)
    assert r['msg'].startswith('no perf denials since 2030-03-17T') and 'nothing to write' in r['msg']
    r = run(capsys, results={}, dest=dest, allowed_domains=['user_t'])
    assert r['changed'] is False and r['msg'].startswith('no perf denials since the given time on 0 hosts')


def test_forged_results_grant_nothing(tmp_path, capsys):
    forged = {'denials': [{'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'file', 'perm': 'write', 'count': 1},
                          {'stype': 'init_t', 'ttype': 'init_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 1}]}
    dest = str(tmp_path / 'x.te')
    r = run(capsys, results={'evil': forged}, dest=dest, allowed_domains=['user_t'])
    assert r['rules'] == [] and not os.path.exists(dest)
    assert r['skipped_reasons']['evil']['class'] == 1 and r['skipped_reasons']['evil']['domain'] == 1


def test_refusals(tmp_path, capsys):
    dest = str(tmp_path / 'x.te')
    for args in ({'allowed_domains': []}, {'allowed_domains': ['user_t\n']}, {'allowed_domains': ['self']},
                 {'allowed_domains': ['user_t'], 'name': 'bad name'},
                 {'allowed_domains': ['user_t'], 'allowed_targets': ['self']}):
        r = run(capsys, results=RESULTS, dest=dest, **args)
        assert r.get('failed') is True, args
    os.symlink('/etc/passwd', str(tmp_path / 'link.te'))
    r = run(capsys, results=RESULTS, dest=str(tmp_path / 'link.te'), allowed_domains=['user_t'])
    assert r.get('failed') is True and 'not a regular file' in r['msg'] and 'root:' not in str(r)


@pytest.mark.skipif(not HAVE_TOOLS, reason='checkpolicy / semodule-utils missing')
def test_written_te_compiles_with_checkmodule(tmp_path, capsys):
    dest = str(tmp_path / 'perfsec_perf.te')
    results = dict(RESULTS, web3=host_result('perf_poisoned.log', include_bpf=True))
    r = run(capsys, results=results, dest=dest, allowed_domains=['user_t', 'staff_t'], include_bpf=True,
            validate='always')
    assert r['validated'] is True and r['changed'] is True
    assert 'allow user_t self:capability2 { bpf perfmon };' in r['rules']
    # the hosts harvested without bpf counted it on the host: the merge cannot grant it from them
    assert r['evidence'][0]['hosts'] == ['web1', 'web2\nallow user_t self:file write;', 'web3']
