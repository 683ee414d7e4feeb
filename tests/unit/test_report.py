"""The fleet report end to end: the real playbook perfsec.selinux.report (collection path)
against two ansible_connection=local hosts whose perf_mac_facts read two different fake
roots (report_facts_root), then the HTML rendered by Debian's chromium headless: DOM
assertions and a screenshot.

Set PERFSEC_REPORT_SCREENSHOT=PATH to keep a copy of the screenshot (docs/report-example.png
was made that way).
"""
import bz2
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
from html.parser import HTMLParser

import pytest

from helpers import make_proc, make_root, write_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'
MANAGED = '# Managed by perfsec.selinux.perf_paranoid: local changes will be overwritten.\n'
XSS = '<script>alert(1)</script>'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

pytestmark = pytest.mark.slow


def avc(ts, perms, stype, tclass='perf_event', comm='perf', serial=1):
    return ('type=AVC msg=audit(%.3f:%d): avc:  denied  { %s } for  pid=4242 comm="%s" '
            'scontext=user_u:user_r:%s:s0 tcontext=user_u:user_r:%s:s0 tclass=%s permissive=1\n'
            % (ts, serial, ' '.join(perms), comm, stype, stype, tclass))


def make_selinuxfs(base, enforce, perf_event):
    fs = os.path.join(base, 'sys/fs/selinux')
    write_file(os.path.join(fs, 'enforce'), '%d' % enforce)
    write_file(os.path.join(fs, 'policyvers'), '33')
    write_file(os.path.join(fs, 'deny_unknown'), '1')
    if perf_event:
        for p in ('cpu', 'kernel', 'open', 'read', 'tracepoint', 'write'):
            write_file(os.path.join(fs, 'class/perf_event/perms', p), '1')
        write_file(os.path.join(fs, 'class/capability2/perms/perfmon'), '1')
    write_file(os.path.join(fs, 'class/capability2/perms/syslog'), '1')


def add_module(base, name, priority, cil, enabled=True, store='targeted'):
    d = os.path.join(base, 'var/lib/selinux', store, 'active/modules', str(priority), name)
    write_file(os.path.join(d, 'lang_ext'), 'pp')
    with open(os.path.join(d, 'cil'), 'wb') as f:
        f.write(bz2.compress(cil.encode()))
    if not enabled:
        write_file(os.path.join(base, 'var/lib/selinux', store, 'active/modules/disabled', name), '')


def add_perf_users_binary(base, caps):
    path = os.path.join(base, 'opt/perf_users/perf')
    write_file(path, '\x7fELF not really perf\n')
    os.chmod(path, 0o750)
    if os.geteuid() == 0:
        os.chown(path, 0, 998)                              # perf_users in the fake /etc/group
    if caps and shutil.which('setcap'):
        subprocess.run(['setcap', caps, path], check=False)


# a perf_event_open() logged by the audit rule of perf_audit_rule (issue 17)
AUDIT_HIT = ('type=SYSCALL msg=audit(%.3f:9): arch=c000003e syscall=298 success=yes exit=3 auid=1001 uid=1001 '
             'comm="perf" exe="/usr/bin/perf" subj=user_u:user_r:user_t:s0 key="perfsec-perf"'
             '\x1dARCH=x86_64 SYSCALL=perf_event_open AUID="alice" UID="alice"\n')


def make_good_host(base, changed):
    """Debian-like, enforcing, class defined, paranoid 2 from the perfsec drop-in, perf_users set up."""
    make_proc(base, paranoid=2, release='6.1.0-28-amd64', extra={'kptr_restrict': 1})
    make_selinuxfs(base, enforce=1, perf_event=True)
    make_root(base, {
        '/etc/selinux/config': 'SELINUX=enforcing\nSELINUXTYPE=targeted\n',
        DROPIN: MANAGED + 'kernel.perf_event_paranoid = 2\n',
        '/etc/group': 'root:x:0:\nperf_users:x:998:alice,bob\n',
        '/var/log/audit/audit.log': 'type=DAEMON_START msg=audit(%.3f:1): op=start\n' % time.time()
        + AUDIT_HIT % time.time(),
    })
    add_module(base, 'perf_local', 300, '(allow user_t self (perf_event (open cpu)))\n')
    add_perf_users_binary(base, 'cap_perfmon,cap_sys_ptrace,cap_syslog=ep')
    os.utime(os.path.join(base, DROPIN.lstrip('/')), (changed, changed))
    os.utime(os.path.join(base, 'var/lib/selinux/targeted/active/modules/300/perf_local'), (changed - 60, changed - 60))
    for p in ('cil', 'lang_ext'):
        os.utime(os.path.join(base, 'var/lib/selinux/targeted/active/modules/300/perf_local', p), (changed - 60, changed - 60))
    os.utime(os.path.join(base, 'opt/perf_users/perf'), (changed - 120, changed - 120))


