"""module_utils/sysctl: precedence, parsing, plans and /proc/sys access on temp trees.

Every test works on tmp_path trees; nothing here writes this machine's /proc/sys or /etc.
"""
import gzip
import os

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import sysctl as sc

from helpers import make_proc, make_root, read_file as _read, write_file as _write


# ---- parsing ----------------------------------------------------------------------------

@pytest.mark.parametrize('raw,key', [
    ('kernel.perf_event_paranoid', 'kernel.perf_event_paranoid'),
    ('-kernel.perf_event_paranoid', 'kernel.perf_event_paranoid'),
    ('kernel/perf_event_paranoid', 'kernel.perf_event_paranoid'),
    ('  kernel.perf_event_paranoid  ', 'kernel.perf_event_paranoid'),
    # first separator a slash: dots and slashes swap (sysctl.d(5))
    ('net/ipv4/conf/enp3s0.200/forwarding', 'net.ipv4.conf.enp3s0/200.forwarding'),
])
def test_normalize_key(raw, key):
    assert sc.normalize_key(raw) == key


def test_parse_lines_skips_comments_and_junk():
    text = ('# kernel.perf_event_paranoid = 9\n; kernel.perf_event_paranoid = 8\n\n'
            'garbage line\nkernel.perf_event_paranoid=1\n  kernel/perf_event_mlock_kb =  600 \n')
    got = sc.parse_lines(text)
    assert [(n, k, v) for n, k, v, _r in got] == [
        (5, 'kernel.perf_event_paranoid', '1'), (6, 'kernel.perf_event_mlock_kb', '600')]


# ---- systemd-sysctl precedence ----------------------------------------------------------

def test_config_files_order_and_shadowing(tmp_path):
    root = make_root(str(tmp_path), {
        '/usr/lib/sysctl.d/50-default.conf': 'kernel.perf_event_paranoid = 1\n',
        '/usr/lib/sysctl.d/10-vendor.conf': 'kernel.perf_event_paranoid = 0\n',
        '/etc/sysctl.d/10-vendor.conf': 'kernel.perf_event_paranoid = -1\n',  # shadows vendor
        '/run/sysctl.d/60-run.conf': 'kernel.perf_event_paranoid = 3\n',
        '/lib/sysctl.d/70-lib.conf': 'kernel.perf_event_paranoid = 4\n',
        '/etc/sysctl.d/README': 'not a .conf file\n',
        '/etc/sysctl.conf': 'kernel.perf_event_paranoid = 2\n',
    })
    os.symlink('../sysctl.conf', os.path.join(root, 'etc/sysctl.d/99-sysctl.conf'))
    os.symlink('/dev/null', os.path.join(root, 'etc/sysctl.d/80-masked.conf'))
    _write(os.path.join(root, 'usr/lib/sysctl.d/80-masked.conf'), 'kernel.perf_event_paranoid = 7\n')
    files = sc.config_files(root)
    assert [f['path'] for f in files] == [
        '/etc/sysctl.d/10-vendor.conf', '/usr/lib/sysctl.d/50-default.conf',
        '/run/sysctl.d/60-run.conf', '/lib/sysctl.d/70-lib.conf', '/etc/sysctl.d/99-sysctl.conf']
    # sysctl.conf reached through the 99-sysctl.conf link is not added a second time
    assert sc.boot_values([sc.PARANOID], root) == {sc.PARANOID: '2'}
    entries = sc.find_entries([sc.PARANOID], root)
    assert [e['value'] for e in entries] == ['-1', '1', '3', '4', '2']


def test_sysctl_conf_without_link_is_applied_last(tmp_path):
    root = make_root(str(tmp_path), {
        '/etc/sysctl.conf': 'kernel.perf_event_paranoid = 1\n',
        '/etc/sysctl.d/zz-late.conf': 'kernel.perf_event_paranoid = 3\n',
    })
    files = sc.config_files(root)
    assert [f['path'] for f in files] == ['/etc/sysctl.d/zz-late.conf', '/etc/sysctl.conf']


