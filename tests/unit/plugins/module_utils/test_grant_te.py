"""audit.grant_te: the declared perf module (no probe user) rendered in Python, where the rollout
rendered it in Jinja before. Compiled with the real checkmodule/semodule_package, both give the
CIL checksum the store shows, so a host converged with the Jinja text is still converged."""
import os
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
from ansible_collections.perfsec.selinux.plugins.module_utils import constants as C
from ansible_collections.perfsec.selinux.plugins.module_utils import semodule as sm
from ansible_collections.perfsec.selinux.plugins.module_utils import te as temod

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_semodule import RealModule, needs_tools  # noqa: E402  pylint: disable=wrong-import-position

# roles/rollout/vars/main.yml __rollout_default_te as it was (session 7), rendered for these values
OLD_JINJA_TE = """module perfsec_perf 1.0;
require {
        type unconfined_t;
        type user_t;
        class perf_event { open cpu kernel tracepoint read write };
}
allow unconfined_t self:perf_event { open cpu kernel tracepoint read write };
allow user_t self:perf_event { open cpu kernel tracepoint read write };
"""


def checksum(text, tmp_path):
    workdir = str(tmp_path / 'w')
    os.makedirs(workdir)
    return sm.file_checksum(RealModule(), temod.compile_te(RealModule(), text, 'perfsec_perf', workdir))


@needs_tools
def test_same_module_as_the_jinja_text(tmp_path):
    new = au.grant_te('perfsec_perf', ['unconfined_t', 'user_t'], list(C.PERF_EVENT_PERMS))
    assert checksum(new, tmp_path / 'a') == checksum(OLD_JINJA_TE, tmp_path / 'b')
    # the order is kept (the CIL lists permissions in the require block's order), so a reordered
    # grant is another checksum, and a narrower grant too
    assert checksum(au.grant_te('perfsec_perf', ['unconfined_t', 'user_t'], sorted(C.PERF_EVENT_PERMS)),
                    tmp_path / 'e') != checksum(OLD_JINJA_TE, tmp_path / 'f')
    assert checksum(au.grant_te('perfsec_perf', ['user_t', 'unconfined_t'], ['open']), tmp_path / 'c') \
        != checksum(OLD_JINJA_TE, tmp_path / 'd')


def test_rules_and_order():
    te = au.grant_te('m', ['user_t', 'user_t', 'staff_t'], ['read', 'open'])
    assert te.count('allow staff_t self:perf_event { read open };') == 1
    assert te.count('allow user_t self:perf_event { read open };') == 1
    assert te.index('type user_t;') < te.index('type staff_t;')
    assert 'module m 1.0;' in te


@pytest.mark.parametrize('domains, perms, msg', [
    ([], ['open'], 'grant.domains is empty'),
    (['user_t; allow x'], ['open'], 'invalid SELinux type'),
    (['user_t'], ['open', 'sys_admin'], 'must be perf_event permissions (open cpu kernel tracepoint read write), got sys_admin'),
    (['user_t'], [], 'got none'),
])
def test_bad_grant_is_refused(domains, perms, msg):
    with pytest.raises(ValueError) as e:
        au.grant_te('m', domains, perms)
    assert msg in str(e.value)
