"""module_utils/harvest (issue 20): per-host aggregation, the controller-side merge under the
contract of audit.generate_rules, evidence comments with hostile strings neutralised, the diff
against installed modules, and the exe hints of audit.read_prefiltered. The merged .te is
compiled with the real checkmodule (skipped without checkpolicy). Python 3.6 compatible.
"""
import io
import os
import re
import shutil
import subprocess

import pytest

try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # the Python 3.6/3.7 lanes
    given = None

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import harvest as hv

AUDIT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     'fixtures', 'audit')
T0 = 1764337200


def avc(perms, stype='user_t', ttype=None, tclass='perf_event', ts=T0, serial=1, comm='"perf"', result='denied'):
    return ('type=AVC msg=audit(%s:%d): avc:  %s  { %s } for  pid=1 comm=%s scontext=u:r:%s:s0 '
            'tcontext=u:r:%s:s0 tclass=%s permissive=0\n'
            % (('%.3f' % ts), serial, result, perms, comm, stype, ttype or stype, tclass))


def syscall(ts=T0, serial=1, exe='"/usr/bin/perf"'):
    return ('type=SYSCALL msg=audit(%.3f:%d): arch=c000003e syscall=298 success=no exit=-13 comm="perf" '
            'exe=%s subj=u:r:user_t:s0 key=(null)\n' % (ts, serial, exe))


def harvest(text, since=0, **kw):
    agg = hv.Aggregator(since=since, **kw)
    data = text.encode('utf-8', 'surrogateescape') if isinstance(text, str) else text
    agg.feed(au.read_prefiltered(io.BytesIO(data), exe=True))
    return agg


def result(text, since=0, **kw):
    agg = harvest(text, since, **kw)
    return {'changed': False, 'available': True, 'source': 'auditd', 'since': float(since), 'denials': agg.groups(),
            'skipped_reasons': agg.total(), 'records': agg.records}


# --- on the host ---------------------------------------------------------------------------

def test_aggregate_groups_with_counts_times_and_exe():
    text = (avc('open', ts=T0, serial=1) + syscall(T0, 1) + 'type=PROCTITLE msg=audit(1.0:1): proctitle=70\n'
            + avc('open kernel', ts=T0 + 60, serial=2) + syscall(T0 + 60, 2, exe='2F6F70742F70657266')
            + avc('open', ts=T0 + 120, serial=3))
    agg = harvest(text)
    groups = agg.groups()
    by = dict(((g['perm'], g['exe']), g) for g in groups)
    assert by[('open', '/usr/bin/perf')]['count'] == 1
    assert by[('open', '/opt/perf')]['first'] == T0 + 60               # hex-encoded exe decoded
    assert by[('kernel', '/opt/perf')]['count'] == 1
    assert by[('open', None)]['last'] == T0 + 120                      # no SYSCALL record: exe unknown
    assert agg.records == 3
    sk = agg.total()
    assert sk['not_perf'] == 3 and sk['total'] == 3                    # SYSCALL / PROCTITLE lines


def test_exe_hint_needs_the_same_event():
    # a SYSCALL of another event (serial 9) never gives its exe to the record of event 1
    agg = harvest(avc('open', serial=1) + syscall(T0, 9, exe='"/tmp/evil"'))
    assert [g['exe'] for g in agg.groups()] == [None]
    # a SYSCALL text inside another line is no record of its own
    agg = harvest(avc('open', serial=1) + 'x type=SYSCALL msg=audit(%.3f:1): exe="/tmp/evil"\n' % T0)
    assert [g['exe'] for g in agg.groups()] == [None]


def test_exe_hints_change_no_rule():
    data = open(os.path.join(AUDIT, 'perf_poisoned.log'), 'rb').read()
    plain = au.generate_rules(au.read_prefiltered(io.BytesIO(data)), ['user_t', 'staff_t'])
    hinted = au.generate_rules(au.read_prefiltered(io.BytesIO(data), exe=True), ['user_t', 'staff_t'])
    assert plain == hinted
    items = list(au.read_prefiltered(io.BytesIO(data), exe=True))
    assert any(isinstance(i, au.ExeHint) and i.exe == '/usr/bin/perf' for i in items)


