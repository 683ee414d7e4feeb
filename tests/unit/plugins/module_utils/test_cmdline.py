"""module_utils/cmdline.py row by row: the distribution table, every GRUB_CMDLINE_LINUX form of
/etc/default/grub (rewritten, idempotent, refused), and grubby --info=ALL."""
import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import cmdline as cl

DEB = list(cl.DROP['debian'])
OTHER = list(cl.DROP['other'])


@pytest.mark.parametrize('text, fam', [
    ('ID=debian\nVERSION_ID="12"\n', 'debian'),
    ('ID=ubuntu\nID_LIKE=debian\n', 'debian'),
    ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', 'debian'),
    ('ID="rhel"\nID_LIKE="fedora"\n', 'other'),
    ('ID=fedora\n', 'other'),
    ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n', 'other'),
    ('', 'other'),
])
def test_family(text, fam):
    assert cl.family(text) == fam


def test_the_table():
    assert cl.DROP == {'debian': ('selinux=1', 'security=selinux'), 'other': ('selinux=1',)}
    assert cl.choose_method('auto', True) == 'grubby' and cl.choose_method('auto', False) == 'default_grub'
    assert cl.choose_method('default_grub', True) == 'default_grub'
    found = {'grub2-mkconfig': '/usr/sbin/grub2-mkconfig'}.get
    assert cl.choose_update_command(found) == ['/usr/sbin/grub2-mkconfig', '-o', '/boot/grub2/grub.cfg']
    found = {'grub2-mkconfig': '/x/grub2-mkconfig', 'update-grub': '/usr/sbin/update-grub'}.get
    assert cl.choose_update_command(found) == ['/usr/sbin/update-grub']
    assert cl.choose_update_command(lambda name: None) is None