def test_absolute_symlink_stays_inside_root(tmp_path):
    root = make_root(str(tmp_path), {'/etc/sysctl.conf': 'kernel.perf_event_paranoid = 1\n'})
    os.makedirs(os.path.join(root, 'etc/sysctl.d'))
    os.symlink('/etc/sysctl.conf', os.path.join(root, 'etc/sysctl.d/99-sysctl.conf'))
    files = sc.config_files(root)
    assert len(files) == 1 and files[0]['real'] == os.path.join(root, 'etc/sysctl.conf')


def test_overriding_entries_later_and_sysctl_conf(tmp_path):
    dropin = '/etc/sysctl.d/50-perf.conf'
    root = make_root(str(tmp_path), {
        '/etc/sysctl.d/10-early.conf': 'kernel.perf_event_paranoid = 0\n',   # before: harmless
        '/usr/lib/sysctl.d/60-vendor.conf': 'kernel.perf_event_paranoid = 3\n',  # later: wins
        '/etc/sysctl.d/70-same.conf': 'kernel.perf_event_paranoid = 2\n',    # same value: fine
        '/etc/sysctl.conf': '# x\nkernel.perf_event_paranoid=1\n',         # procps: last
    })
    got = sc.overriding_entries({sc.PARANOID: '2'}, dropin, root)
    assert [(e['path'], e['line'], e['value']) for e in got] == [
        ('/usr/lib/sysctl.d/60-vendor.conf', 1, '3'), ('/etc/sysctl.conf', 2, '1')]
    assert 'sysctl --system' in got[1]['reason']
    # a drop-in that sorts after everything only has sysctl.conf against it
    got = sc.overriding_entries({sc.PARANOID: '2'}, '/etc/sysctl.d/99-zz-perfsec-perf.conf', root)
    assert [e['path'] for e in got] == ['/etc/sysctl.conf']


def test_overriding_ignores_the_dropin_itself(tmp_path):
    dropin = '/etc/sysctl.d/99-zz-perfsec-perf.conf'
    root = make_root(str(tmp_path), {dropin: 'kernel.perf_event_paranoid = 1\n'})
    assert sc.overriding_entries({sc.PARANOID: '2'}, dropin, root) == []


def test_comment_out_plan_in_place_and_vendor_shadow(tmp_path):
    dropin = '/etc/sysctl.d/50-perf.conf'
    vendor = 'kernel.perf_event_paranoid = 3\nkernel.kptr_restrict = 1\n'
    root = make_root(str(tmp_path), {
        '/usr/lib/sysctl.d/60-vendor.conf': vendor,
        '/etc/sysctl.conf': 'a.b = 1\nkernel.perf_event_paranoid=1\n',
    })
    entries = sc.overriding_entries({sc.PARANOID: '2'}, dropin, root)
    plans = dict((p['path'], p) for p in sc.comment_out_plan(entries, dropin, root))
    assert sorted(plans) == ['/etc/sysctl.conf', '/etc/sysctl.d/60-vendor.conf']
    conf = plans['/etc/sysctl.conf']
    assert conf['after'] == ('a.b = 1\n# perfsec.selinux: overridden by /etc/sysctl.d/50-perf.conf: '
                             'kernel.perf_event_paranoid=1\n')
    shadow = plans['/etc/sysctl.d/60-vendor.conf']
    assert shadow['shadows'] == '/usr/lib/sysctl.d/60-vendor.conf' and shadow['before'] == ''
    assert 'kernel.kptr_restrict = 1' in shadow['after']
    # after applying the plan (and the drop-in), nothing overrides any more
    for p in plans.values():
        _write(p['real'], p['after'])
    _write(os.path.join(root, dropin.lstrip('/')), sc.render_dropin([(sc.PARANOID, 2)]))
    assert sc.overriding_entries({sc.PARANOID: '2'}, dropin, root) == []
    assert sc.boot_values([sc.PARANOID, 'kernel.kptr_restrict'], root) == {
        sc.PARANOID: '2', 'kernel.kptr_restrict': '1'}
    assert _read(os.path.join(root, 'usr/lib/sysctl.d/60-vendor.conf')) == vendor