def test_since_caps_and_reasons():
    text = (avc('open', ts=T0 - 10, serial=1) + avc('read', ts=T0, serial=2) + avc('open', tclass='file', serial=3)
            + avc('sys_admin', tclass='capability', serial=4) + avc('bpf', tclass='capability2', serial=5)
            + avc('open', result='granted', serial=6) + 'type=AVC msg=audit(%d.0:7): avc:  denied  { open } for\n' % T0
            + 'AVC avc:  denied  { open } for  pid=1 comm="perf" scontext=u:r:user_t:s0 tcontext=u:r:user_t:s0 '
              'tclass=perf_event\n')
    agg = harvest(text, since=T0)
    sk = agg.total()
    # the byte prefilter never parses other classes: not_perf
    assert sk['before_since'] == 1 and sk['not_perf'] == 3 and sk['perm'] == 1 and sk['granted'] == 1
    assert sk['unparsable'] == 0 and sk['no_time'] == 1 and sk['class'] == 0
    assert [(g['tclass'], g['perm']) for g in agg.groups()] == [('perf_event', 'read')]
    # lines given one by one are all parsed
    agg = hv.Aggregator(since=T0)
    agg.feed(au.iter_lines(text))
    sk = agg.total()
    assert sk['class'] == 2 and sk['perm'] == 1 and sk['unparsable'] == 1 and sk['not_perf'] == 0
    assert [(g['tclass'], g['perm']) for g in agg.groups()] == [('perf_event', 'read')]
    agg = harvest(avc('bpf perfmon', tclass='capability2'), include_bpf=True)
    assert [g['perm'] for g in agg.groups()] == ['bpf', 'perfmon']


def test_per_host_caps():
    text = ''.join(avc('open', ts=T0 + i, serial=i) for i in range(10))
    agg = harvest(text, max_records=4)
    assert agg.records == 4 and agg.total()['over_cap'] == 6
    assert agg.groups()[0]['count'] == 4
    # distinct comm values cannot grow the result past max_groups
    text = ''.join(avc('open', serial=i, comm='"c%d"' % i) for i in range(10))
    agg = harvest(text, max_groups=3)
    assert len(agg.groups()) == 3 and agg.total()['over_groups'] == 7


def test_comm_and_exe_are_bounded_on_the_host():
    agg = harvest(avc('open', comm='"' + 'x' * 500 + '"') + syscall(exe='"/' + 'y' * 5000 + '"'))
    g = agg.groups()[0]
    assert len(g['comm']) == hv.MAX_COMM + 3 and len(g['exe']) == hv.MAX_EXE + 3
    # undecodable bytes in comm (hex-encoded invalid UTF-8) are replaced, never lone surrogates
    agg = harvest(avc('open', comm='FFFE'))
    assert agg.groups()[0]['comm'].encode('utf-8')


# --- merge on the controller ---------------------------------------------------------------

CLEAN = open(os.path.join(AUDIT, 'perf_clean.log')).read()
POISONED = open(os.path.join(AUDIT, 'perf_poisoned.log')).read()


def test_merge_dedupes_across_hosts_with_evidence():
    a = result(avc('open', ts=T0, serial=1) + syscall(T0, 1) + avc('kernel', ts=T0 + 5, serial=2))
    b = result(avc('open', ts=T0 + 100, serial=7) + avc('open', ts=T0 + 200, serial=8))
    m = hv.merge({'web1': a, 'web2': b}, ['user_t'])
    assert m['rules'] == [('user_t', 'self', 'perf_event', ['kernel', 'open'])]
    ev = m['evidence'][('user_t', 'self', 'perf_event')]
    assert ev['denials'] == 4 and ev['perms'] == {'kernel': 1, 'open': 3}
    assert ev['hosts'] == ['web1', 'web2'] and ev['first'] == T0 and ev['last'] == T0 + 200
    assert ev['comm'] == ['perf'] and ev['exe'] == ['/usr/bin/perf', None]
    assert m['hosts']['web1']['denials'] == 2 and m['records'] == 4
    # the same input again: the same rules and the same text
    assert hv.render('perfsec_perf', hv.merge({'web2': b, 'web1': a}, ['user_t'])) == hv.render('perfsec_perf', m)


