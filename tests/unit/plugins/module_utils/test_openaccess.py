"""module_utils/openaccess.py row by row (open_perf_access's intended rows and summary line), and the
access_intended / access_summary filters against the playbook's former Jinja, in the real ansible-playbook."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.perfsec.selinux.plugins.module_utils import openaccess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'


def facts(summary='perf: root, perf_users', status='pass', stig_file=DROPIN, blocked=()):
    return {'access': {'summary': summary, 'intended_blocked': [{'who': w, 'gate': 'selinux', 'reason': 'r'}
                                                                for w in blocked]},
            'stig': {'status': status, 'file': stig_file}}


@pytest.mark.parametrize('expected,perf_users,perf_module,domains,want', [
    ({}, True, True, ['unconfined_t'], ['perf_users', 'unconfined_t']),
    ({}, True, False, ['unconfined_t'], ['perf_users']),
    ({}, False, True, ['user_t', 'staff_t'], ['user_t', 'staff_t']),
    ({}, 'no', 'false', ['unconfined_t'], []),                       # -e strings, as | bool reads them
    ({}, 'Yes', 1, ['unconfined_t'], ['perf_users', 'unconfined_t']),
    ({'user_t': 'partial', 'other': 'blocked', 'perf_users': 'allowed'}, False, False, ['x_t'], ['user_t', 'perf_users']),
    ({'other': 'blocked'}, True, True, ['unconfined_t'], []),         # expected rows given: no defaults
])
def test_intended(expected, perf_users, perf_module, domains, want):
    assert openaccess.intended(expected, perf_users, perf_module, domains) == want


@pytest.mark.parametrize('value,want', [
    (True, True), (False, False), (1, True), (0, False), ('true', True), ('ON', True), ('1', True),
    ('no', False), ('', False), ('maybe', False), (None, False), (1.0, True),
])
def test_as_bool(value, want):
    assert openaccess.as_bool(value) is want


@pytest.mark.parametrize('result,want', [
    ({}, False), ({'changed': True}, True), ({'changed': False, 'skipped': True}, False),
    ({'results': [{'changed': False}, {'changed': True}]}, True), ({'results': [{'changed': False}]}, False),
    ({'results': []}, False), ({'results': ['x']}, False),
])
def test_changed(result, want):
    assert openaccess.changed(result) is want


@pytest.mark.parametrize('perfsec,module_changed,paranoid,want', [
    (facts(), False, None,
     'h1: module unchanged, paranoid unchanged; perf: root, perf_users; STIG paranoid check pass (%s); '
     'every intended user can use perf' % DROPIN),
    (facts(stig_file=None, status='fail'), True, {'changed': True},
     'h1: module changed, paranoid changed; perf: root, perf_users; STIG paranoid check fail (no file); '
     'every intended user can use perf'),
    (facts(stig_file='', summary='only root can use perf', blocked=['perf_users', 'user_t']), 'false', {'changed': False},
     'h1: module unchanged, paranoid unchanged; only root can use perf; STIG paranoid check pass (no file); '
     'blocked: perf_users, user_t'),
])
def test_summary(perfsec, module_changed, paranoid, want):
    assert openaccess.summary(perfsec, 'h1', module_changed, paranoid) == want


# ---- the filters against the Jinja they replaced (copied from playbooks/open_perf_access.yml) ----

OLD = """
        __old_intended: >-
          {{ (perfsec_expected_access | dict2items | rejectattr('value', '==', 'blocked') | map(attribute='key') | list)
             if perfsec_expected_access | length > 0 else
             ((['perf_users'] if perfsec_perf_users | default(true) | bool else [])
              + (perfsec_perf_domains if perfsec_perf_module | bool else [])) }}
        __old_msg: >-
          {{ inventory_hostname }}: module {{ 'changed' if perf_module_changed | default(false) | bool else 'unchanged' }},
          paranoid {{ 'changed' if paranoid_result is defined and paranoid_result is changed else 'unchanged' }};
          {{ ansible_facts.perfsec.access.summary }}; STIG paranoid check {{ ansible_facts.perfsec.stig.status }}
          ({{ ansible_facts.perfsec.stig.file | default('no file', true) }});
          {{ ('blocked: ' ~ (ansible_facts.perfsec.access.intended_blocked | map(attribute='who') | join(', ')))
             if ansible_facts.perfsec.access.intended_blocked | length > 0 else 'every intended user can use perf' }}
