"""perfsec_class_source=module against the real tools: a throwaway store whose base module lacks
class perf_event (Debian's packaged base as CIL with the class, its classorder entry and every
rule using it taken out, as Fedora 31's policy is), the class module plan.CLASS_MODULE_CIL
installed into it by perf_semodule, and what the plan reads back.

The kernel side (the class appearing in selinuxfs without a reboot, the AVCs, perf working
once the perf module is in) is the Molecule scenario fc31like's."""
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import plan as planner
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.modules import perf_mac_facts as pmf
from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule

from helpers import run_module

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
from test_semodule import PKG_DIR, STORE, RealModule, _tools_missing  # noqa: E402  pylint: disable=wrong-import-position

TE_PERF = """module perftest 1.0;
require {
\ttype user_t;
\tclass perf_event { open };
}
allow user_t self:perf_event { open };
"""


def _base_without_perf_event(text):
    out = []
    for line in text.split('\n'):
        if line.startswith('(classorder ') and ' perf_event' in line:
            out.append(re.sub(r' perf_event\b', '', line))
        elif 'perf_event' not in line:
            out.append(line)
    return '\n'.join(out)


@pytest.fixture
def fc31_store(tmp_path):
    """A store root (SELinux off: no selinuxfs) whose base lacks class perf_event: dict(root, store)."""
    if _tools_missing() or not os.access(sm.HLL_PP, os.X_OK):
        pytest.skip('SELinux tools or packaged policy missing')
    root = str(tmp_path / 'root')
    for d in ('var/lib/selinux', 'etc/selinux'):
        os.makedirs(os.path.join(root, d))
    with open(os.path.join(root, 'etc/selinux/config'), 'w') as f:
        f.write('SELINUX=permissive\nSELINUXTYPE=%s\n' % STORE)
    files = []
    for name in ('base', 'unprivuser'):
        pp = subprocess.run(['bzcat', os.path.join(PKG_DIR, name + '.pp.bz2')], stdout=subprocess.PIPE,
                            check=True).stdout
        if name == 'base':
            cil = subprocess.run([sm.HLL_PP], input=pp, stdout=subprocess.PIPE, check=True).stdout.decode()
            cil = '\n'.join(ln for ln in cil.split('\n') if not re.match(r'^\(selinuxuser \S+ xdm ', ln))
            path = str(tmp_path / 'base.cil')
            with open(path, 'w') as f:
                f.write(_base_without_perf_event(cil))
        else:
            path = str(tmp_path / (name + '.pp'))
            with open(path, 'wb') as f:
                f.write(pp)
        files.append(path)
    subprocess.run(['semodule', '-p', root, '-s', STORE, '-N', '-X', '100', '-i'] + files,
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return {'root': root, 'store': STORE, 'cil': str(tmp_path / 'perfsec_perf_event.cil')}


def _plan(capsys, root, **want):
    w = dict(class_source='module')
    w.update(want)
    r = run_module(pmf.main, capsys, check=True, root=root, gather_denials=False, gather_modules=False, plan=w)
    assert r.get('failed') is not True, r
    return r['ansible_facts']['perfsec']['plan']


def _install(capsys, s, check=False, **kw):
    args = dict(name=planner.CLASS_MODULE_NAME, priority=planner.CLASS_MODULE_PRIORITY, src=s['cil'],
                root=s['root'], store=s['store'])
    args.update(kw)
    if 'content' in kw:     # the rollout's way: the CIL text, no file on the host
        del args['src']
    return run_module(perf_semodule.main, capsys, check=check, **args)


@pytest.mark.slow
def test_class_module_route_real_store(fc31_store, capsys):
    s = fc31_store
    # the store's policy lacks the class: a .te that uses perf_event does not build against it
    bad = run_module(perf_semodule.main, capsys, name='perftest', content=TE_PERF, root=s['root'], store=s['store'])
    assert bad.get('failed') is True and 'perf_event' in bad['msg'], bad

    p = _plan(capsys, s['root'])
    assert p['policy']['perf_event_class'] is False and p['policy']['source'] == 'installed'
    assert [x['step'] for x in p['steps']][:1] == ['class_module']
    assert not p['needs']['policy_build'] and not p['needs']['policy_install']
    assert p['class_module']['installed'] is False and p['class_module']['cil'] == planner.CLASS_MODULE_CIL
    # the rebuild route on the same store rebuilds instead
    assert _plan(capsys, s['root'], class_source='rebuild')['needs']['policy_build'] is True

    with open(s['cil'], 'w') as f:
        f.write(p['class_module']['cil'])
    os.chmod(s['cil'], 0o600)
    chk = _install(capsys, s, check=True)
    assert chk['changed'] is True and not os.path.isdir(
        os.path.join(s['root'], 'var/lib/selinux', STORE, 'active/modules/250'))
    inst = _install(capsys, s)
    assert inst['changed'] is True, inst
    # the checksum the plan expects is the one the store shows for the installed CIL
    assert inst['checksum'] == p['class_module']['desired_checksum']
    again = _install(capsys, s)
    assert again['changed'] is False
    # the same CIL given as content (what the rollout passes) is the same module: no change
    c1 = sm.commit_num(s['root'], s['store'])
    as_text = _install(capsys, s, content=p['class_module']['cil'], content_format='cil')
    assert as_text['changed'] is False and as_text['checksum'] == p['class_module']['desired_checksum'], as_text
    # CIL content that does not parse: one message, its text not shown, the store untouched
    bad_text = _install(capsys, s, content='(class perf_event (open cpu ; SECRETHASH', content_format='cil')
    assert bad_text.get('failed') is True and 'content is not a CIL module' in bad_text['msg'], bad_text
    assert 'SECRETHASH' not in bad_text['msg'] and sm.commit_num(s['root'], s['store']) == c1

    p = _plan(capsys, s['root'])
    assert p['class_module']['installed'] is True and p['class_module']['checksum'] == p['class_module']['desired_checksum']
    assert p['policy']['perf_event_class'] is True and p['policy']['class_from'] == 'module perfsec_perf_event'
    assert not p['needs']['class_module'] and not p['needs']['policy_build']
    # the rebuild route now refuses to declare the class a second time
    p = _plan(capsys, s['root'], class_source='rebuild', build='always')
    assert not p['needs']['policy_build'] and any('declare it twice' in n for n in p['notes'])

    # a module that uses the class now builds and installs on top of it
    ok = run_module(perf_semodule.main, capsys, name='perftest', content=TE_PERF, root=s['root'], store=s['store'])
    assert ok['changed'] is True, ok
    # a class module that does not parse is refused, and the store keeps what it had
    with open(s['cil'], 'w') as f:
        f.write('(class perf_event (open cpu')
    broken = _install(capsys, s)
    assert broken.get('failed') is True
    mods = sm.list_modules(RealModule(), s['root'], s['store'])
    assert sm.find_module(mods, planner.CLASS_MODULE_NAME, 250)['checksum'] == p['class_module']['desired_checksum']


def test_declared_classes_read_from_selinuxfs(tmp_path, monkeypatch):
    """perf_semodule's declared_classes: the classes the CIL declares, each as selinuxfs shows it
    after the task; null for an alternate root or in check mode (the rollout's assert reads it
    instead of reading the host's facts again)."""
    monkeypatch.setattr(perf_semodule, 'SELINUXFS', str(tmp_path))
    d = perf_semodule._Desired(dict(from_audit=None, content=planner.CLASS_MODULE_CIL, src=None))
    d.cil = planner.CLASS_MODULE_CIL
    assert perf_semodule._declared_classes(d, None, False) == {'perf_event': False}
    os.makedirs(str(tmp_path / 'class' / 'perf_event'))
    assert perf_semodule._declared_classes(d, None, False) == {'perf_event': True}
    assert perf_semodule._declared_classes(d, '/mnt/alt', False) is None
    assert perf_semodule._declared_classes(d, None, True) is None
    d.cil = '(allow user_t self (perf_event (open)))\n'
    assert perf_semodule._declared_classes(d, None, False) == {}