def test_boot_values_with_planned_contents(tmp_path):
    root = make_root(str(tmp_path), {'/etc/sysctl.d/10-a.conf': 'kernel.perf_event_paranoid = 0\n'})
    planned = {'/etc/sysctl.d/99-zz-perfsec-perf.conf': 'kernel.perf_event_paranoid = 2\n'}
    assert sc.boot_values([sc.PARANOID], root) == {sc.PARANOID: '0'}
    assert sc.boot_values([sc.PARANOID], root, planned) == {sc.PARANOID: '2'}
    assert not os.path.exists(os.path.join(root, 'etc/sysctl.d/99-zz-perfsec-perf.conf'))


def test_render_dropin():
    text = sc.render_dropin([(sc.PARANOID, 2), (sc.MLOCK_KB, 1024)])
    assert text.endswith('kernel.perf_event_paranoid = 2\nkernel.perf_event_mlock_kb = 1024\n')
    assert [(k, v) for _n, k, v, _r in sc.parse_lines(text)] == [
        (sc.PARANOID, '2'), (sc.MLOCK_KB, '1024')]


# ---- /proc/sys ----------------------------------------------------------------------------

def test_read_write_value_on_fixture(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=3)
    assert sc.read_value(sc.PARANOID, proc) == 3
    sc.write_value(sc.PARANOID, -1, proc)
    assert _read(os.path.join(proc, 'sys/kernel/perf_event_paranoid')) == '-1\n'


@pytest.mark.parametrize('name,words', [
    ('kernel.perf_event_bogus', 'unknown sysctl kernel.perf_event_bogus'),
    ('Kernel Paranoid', 'invalid sysctl name'),
])
def test_unknown_or_bad_sysctl_name(tmp_path, name, words):
    proc = make_proc(str(tmp_path))
    with pytest.raises(sc.SysctlError) as e:
        sc.read_value(name, proc)
    assert words in str(e.value)
    with pytest.raises(sc.SysctlError):
        sc.write_value(name, 1, proc)


def test_proc_sys_readonly_from_mountinfo(tmp_path):
    proc = make_proc(str(tmp_path))
    mi = os.path.join(proc, 'self/mountinfo')
    _write(mi, '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n')
    assert sc.proc_sys_readonly(proc) is False
    _write(mi, '22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n'
               '30 22 0:21 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw\n')
    assert sc.proc_sys_readonly(proc) is True


# ---- levels ---------------------------------------------------------------------------------

def test_levels_upstream_kernel(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=2)
    levels, evidence = sc.supported_levels(proc, str(tmp_path))
    assert levels == [-1, 0, 1, 2] and evidence == []


def test_levels_debian_config_in_boot(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=2)
    _write(os.path.join(str(tmp_path), 'boot/config-6.1.0-test'),
           'CONFIG_PERF_EVENTS=y\n# CONFIG_SECURITY_PERF_EVENTS_RESTRICT is not set\n')
    levels, evidence = sc.supported_levels(proc, str(tmp_path))
    assert levels == [-1, 0, 1, 2, 3] and 'CONFIG_SECURITY_PERF_EVENTS_RESTRICT' in evidence[0]


def test_levels_config_gz(tmp_path):
    proc = make_proc(str(tmp_path), paranoid=2)
    with gzip.open(os.path.join(proc, 'config.gz'), 'wt') as f:
        f.write('CONFIG_SECURITY_PERF_EVENTS_RESTRICT=y\n')
    assert 3 in sc.supported_levels(proc, str(tmp_path))[0]