"""

NEW = """
        __new_intended: >-
          {{ perfsec_expected_access | perfsec.selinux.access_intended(perfsec_perf_users | default(true), perfsec_perf_module, perfsec_perf_domains) }}
        __new_msg: >-
          {{ ansible_facts.perfsec | perfsec.selinux.access_summary(inventory_hostname, perf_module_changed | default(false),
                                                                    paranoid_result | default({})) }}
"""

PLAY = """
- name: Case %(n)d
  hosts: localhost
  gather_facts: false
  vars: %(vars)s
  tasks:
    - name: Old and new agree
      ansible.builtin.assert:
        that:
          - __old_intended == __new_intended
          - __old_msg == __new_msg
        fail_msg: "{{ [__old_intended, __new_intended, __old_msg, __new_msg] | to_json }}"
        success_msg: "{{ [__new_intended, __new_msg] | to_json }}"
      vars:
%(old)s%(new)s"""

# (the play's variables - perfsec stands for ansible_facts.perfsec -, the intended rows, the line)
CASES = [
    ({'perfsec_expected_access': {}, 'perfsec_perf_module': True, 'perfsec_perf_domains': ['unconfined_t'],
      'perfsec': facts()},
     ['perf_users', 'unconfined_t'],
     'localhost: module unchanged, paranoid unchanged; perf: root, perf_users; STIG paranoid check pass (%s); '
     'every intended user can use perf' % DROPIN),
    ({'perfsec_expected_access': {}, 'perfsec_perf_users': 'false', 'perfsec_perf_module': 'yes',
      'perfsec_perf_domains': ['user_t'], 'perf_module_changed': True, 'paranoid_result': {'changed': True},
      'perfsec': facts(stig_file=None, status='fail', blocked=['user_t'])},
     ['user_t'],
     'localhost: module changed, paranoid changed; perf: root, perf_users; STIG paranoid check fail (no file); '
     'blocked: user_t'),
    ({'perfsec_expected_access': {'user_t': 'partial', 'other': 'blocked', 'perf_users': 'allowed'},
      'perfsec_perf_users': True, 'perfsec_perf_module': False, 'perfsec_perf_domains': ['unconfined_t'],
      'perf_module_changed': 'false', 'paranoid_result': {'results': [{'changed': False}, {'changed': True}]},
      'perfsec': facts(stig_file='', summary='only root can use perf', blocked=['user_t', 'perf_users'])},
     ['user_t', 'perf_users'],
     'localhost: module unchanged, paranoid changed; only root can use perf; STIG paranoid check pass (no file); '
     'blocked: user_t, perf_users'),
    ({'perfsec_expected_access': {'other': 'blocked'}, 'perfsec_perf_module': True,
      'perfsec_perf_domains': ['unconfined_t'], 'paranoid_result': {'changed': False, 'skipped': True},
      'perfsec': facts(status=None)},
     [],
     'localhost: module unchanged, paranoid unchanged; perf: root, perf_users; STIG paranoid check  (%s); '
     'every intended user can use perf' % DROPIN),
]


@pytest.mark.skipif(not os.path.exists(PLAYBOOK_BIN), reason='no ansible-playbook in this lane')
def test_filters_print_what_the_jinja_printed(tmp_path):
    plays = ''.join(PLAY % {'n': n, 'vars': json.dumps(v), 'old': OLD.replace('ansible_facts.perfsec', 'perfsec'),
                            'new': NEW.replace('ansible_facts.perfsec', 'perfsec')}
                    for n, (v, _i, _m) in enumerate(CASES))
    book = tmp_path / 'book.yml'
    book.write_text('---' + plays)
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    p = subprocess.run([PLAYBOOK_BIN, '-i', 'localhost,', '-c', 'local', str(book)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, env=env, check=False)
    assert p.returncode == 0, p.stdout[-4000:]
    got = [json.loads(play['tasks'][0]['hosts']['localhost']['msg']) for play in json.loads(p.stdout)['plays']]
    assert got == [[i, m] for _v, i, m in CASES]