def test_comments_name_the_hosts_of_each_permission():
    # one rule from two hosts whose permissions differ: each permission names its own hosts
    a = result(avc('open', serial=1) + avc('kernel', ts=T0 + 1, serial=2) + avc('read', ts=T0 + 2, serial=3))
    b = result(avc('open', serial=4) + avc('write', ts=T0 + 3, serial=5) + avc('read', ts=T0 + 4, serial=6))
    m = hv.merge({'hostA': a, 'hostB': b}, ['user_t'])
    assert m['rules'] == [('user_t', 'self', 'perf_event', ['kernel', 'open', 'read', 'write'])]
    ev = m['evidence'][('user_t', 'self', 'perf_event')]
    assert ev['perm_hosts'] == {'kernel': ['hostA'], 'open': ['hostA', 'hostB'], 'read': ['hostA', 'hostB'],
                                'write': ['hostB']}
    te = hv.render('perfsec_perf', m)
    assert ('# 6 denials (kernel 1, open 2, read 2, write 1) on 2 hosts: hostA, hostB\n'
            '#   kernel: 1 denial on hostA\n'
            '#   open: 2 denials on hostA, hostB\n'
            '#   read: 2 denials on hostA, hostB\n'
            '#   write: 1 denial on hostB\n'
            '# first seen ') in te
    # the same hosts for every permission (or one permission): no per-permission lines
    one = hv.render('perfsec_perf', hv.merge({'hostA': a, 'hostB': a}, ['user_t']))
    assert '#   ' not in one and '# 6 denials (kernel 2, open 2, read 2) on 2 hosts: hostA, hostB\n# first seen' in one


def test_merge_restricts_to_the_contract_and_attributes_skips_to_the_host():
    m = hv.merge({'good': result(CLEAN), 'bad': result(POISONED)}, ['user_t', 'staff_t'])
    for src, tgt, tclass, perms in m['rules']:
        assert src in ('user_t', 'staff_t') and tgt == 'self'
        assert set(perms) <= au.allowed_perms(tclass)
    # the same rules as perf_semodule's from_audit on the same records
    want, dummy = au.generate_rules(CLEAN + POISONED, ['user_t', 'staff_t'])
    assert m['rules'] == want
    assert m['skipped']['bad']['domain'] >= 1 and m['skipped']['good']['target'] == 1     # staff_t -> kernel_t
    assert m['skipped']['good']['domain'] == 2                                               # unconfined_t
    # the host's own counts: tclass=file / capability never parsed, bpf not asked for, USER_AVC
    assert m['skipped']['bad']['not_perf'] >= 2 and m['skipped']['bad']['perm'] == 1
    assert m['skipped']['bad']['not_avc'] == 1
    assert m['skipped']['bad']['total'] == sum(v for k, v in m['skipped']['bad'].items() if k != 'total')