@pytest.mark.parametrize('version,paranoid,expected', [
    ('#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)', 2, [-1, 0, 1, 2, 3]),
    ('#27-Ubuntu SMP PREEMPT_DYNAMIC', 2, [-1, 0, 1, 2, 3, 4]),
    ('#1 SMP', 4, [-1, 0, 1, 2, 3, 4]),
    ('#1 SMP', 3, [-1, 0, 1, 2, 3]),
])
def test_levels_from_build_string_or_value(tmp_path, version, paranoid, expected):
    proc = make_proc(str(tmp_path), paranoid=paranoid, version=version)
    assert sc.supported_levels(proc, str(tmp_path))[0] == expected


@pytest.mark.skipif(not os.path.exists('/proc/sys/kernel/perf_event_paranoid'),
                    reason='no perf events in this kernel')
def test_levels_this_host_read_only():
    # only reads this machine's /proc: whatever the kernel, its current level is supported
    levels, _ev = sc.supported_levels()
    assert levels[:4] == [-1, 0, 1, 2]
    assert sc.read_value(sc.PARANOID) in levels


@pytest.mark.parametrize('params,word', [
    ({'level': 5}, 'invalid level 5'),
    ({'level': -2}, 'invalid level -2'),
    ({'mlock_kb': -1}, 'invalid mlock_kb'),
    ({'max_sample_rate': 0}, 'invalid max_sample_rate'),
    ({'cpu_time_max_percent': 101}, 'invalid cpu_time_max_percent'),
    ({'cpu_time_max_percent': -1}, 'invalid cpu_time_max_percent'),
])
def test_validate(params, word):
    errors = sc.validate(params)
    assert len(errors) == 1 and word in errors[0]


def test_validate_ok():
    assert sc.validate({'level': -1, 'mlock_kb': 0, 'max_sample_rate': 1,
                        'cpu_time_max_percent': 100}) == []


