"""module_utils/constants.py is where the collection's fixed names live. YAML cannot import it,
so the roles' defaults, their argument specs and the modules' DOCUMENTATION repeat some values as
documented defaults: this checks every copy against the constant, and every role's argument-spec
default against its defaults/main.yml (a default changed in one place only fails here)."""
import glob
import os

import pytest
yaml = pytest.importorskip("yaml")  # the 3.6/3.7 lanes have no PyYAML: the 3.11 lane checks the copies

from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.perfsec.selinux.plugins.module_utils import audit, flask, plan, selinuxfs, sysctl  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.perfsec.selinux.plugins.modules import perf_kernel_cmdline, perf_mac_facts, perf_paranoid, perf_users  # noqa: E402  pylint: disable=wrong-import-position

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def load(path):
    with open(os.path.join(ROOT, path)) as f:
        return yaml.safe_load(f) or {}


def spec_defaults(role):
    out = {}
    for entry in (load('roles/%s/meta/argument_specs.yml' % role)['argument_specs'] or {}).values():
        for name, opt in (entry.get('options') or {}).items():
            if 'default' in opt:
                out.setdefault(name, []).append(opt['default'])
    return out


def doc_default(module, option):
    return yaml.safe_load(module.DOCUMENTATION)['options'][option]['default']


def test_python_copies_are_the_constants():
    assert flask.PERF_EVENT_PERMS == plan.PERF_EVENT_PERMS == C.PERF_EVENT_PERMS
    assert audit.PERF_EVENT_PERMS == frozenset(C.PERF_EVENT_PERMS)
    assert set(selinuxfs.PERF_EVENT_PERMS) == set(C.PERF_EVENT_PERMS)
    assert sysctl.DEFAULT_DROPIN == C.SYSCTL_DROPIN and selinuxfs.SELINUX_CONFIG == C.SELINUX_CONFIG
    assert perf_mac_facts.POLICY_BACKUP_DIR == C.POLICY_BACKUP_DIR
    assert plan.CLASS_MODULE_CIL.count('(class perf_event (%s))' % ' '.join(C.PERF_EVENT_PERMS)) == 1
    assert sysctl.rooted('/mnt/x', C.SYSCTL_DROPIN) == '/mnt/x' + C.SYSCTL_DROPIN
    assert sysctl.rooted('/', C.SYSCTL_DROPIN) == sysctl.rooted(None, C.SYSCTL_DROPIN) == C.SYSCTL_DROPIN


@pytest.mark.parametrize('where, value, constant', [
    ('roles/paranoid/defaults/main.yml:paranoid_dropin', None, C.SYSCTL_DROPIN),
    ('roles/report/defaults/main.yml:report_change_paths', None, [C.STATE_DIR, C.SYSCTL_DROPIN]),
    ('roles/report/defaults/main.yml:report_perf_users_dir', None, C.PERF_USERS_DIR),
    ('roles/perf_users/defaults/main.yml:perf_users_dir', None, C.PERF_USERS_DIR),
    ('roles/policy_install/defaults/main.yml:policy_install_backup_dir', None, C.POLICY_BACKUP_DIR),
    ('roles/rollback/defaults/main.yml:rollback_policy_backup_dir', None, C.POLICY_BACKUP_DIR),
    ('roles/rollback/defaults/main.yml:rollback_relabel_marker', None, C.RELABEL_MARKER),
    ('roles/relabel/defaults/main.yml:relabel_marker', None, C.RELABEL_MARKER),
    ('roles/rollout/defaults/main.yml:perfsec_perf_permissions', None, list(C.PERF_EVENT_PERMS)),
    ('perf_paranoid:dropin', doc_default(perf_paranoid, 'dropin'), C.SYSCTL_DROPIN),
    ('perf_kernel_cmdline:grub_default', doc_default(perf_kernel_cmdline, 'grub_default'), C.GRUB_DEFAULT),
    ('perf_mac_facts:change_paths', doc_default(perf_mac_facts, 'change_paths'), [C.STATE_DIR, C.SYSCTL_DROPIN]),
    ('perf_mac_facts:perf_users_dir', doc_default(perf_mac_facts, 'perf_users_dir'), C.PERF_USERS_DIR),
    ('perf_mac_facts:perf_users_group', doc_default(perf_mac_facts, 'perf_users_group'), C.PERF_USERS_GROUP),
    ('perf_users:dir', doc_default(perf_users, 'dir'), C.PERF_USERS_DIR),
    ('perf_users:group', doc_default(perf_users, 'group'), C.PERF_USERS_GROUP),
    ('roles/perf_users/defaults/main.yml:perf_users_group', None, C.PERF_USERS_GROUP),
])
def test_documented_defaults_are_the_constants(where, value, constant):
    if value is None:
        path, var = where.split(':')
        value = load(path)[var]
    assert value == constant, where


@pytest.mark.parametrize('role', sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                                        for p in glob.glob(os.path.join(ROOT, 'roles/*/meta/argument_specs.yml'))))
def test_argument_spec_defaults_match_role_defaults(role):
    """Every option with a default in meta/argument_specs.yml has that value in defaults/main.yml
    (a templated default - another role's result - is documented by its fallback and skipped)."""
    dpath = os.path.join(ROOT, 'roles', role, 'defaults/main.yml')
    defaults = load(dpath) if os.path.exists(dpath) else {}
    wrong = []
    for name, values in sorted(spec_defaults(role).items()):
        for v in values:
            if name not in defaults or '{{' in str(defaults[name]):
                continue
            if defaults[name] != v and not (v in ('', None) and defaults[name] in ('', None)):
                wrong.append('%s: spec %r, defaults %r' % (name, v, defaults[name]))
    assert not wrong, '%s: %s' % (role, '; '.join(wrong))