# The old role's regexes gave these (tests/unit/test_rollback_cmdline.py kept them): the first
# four rows are its assertions.
@pytest.mark.parametrize('before, drop, after', [
    ('GRUB_CMDLINE_LINUX=" security=selinux"', DEB, 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('GRUB_CMDLINE_LINUX="console=ttyS0 selinux=1 security=selinux"', DEB, 'GRUB_CMDLINE_LINUX="console=ttyS0 selinux=0"'),
    ('GRUB_CMDLINE_LINUX="security=selinux quiet"', DEB, 'GRUB_CMDLINE_LINUX=" quiet selinux=0"'),
    ('GRUB_CMDLINE_LINUX=""', DEB, 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('GRUB_CMDLINE_LINUX="security=selinux quiet"', OTHER, 'GRUB_CMDLINE_LINUX="security=selinux quiet selinux=0"'),
    ('GRUB_CMDLINE_LINUX="selinux=1"', OTHER, 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ("GRUB_CMDLINE_LINUX='console=ttyS0 security=selinux'", DEB, "GRUB_CMDLINE_LINUX='console=ttyS0 selinux=0'"),
    ('GRUB_CMDLINE_LINUX=', DEB, 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('GRUB_CMDLINE_LINUX=quiet', DEB, 'GRUB_CMDLINE_LINUX="quiet selinux=0"'),
    ('GRUB_CMDLINE_LINUX=security=selinux', DEB, 'GRUB_CMDLINE_LINUX=" selinux=0"'),
    ('  export GRUB_CMDLINE_LINUX="a  b"  # kept', DEB, '  export GRUB_CMDLINE_LINUX="a  b selinux=0"  # kept'),
    ('GRUB_CMDLINE_LINUX="selinux=0 security=selinux"', DEB, 'GRUB_CMDLINE_LINUX="selinux=0"'),
    ('GRUB_CMDLINE_LINUX="security=selinuxx selinux=10"', DEB, 'GRUB_CMDLINE_LINUX="security=selinuxx selinux=10 selinux=0"'),
])
def test_grub_cmdline_linux_forms(before, drop, after):
    text = 'GRUB_DEFAULT=0\n# GRUB_CMDLINE_LINUX="security=selinux"\n%s\nGRUB_TIMEOUT=5\n' % before
    new, changes = cl.edit_default_grub(text, drop)
    assert new == 'GRUB_DEFAULT=0\n# GRUB_CMDLINE_LINUX="security=selinux"\n%s\nGRUB_TIMEOUT=5\n' % after
    assert [(c['name'], c['line']) for c in changes] == [('GRUB_CMDLINE_LINUX', 3)]
    again, changes = cl.edit_default_grub(new, drop)
    assert again == new and changes == []


@pytest.mark.parametrize('text', [
    'GRUB_CMDLINE_LINUX="quiet selinux=0"\n',
    'GRUB_CMDLINE_LINUX=selinux=0\n',
    "GRUB_CMDLINE_LINUX='selinux=0'\nGRUB_CMDLINE_LINUX_DEFAULT='quiet'\n",
])
def test_already_right_is_unchanged(text):
    assert cl.edit_default_grub(text, DEB) == (text, [])


def test_absent_line_is_appended():
    new, changes = cl.edit_default_grub('GRUB_DEFAULT=0', DEB)
    assert new == 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=" selinux=0"\n'
    assert changes == [{'name': 'GRUB_CMDLINE_LINUX', 'line': 2, 'before': None, 'after': ' selinux=0'}]
    assert cl.edit_default_grub('', DEB)[0] == 'GRUB_CMDLINE_LINUX=" selinux=0"\n'
    assert cl.edit_default_grub(new, DEB) == (new, [])


def test_linux_default_loses_the_drops_and_gets_nothing_added():
    text = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet selinux=1"\r\nGRUB_CMDLINE_LINUX="selinux=0"\r\n'
    new, changes = cl.edit_default_grub(text, DEB)
    assert new == 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\r\nGRUB_CMDLINE_LINUX="selinux=0"\r\n'
    assert changes == [{'name': 'GRUB_CMDLINE_LINUX_DEFAULT', 'line': 1, 'before': 'quiet selinux=1', 'after': 'quiet'}]


def test_every_assignment_is_edited():
    text = 'GRUB_CMDLINE_LINUX="security=selinux"\nGRUB_CMDLINE_LINUX="quiet"\n'
    new, changes = cl.edit_default_grub(text, DEB)
    assert new == 'GRUB_CMDLINE_LINUX=" selinux=0"\nGRUB_CMDLINE_LINUX="quiet selinux=0"\n'
    assert [c['line'] for c in changes] == [1, 2]


@pytest.mark.parametrize('line, says', [
    ('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX security=selinux"', 'line 2'),
    ('GRUB_CMDLINE_LINUX="`cat /x`"', 'not a plain quoted string'),
    ('GRUB_CMDLINE_LINUX="a \\"b\\""', 'not a plain quoted string'),
    ('GRUB_CMDLINE_LINUX="quiet', 'on one line'),
    ("GRUB_CMDLINE_LINUX='quiet", 'not a plain quoted string'),
    ('GRUB_CMDLINE_LINUX=a b', 'not a plain quoted string'),
    ('GRUB_CMDLINE_LINUX+=" x"', 'does not rewrite'),
    ('[ -x /y ] && GRUB_CMDLINE_LINUX="x"', 'does not rewrite'),
])
def test_unparsable_forms_are_refused(line, says):
    with pytest.raises(cl.CmdlineError) as e:
        cl.edit_default_grub('GRUB_DEFAULT=0\n%s\n' % line, DEB)
    assert says in str(e.value) and 'line 2' in str(e.value)


GRUBBY = '''index=0
kernel="/boot/vmlinuz-5.14.0-427.el9.x86_64"
args="ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root%s"
root="/dev/mapper/rhel-root"
title="Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)"
id="0123456789abcdef-5.14.0-427.el9.x86_64"
index=1
kernel="/boot/vmlinuz-0-rescue-0123456789abcdef"
args="ro%s"
title="Red Hat Enterprise Linux (0-rescue-0123456789abcdef) 9.4 (Plow)"
'''


def test_parse_grubby():
    entries = cl.parse_grubby(GRUBBY % ('', ' selinux=0'))
    assert [(e['index'], e['kernel'], e['args']) for e in entries] == [
        ('0', '/boot/vmlinuz-5.14.0-427.el9.x86_64', ['ro', 'crashkernel=1G-4G:192M', 'rd.lvm.lv=rhel/root']),
        ('1', '/boot/vmlinuz-0-rescue-0123456789abcdef', ['ro', 'selinux=0'])]
    assert entries[1]['title'] == 'Red Hat Enterprise Linux (0-rescue-0123456789abcdef) 9.4 (Plow)'


@pytest.mark.parametrize('extra0, extra1, remove, add, changed', [
    ('', ' selinux=0', [], True, ['0']),
    (' selinux=0', ' quiet selinux=0', [], False, []),
    ('', '', [], True, ['0', '1']),
    (' selinux=1', ' selinux=0', ['selinux=1'], True, ['0']),
    (' selinux=1 selinux=0', ' selinux=0', ['selinux=1'], False, ['0']),
    (' security=selinux selinux=0', ' selinux=0', [], False, []),   # not dropped outside Debian
])
def test_grubby_plan(extra0, extra1, remove, add, changed):
    entries = cl.parse_grubby(GRUBBY % (extra0, extra1))
    got_remove, got_add, changes = cl.grubby_plan(entries, OTHER)
    assert (got_remove, got_add, [c['index'] for c in changes]) == (remove, add, changed)
    for c in changes:
        assert c['after'].split()[-1] == 'selinux=0' and 'selinux=1' not in c['after'].split()


def test_grubby_plan_debian_and_argvs():
    entries = cl.parse_grubby(GRUBBY % (' security=selinux selinux=1', ''))
    remove, add, changes = cl.grubby_plan(entries, DEB)
    assert remove == ['selinux=1', 'security=selinux'] and add is True
    assert changes[0]['after'] == 'ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root selinux=0'
    assert cl.grubby_argvs('/usr/sbin/grubby', remove, add) == [
        ['/usr/sbin/grubby', '--update-kernel=ALL', '--remove-args=selinux=1 security=selinux'],
        ['/usr/sbin/grubby', '--update-kernel=ALL', '--args=selinux=0']]
    assert cl.grubby_argvs('grubby', [], True) == [['grubby', '--update-kernel=ALL', '--args=selinux=0']]
    assert cl.grubby_argvs('grubby', [], False) == []


@pytest.mark.parametrize('text, says', [
    ('', 'listed no boot entry'),
    ('grubby: not a BLS system\n', 'listed no boot entry'),
    ('index=0\nkernel="/boot/vmlinuz"\n', 'no args= for entry 0'),
])
def test_grubby_bad_output(text, says):
    with pytest.raises(cl.CmdlineError) as e:
        cl.parse_grubby(text)
    assert says in str(e.value)