def make_bad_host(base):
    """Fedora 31-like: permissive at runtime, no perf_event class, paranoid 1 set at runtime only
    (a file says 2), the same module with other content and disabled, relabel pending, denials."""
    now = time.time()
    make_proc(base, paranoid=1, release='5.3.7-301.fc31.x86_64')
    make_selinuxfs(base, enforce=0, perf_event=False)
    make_root(base, {
        '/etc/selinux/config': 'SELINUX=enforcing\nSELINUXTYPE=targeted\n',
        '/etc/sysctl.d/10-perf.conf': 'kernel.perf_event_paranoid = 2\n',
        '/etc/group': 'root:x:0:\nperf_users:x:998:\n',
        '/.autorelabel': '',
        # policy_install's record of rebuilt packages this root's rpm database does not have:
        # a package update replaced them
        '/var/lib/perfsec/policy-backup/k1/state.json':
            '{"installed": ["selinux-policy-3.14.4-50.fc31.perf1.noarch"], "previous": []}\n',
        '/var/log/audit/audit.log': ''.join([
            avc(now - 600, ['open'], 'user_t', serial=1),
            avc(now - 300, ['cpu', 'kernel'], 'user_t', serial=2),
            avc(now - 200, ['perfmon'], 'staff_t', tclass='capability2', comm=XSS, serial=3),
        ]),
    })
    add_module(base, 'perf_local', 300, '(allow user_t self (perf_event (open)))\n', enabled=False)
    add_perf_users_binary(base, None)
    if shutil.which('rpm'):
        subprocess.check_call(['rpm', '--root', base, '--initdb'])   # an rpm database without the record's packages


def tree_snapshot(base):
    out = {}
    for d, dirs, files in os.walk(base):
        for n in dirs + files:
            if n.endswith('.LOCK'):
                continue                                    # semodule's read lock
            if n == 'rpmdb.sqlite-shm':
                continue                                    # sqlite's WAL index: every rpm -q reader maps it
            p = os.path.join(d, n)
            st = os.lstat(p)
            # a directory's mtime moves when semodule creates its lock file in the store
            out[p] = (st.st_mode, st.st_size, None if stat.S_ISDIR(st.st_mode) else st.st_mtime)
    return out


def run_playbook(tmp, inventory, outdir, check=False, extra=()):
    ap = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(ap):
        pytest.skip('ansible-playbook is not installed in this lane (%s)' % sys.executable)
    env = dict(os.environ, LC_ALL='C.UTF-8', LANG='C.UTF-8',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCAL_TEMP=os.path.join(tmp, 'ansible-tmp'))
    cmd = [ap, '-i', inventory, 'perfsec.selinux.report', '-e', 'report_output_dir=%s' % outdir]
    for e in extra:
        cmd += ['-e', e]
    if check:
        cmd.append('--check')
    res = subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout
    return res.stdout