def test_forged_host_results_grant_nothing():
    forged = {'denials': [
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'file', 'perm': 'write', 'count': 5},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'capability', 'perm': 'sys_admin', 'count': 1},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'execute', 'count': 2},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'capability2', 'perm': 'bpf', 'count': 1},
        {'stype': 'sshd_t', 'ttype': 'sshd_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 3},
        {'stype': 'user_t', 'ttype': 'kernel_t', 'tclass': 'perf_event', 'perm': 'read', 'count': 4},
        {'stype': 'user_t', 'ttype': 'kernel_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 1},
        {'stype': 'user_t;\nallow user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 1},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'open', 'count': True},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'open', 'count': -1},
        {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 1, 'comm': 7},
        'allow user_t self:file write;',
    ], 'skipped_reasons': {'not_perf': 3, 'evil key\n': 5, 'class': 'x', 'total': 99}}
    m = hv.merge({'evil': forged}, ['user_t'])
    assert m['rules'] == []
    sk = m['skipped']['evil']
    assert sk['class'] == 6 and sk['perm'] == 3 and sk['domain'] == 3 and sk['target'] == 5
    assert sk['invalid'] == 5 and sk['not_perf'] == 3 and 'evil key\n' not in sk
    assert sk['total'] == 6 + 3 + 3 + 5 + 5 + 3
    # with an allowed target, read is granted on it; open never is
    m = hv.merge({'evil': forged}, ['user_t'], allowed_targets=['kernel_t'])
    assert m['rules'] == [('user_t', 'kernel_t', 'perf_event', ['read'])]
    # bpf only when asked
    m = hv.merge({'evil': forged}, ['user_t'], include_bpf=True)
    assert m['rules'] == [('user_t', 'self', 'capability2', ['bpf'])]


def test_unusable_results_are_counted():
    nolog = {'denials': [], 'available': False, 'msg': 'no audit log'}
    m = hv.merge({'down': {'unreachable': True, 'msg': 'ssh: connect'}, 'failed': {'failed': True},
                  'skipped': {'skipped': True}, 'junk': 'text', 'nolog': nolog}, ['user_t'])
    assert m['rules'] == [] and hv.render('perfsec_perf', m) is None
    assert all(m['skipped'][h]['no_result'] == 1 for h in ('down', 'failed', 'skipped', 'junk'))
    assert m['hosts']['nolog']['status'] == 'no_log' and m['hosts']['down']['msg'] == 'ssh: connect'


def test_comm_filter():
    r = result(avc('open', serial=1) + avc('read', serial=2, comm='"bash"'))
    m = hv.merge({'h': r}, ['user_t'], comm=['perf'])
    assert m['rules'] == [('user_t', 'self', 'perf_event', ['open'])] and m['skipped']['h']['comm'] == 1


# --- hostile strings in comments ------------------------------------------------------------

HOSTILE = ['web1\nallow user_t self:file write;', 'x\r\x1b[31m\x00\x7f', 'a\u2028b\u0085c', '\udcff', '\\n',
           'h' * 300, '#', 'allow user_t self:file *;']


@pytest.mark.parametrize('text', HOSTILE)
def test_neutral_is_printable_ascii_and_bounded(text):
    out = hv.neutral(text)
    assert re.match(r'^[ -~]*\Z', out) and len(out) <= hv.COMMENT_ITEM + 3


def _hostile_merge():
    res = {}
    for i, name in enumerate(HOSTILE):
        comm = '"%s"' % name[:40].replace('"', '') if i % 2 else name.encode('utf-8', 'surrogateescape').hex().upper()
        text = avc('open read', serial=i + 1, comm=comm) + syscall(T0, i + 1, exe='2F' + ('\n' + name).encode(
            'utf-8', 'surrogateescape').hex().upper())
        res[name] = result(text)
    return hv.merge(res, ['user_t'])


def test_evidence_comments_cannot_inject():
    m = _hostile_merge()
    te = hv.render('perfsec_perf', m)
    lines = te.split('\n')
    rules = [ln for ln in lines if ln.startswith('allow')]
    assert rules == ['allow user_t self:perf_event { open read };']
    for ln in lines:
        assert ln == '' or ln.startswith(('#', 'allow ', 'module ', 'require {', '\ttype ', '\tclass ', '}')), ln
        assert re.match(r'^[\t -~]*\Z', ln) and len(ln) <= au.COMMENT_MAX + 2
    assert au.parse_allow_rules(te) == m['rules']
    assert '(+%d more)' % (len(HOSTILE) - hv.COMMENT_LIST) in te


def test_render_te_refuses_unsafe_comments():
    rule = ('user_t', 'self', 'perf_event', ['open'])
    for bad in ['a\nallow x self:file write;', 'tab\t', 'x' * 241, '\u00e9']:
        with pytest.raises(ValueError):
            au.render_te('m', [rule], comments={rule[:3]: [bad]})
        with pytest.raises(ValueError):
            au.render_te('m', [rule], header=[bad])
    # without comments, render_te's output is what it was
    assert au.render_te('m', [rule]) == ('\nmodule m 1.0;\n\nrequire {\n\ttype user_t;\n\tclass perf_event open;\n}\n\n'
                                         '#============= user_t ==============\nallow user_t self:perf_event open;\n')


@pytest.mark.skipif(not shutil.which('checkmodule'), reason='checkpolicy (checkmodule) missing')
def test_merged_te_with_hostile_evidence_compiles(tmp_path):
    m = hv.merge({'a': result(CLEAN), 'b': result(POISONED)}, ['user_t', 'staff_t'], include_bpf=True)
    te = hv.render('perfsec_perf', m)
    src = tmp_path / 'perfsec_perf.te'
    src.write_bytes(te.encode('utf-8'))
    p = subprocess.run(['checkmodule', '-M', '-m', '-o', str(tmp_path / 'perfsec_perf.mod'), str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 0, p.stderr
    te2 = hv.render('perfsec_perf', _hostile_merge())
    src.write_bytes(te2.encode('utf-8'))
    p = subprocess.run(['checkmodule', '-M', '-m', '-o', str(tmp_path / 'perfsec_perf.mod'), str(src)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert p.returncode == 0, p.stderr


# --- installed modules ----------------------------------------------------------------------

CIL = ('(typeattributeset cil_gen_require user_t)\n'
       '(allow user_t self (perf_event (open read)))\n'
       '(allow user_t self (capability2 (perfmon)))\n'
       '(allow staff_t self (perf_event (open)))\n')


def test_cil_allow_rules():
    assert hv.cil_allow_rules(CIL) == [('staff_t', 'self', 'perf_event', ['open']),
                                       ('user_t', 'self', 'capability2', ['perfmon']),
                                       ('user_t', 'self', 'perf_event', ['open', 'read'])]
    assert hv.cil_allow_rules('not cil') is None


def test_diff_per_installed_checksum():
    rules = [('user_t', 'self', 'perf_event', ['kernel', 'open'])]
    inst = {'name': 'perfsec_perf', 'priority': 300, 'checksum': 'a' * 64,
            'rules': [list(r) for r in hv.cil_allow_rules(CIL)]}
    res = {'h1': {'denials': [], 'installed': inst}, 'h2': {'denials': [], 'installed': inst},
           'h3': {'denials': [], 'installed': None},
           'h4': {'denials': [], 'installed': {'checksum': 'b' * 64, 'rules': [['user_t', 'self', 'file', ['x\n']]]}}}
    d = hv.diff_installed(rules, res)
    assert [e['checksum'] for e in d] == ['a' * 64, 'b' * 64, None]
    assert d[0]['hosts'] == ['h1', 'h2'] and d[0]['add'] == ['allow user_t self:perf_event kernel;']
    assert d[0]['drop'] == ['allow staff_t self:perf_event open;', 'allow user_t self:capability2 perfmon;',
                            'allow user_t self:perf_event read;']
    assert d[1]['installed'] == [] and d[2]['hosts'] == ['h3']
    assert d[2]['add'] == ['allow user_t self:perf_event { kernel open };']


def test_the_window_start_is_not_in_the_file():
    # a sliding window (since = now - 7 days) over the same denials gives the same file
    text = avc('open', ts=T0 + 10)
    assert hv.render('m', hv.merge({'h': result(text, since=T0)}, ['user_t'])) == \
        hv.render('m', hv.merge({'h': result(text, since=T0 + 5)}, ['user_t']))


if given is not None:
    @settings(max_examples=200, deadline=None)
    @given(names=st.lists(st.text(max_size=80), min_size=1, max_size=6))
    def test_any_host_comm_exe_strings_stay_in_comments(names):
        res = {}
        for i, name in enumerate(names):
            g = {'stype': 'user_t', 'ttype': 'user_t', 'tclass': 'perf_event', 'perm': 'open', 'count': 1,
                 'comm': name, 'exe': name[::-1], 'first': T0, 'last': T0}
            res[name + str(i)] = {'denials': [g]}
        te = hv.render('perfsec_perf', hv.merge(res, ['user_t']))
        assert au.parse_allow_rules(te) == [('user_t', 'self', 'perf_event', ['open'])]
        for ln in te.split('\n'):
            assert re.match(r'^[\t -~]*\Z', ln)
            assert ln == '' or ln.startswith(('#', 'allow user_t self:perf_event open;', 'module ', 'require {',
                                              '\ttype user_t;', '\tclass perf_event open;', '}'))


def test_exe_from_a_debian12_enriched_log():
    # recorded on the harvest Molecule VM: perf stat and perf record as perfuser (user_t), user_t permissive
    with open(os.path.join(AUDIT, 'debian12_enriched.log'), 'rb') as f:
        agg = harvest(f.read())
    groups = agg.groups()
    assert [(g['perm'], g['count']) for g in groups] == [('open', 1), ('read', 1), ('write', 1)]
    assert [g['exe'] for g in groups] == ['/usr/bin/perf'] * 3