# ---- issue 13: parse as systemd-sysctl/procps do (finding 5), types (finding 7) -------------
# Python's splitlines() breaks lines at these, and str.strip()/split() take NBSP and friends
# for white space; neither systemd-sysctl nor procps does.
PY_ONLY_BREAKS = ['\f', '\v', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029']


@pytest.mark.parametrize('brk', PY_ONLY_BREAKS, ids=lambda c: 'U+%04X' % ord(c))
def test_comment_is_never_an_assignment(tmp_path, brk):
    text = '# was: 1%skernel.perf_event_paranoid = 1\n; x%skernel.perf_event_mlock_kb=9\n' % (brk, brk)
    assert sc.parse_lines(text) == []
    root = str(tmp_path)
    with open(os.path.join(root, 'sysctl.conf'), 'wb') as f:
        f.write(text.encode('utf-8'))
    os.makedirs(os.path.join(root, 'etc'))
    os.rename(os.path.join(root, 'sysctl.conf'), os.path.join(root, 'etc/sysctl.conf'))
    # a comment in /etc/sysctl.conf is no override of the drop-in
    assert sc.overriding_entries({sc.PARANOID: '2'}, sc.DEFAULT_DROPIN, root) == []
    assert sc.boot_values([sc.PARANOID], root) == {sc.PARANOID: None}


@pytest.mark.parametrize('text,expected', [
    # systemd-sysctl's read_line() ends a line at NUL and at a lone CR too: applied at boot
    ('# note\0kernel.perf_event_paranoid = 1\n', [(2, sc.PARANOID, '1')]),
    ('# note\rkernel.perf_event_paranoid = 1\n', [(2, sc.PARANOID, '1')]),
    # CRLF is one line end (line numbers as an editor shows them)
    ('# a\r\nkernel.perf_event_paranoid = 1\r\n', [(2, sc.PARANOID, '1')]),
    # C isspace (\v \f) is stripped, NBSP / U+2028 are part of the key or value
    ('\v\fkernel.perf_event_paranoid\t=\f3\v\n', [(1, sc.PARANOID, '3')]),
    ('kernel.perf_event_paranoid = 2\xa0\n', [(1, sc.PARANOID, '2\xa0')]),
    ('\xa0kernel.perf_event_paranoid = 2\n', [(1, '\xa0kernel.perf_event_paranoid', '2')]),
    ('kernel.perf_event_paranoid = 2\u2028kernel.perf_event_mlock_kb = 9\n',
     [(1, sc.PARANOID, '2\u2028kernel.perf_event_mlock_kb = 9')]),
])
def test_lines_and_white_space_as_the_tools_read_them(text, expected):
    assert [(n, k, v) for n, k, v, _r in sc.parse_lines(text)] == expected


def test_assignment_after_nul_is_found_and_commented_out(tmp_path):
    root = str(tmp_path)
    conf = os.path.join(root, 'etc/sysctl.d/zz-late.conf')
    os.makedirs(os.path.dirname(conf))
    with open(conf, 'wb') as f:
        f.write(b'vm.swappiness = 10\0kernel.perf_event_paranoid = 3\r\nx.y = 1\r\n')
    got = sc.overriding_entries({sc.PARANOID: '2'}, '/etc/sysctl.d/50-perf.conf', root)
    assert [(e['path'], e['line'], e['value']) for e in got] == [('/etc/sysctl.d/zz-late.conf', 2, '3')]
    plan = sc.comment_out_plan(got, '/etc/sysctl.d/50-perf.conf', root)[0]
    assert plan['after'] == ('vm.swappiness = 10\0# perfsec.selinux: overridden by '
                             '/etc/sysctl.d/50-perf.conf: kernel.perf_event_paranoid = 3\r\nx.y = 1\r\n')
    assert [(k, v) for _n, k, v, _r in sc.parse_lines(plan['after'])] == [
        ('vm.swappiness', '10'), ('x.y', '1')]


def test_values_differing_only_in_python_white_space_differ():
    assert sc.norm_value(' 1 \t 2\v') == '1 2'
    assert sc.norm_value('1\xa0') != sc.norm_value('1')


def test_non_utf8_file_is_parsed_and_never_edited(tmp_path):
    root = str(tmp_path)
    conf = os.path.join(root, 'etc/sysctl.conf')
    os.makedirs(os.path.dirname(conf))
    with open(conf, 'wb') as f:
        f.write(b'# caf\xe9\nkernel.perf_event_paranoid = 1\n')
    got = sc.overriding_entries({sc.PARANOID: '2'}, sc.DEFAULT_DROPIN, root)
    assert [(e['line'], e['value']) for e in got] == [(2, '1')]
    with pytest.raises(sc.SysctlError, match='not UTF-8'):
        sc.comment_out_plan(got, sc.DEFAULT_DROPIN, root)


@pytest.mark.parametrize('opt', ['level', 'mlock_kb', 'max_sample_rate', 'cpu_time_max_percent'])
@pytest.mark.parametrize('value', [True, False])
def test_validate_refuses_booleans(opt, value):
    errors = sc.validate({opt: value})
    assert len(errors) == 1 and ('invalid %s %r: give an integer, not a bool' % (opt, value)) in errors[0]


@pytest.mark.parametrize('dropin,ok', [
    ('/etc/sysctl.d/99-zz-perfsec-perf.conf', True),
    ('/run/sysctl.d/50-perf@host.conf', True),
    ('/etc/sysctl.conf', False),
    ('/etc/sysctl.d/../sysctl.conf', False),
    ('/etc/sysctl.d//x.conf', False),
    ('/etc/sysctl.d/sub/x.conf', False),
    ('/etc/sysctl.d/x.txt', False),
    ('/etc/sysctl.d/.hidden.conf', False),
    ('/etc/sysctl.d/-x.conf', False),
    ('/etc/sysctl.d/.conf', False),
    ('/etc/sysctl.d/x.conf\n', False),
    ('/usr/lib/sysctl.d/50-x.conf', False),
    ('etc/sysctl.d/x.conf', False),
])
def test_check_dropin_path(dropin, ok):
    assert (sc.check_dropin_path(dropin) is None) is ok