class DomRows(HTMLParser):
    """Rows of table#hosts: {host: {'classes': {cell class: set}, 'text': {cell: text}}}, the
    summary numbers, and every start tag (to check nothing external or scripted)."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows, self.summary, self.tags = {}, {}, []
        self.host, self.cell, self.dd = None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == 'tr' and 'data-host' in a:
            self.host = a['data-host']
            self.rows[self.host] = {'attention': a.get('data-attention', '').split(), 'cells': {}, 'text': {}}
        elif tag == 'td' and self.host:
            classes = (a.get('class') or '').split()
            name = [c for c in classes if c.startswith('c-')] or ['host']
            self.cell = name[0]
            self.rows[self.host]['cells'][self.cell] = set(classes)
            self.rows[self.host]['text'][self.cell] = ''
        elif tag == 'dd' and a.get('id', '').startswith('n-'):
            self.dd = a['id'][2:]

    def handle_endtag(self, tag):
        if tag == 'tr':
            self.host = None
        elif tag == 'td':
            self.cell = None
        elif tag == 'dd':
            self.dd = None

    def handle_data(self, data):
        if self.host and self.cell:
            self.rows[self.host]['text'][self.cell] += data
        if self.dd:
            self.summary[self.dd] = int(data.strip())


def png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', head[16:24])


def chromium(*args):
    exe = shutil.which('chromium')
    if not exe:
        pytest.skip('chromium is not installed (apt-get install chromium; scripts/setup.sh does it)')
    return subprocess.run([exe] + CHROMIUM_FLAGS + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=180, check=False)


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    if not shutil.which('chromium'):
        pytest.skip('chromium is not installed (apt-get install chromium; scripts/setup.sh does it)')
    tmp = str(tmp_path_factory.mktemp('report'))
    good, bad = os.path.join(tmp, 'roots/web-01'), os.path.join(tmp, 'roots/build-01')
    make_good_host(good, changed=time.time() - 3 * 86400)
    make_bad_host(bad)
    inventory = os.path.join(tmp, 'hosts.ini')
    write_file(inventory, '\n'.join([
        '[fleet]',
        'web-01.example.org report_facts_root=%s' % good,
        'build-01.example.org report_facts_root=%s' % bad,
        '[fleet:vars]',
        'ansible_connection=local',
        'ansible_python_interpreter=%s' % sys.executable,
        '']))
    # who should be able to use perf (report_expected_access): web-01 as it is; on build-01 someone
    # expects other users to be blocked, but paranoid 1 lets them count their own processes
    write_file(os.path.join(tmp, 'host_vars/web-01.example.org.yml'),
               'report_expected_access: {root: allowed, other: partial}\n')
    write_file(os.path.join(tmp, 'host_vars/build-01.example.org.yml'),
               'report_expected_access: {root: allowed, other: blocked}\n')
    before = (tree_snapshot(good), tree_snapshot(bad))
    outdir = os.path.join(tmp, 'out')
    log = run_playbook(tmp, inventory, outdir)
    assert (tree_snapshot(good), tree_snapshot(bad)) == before, 'the report changed a host'
    return {'tmp': tmp, 'out': outdir, 'log': log, 'inventory': inventory,
            'html': os.path.join(outdir, 'perfsec-report.html'),
            'md': os.path.join(outdir, 'perfsec-report.md')}


def test_files_written_0644(report):
    for p in (report['html'], report['md']):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644
    replaced = 'policy_replaced, ' if shutil.which('rpm') else ''
    assert ('attention: selinux, class, %srelabel, denials, paranoid, paranoid_source, perf_users, access, checksum'
            % replaced) in report['log']
    assert 'attention: checksum' in report['log']


def test_html_is_static_and_escaped(report):
    with open(report['html']) as f:
        html = f.read()
    assert html.startswith('<!DOCTYPE html>')
    assert XSS not in html and '&lt;script&gt;alert(1)&lt;/script&gt;' in html
    p = DomRows()
    p.feed(html)
    for tag, attrs in p.tags:
        assert tag not in ('script', 'link', 'img', 'iframe', 'object', 'embed'), tag
        for k, v in attrs.items():
            assert not k.startswith('on'), (tag, k)
            assert '://' not in (v or ''), (tag, k, v)


def test_markdown(report):
    with open(report['md']) as f:
        md = f.read()
    lines = [ln for ln in md.splitlines() if ln.startswith('| ')]
    assert len(lines) == 3                                   # header + one row per host
    assert all(ln.count(' | ') >= 10 for ln in lines)
    assert '- Only root can use perf: **0**' in md and '- Who can use perf differs from the expected: **1**' in md
    assert '- Hosts: **2**' in md and '- SELinux enforcing: **1**' in md
    assert '- perf_event class defined: **1**' in md and '- Need attention: **2**' in md
    bad = [ln for ln in lines if 'build-01' in ln][0]
    assert '⚠ permissive / enforcing' in bad and '⚠ pending' in bad and '**differs across fleet**' in bad
    assert '`other` partial by paranoid **expected blocked**' in bad
    good = [ln for ln in lines if 'web-01' in ln][0]
    assert '(perfsec)' in good and '⚠ enforcing' not in good
    assert XSS not in md


def test_chromium_dom(report):
    res = chromium('--user-data-dir=%s' % os.path.join(report['tmp'], 'chromium-dom'),
                   '--dump-dom', 'file://' + report['html'])
    assert res.returncode == 0, res.stderr
    dom = res.stdout
    assert '<table id="hosts">' in dom and '<script' not in dom
    p = DomRows()
    p.feed(dom)
    assert p.summary == {'hosts': 2, 'enforcing': 1, 'class': 1, 'attention': 2, 'only-root': 0, 'access-mismatch': 1,
                         'stig-pass': 1, 'audit-hits': 1}
    assert sorted(p.rows) == ['build-01.example.org', 'web-01.example.org']
    good, bad = p.rows['web-01.example.org'], p.rows['build-01.example.org']

    def attn(row):
        return sorted(c for c, cl in row['cells'].items() if 'attn' in cl)
    # web-01 is fine except that its perf_local differs from build-01's
    assert attn(good) == ['c-modules', 'host']
    assert good['attention'] == ['checksum']
    if shutil.which('rpm'):
        assert attn(bad) == ['c-access', 'c-class', 'c-denials', 'c-modules', 'c-paranoid', 'c-perf-users',
                             'c-policy', 'c-relabel', 'c-selinux', 'host']
        assert 'policy_replaced' in bad['attention']
        assert 'rebuilt packages were replaced by a package update' in bad['text']['c-policy']
    else:
        assert 'policy_replaced' not in bad['attention']    # rpm cannot tell: not flagged
    assert 'checksum differs across fleet' in good['text']['c-modules']
    assert good['text']['c-paranoid'].startswith('2') and DROPIN in good['text']['c-paranoid']
    assert 'runtime' not in good['text']['c-paranoid']
    assert 'file sets 2, kernel runs 1' in bad['text']['c-paranoid']
    assert bad['text']['c-selinux'].startswith('permissive / enforcing')
    assert bad['text']['c-denials'].startswith('3')
    assert 'user_t perf_event { cpu kernel open } ×2' in bad['text']['c-denials']
    assert XSS in bad['text']['c-denials']                  # shown as text, not run
    assert 'group perf_users (2 members)' in good['text']['c-perf-users']
    if shutil.which('getcap') and os.geteuid() == 0:
        assert 'cap_perfmon' in good['text']['c-perf-users'] and 'cap_syslog, ' in good['text']['c-perf-users']
        assert 'caps none' in bad['text']['c-perf-users']
    assert DROPIN in good['text']['c-change']
    # who can use perf, in words: the Debian-like host at paranoid 2, the Fedora-31-like one at 1
    ga, ba = good['text']['c-access'], bad['text']['c-access']
    assert 'root allowed by capability' in ga and 'CAP_SYS_ADMIN passes perf_event_paranoid' in ga
    assert 'other partial by paranoid' in ga
    assert 'perf_event_paranoid 2 (debian) refuses CPU-wide events without CAP_PERFMON' in ga
    assert 'user_t partial by paranoid' in ga                   # perf_local grants it, paranoid 2 comes first
    assert 'c-access' not in attn(good)
    assert 'other partial by paranoid expected blocked' in ba
    assert 'perf_users partial by paranoid' in ba               # the copy has no file capabilities
    assert 'perf_event_paranoid 1 (upstream) refuses CPU-wide events' in ba
    # its 5.3 kernel predates the perf_event LSM hook (5.5): SELinux cannot mediate, whatever the policy
    assert 'user_t partial by hook' in ba and 'SELinux cannot mediate perf_event_open() on kernel 5.3.7' in ba
    if shutil.which('getcap') and os.geteuid() == 0:
        assert 'perf_users allowed by capability' in ga and 'CAP_PERFMON on the privileged perf copy' in ga
    # the STIG / CaC check beside the verdict (issue 17): the drop-in's 2 wins on web-01; build-01 runs 1
    gs, bs = good['text']['c-stig'], bad['text']['c-stig']
    assert gs.startswith('pass') and DROPIN + ':2 wins (2), runtime 2' in gs
    assert bs.startswith('fail') and '/etc/sysctl.d/10-perf.conf:1 wins (2), runtime 1' in bs
    assert 'the running value is 1' in bs
    assert 'c-stig' not in attn(bad)                     # report_profile default: shown, not flagged
    # the audit rule's hits; kptr_restrict in the paranoid cell
    assert 'rule not set' in good['text']['c-audit'] and '1 perf_event_open() (0 failed) by alice (1)' in good['text']['c-audit']
    assert 'no perf_event_open() logged' in bad['text']['c-audit']
    if shutil.which('getcap') and os.geteuid() == 0:
        assert 'kptr_restrict 1: kernel symbols for root, perf_users' in good['text']['c-paranoid']
    assert 'kptr_restrict' not in bad['text']['c-paranoid']     # unreadable: not shown


def test_chromium_screenshot(report):
    png = os.path.join(report['tmp'], 'report.png')
    res = chromium('--user-data-dir=%s' % os.path.join(report['tmp'], 'chromium-shot'), '--hide-scrollbars',
                   '--screenshot=%s' % png, '--window-size=1400,900', 'file://' + report['html'])
    assert res.returncode == 0, res.stderr
    assert png_size(png) == (1400, 900)
    assert os.path.getsize(png) > 30000                    # a rendered table, not a blank page
    keep = os.environ.get('PERFSEC_REPORT_SCREENSHOT')
    if keep:
        shutil.copyfile(png, keep)


def test_check_mode_can_skip_writing(report):
    out = os.path.join(report['tmp'], 'out-check')
    run_playbook(report['tmp'], report['inventory'], out, check=True, extra=['report_write_in_check_mode=false'])
    assert not os.path.exists(out)
    run_playbook(report['tmp'], report['inventory'], out, check=True)
    assert os.path.exists(os.path.join(out, 'perfsec-report.html'))
