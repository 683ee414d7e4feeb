"""Shared helpers for the unit tests: fixture files, fake /proc trees, running a module's main().

Python 3.6 compatible (the old-Python lanes import it too).
"""
import contextlib
import json
import os

import pytest

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # 2.16 (the Python 3.6/3.7 lanes)
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


def write_file(path, text):
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d)
    with open(path, 'w') as f:
        f.write(text)


def read_file(path):
    with open(path) as f:
        return f.read()


def make_root(base, files):
    """Write {absolute path: text} below ``base``; return ``base``."""
    for path, text in files.items():
        write_file(os.path.join(base, path.lstrip('/')), text)
    return base


def make_proc(base, paranoid=2, version='#1 SMP PREEMPT_DYNAMIC', extra=None, release='6.1.0-test'):
    """A fake /proc below ``base`` with the perf sysctls; return its path."""
    proc = os.path.join(base, 'proc')
    vals = {'perf_event_paranoid': paranoid, 'perf_event_mlock_kb': 516,
            'perf_event_max_sample_rate': 100000, 'perf_cpu_time_max_percent': 25}
    vals.update(extra or {})
    for k, v in vals.items():
        write_file(os.path.join(proc, 'sys/kernel', k), '%s\n' % v)
    write_file(os.path.join(proc, 'sys/kernel/osrelease'), release + '\n')
    write_file(os.path.join(proc, 'sys/kernel/version'), version + '\n')
    return proc


def run_module(main, capsys, check=False, diff=False, **args):
    """Run a module's main() with ``args``; return its JSON result (exit_json or fail_json)."""
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_playbook_json(tmp_path, book, playbook_bin, host='host1', args=()):
    """Run the playbook text ``book`` with the real ansible-playbook on a local ``host`` (this
    Python, the collection of this checkout, the json callback). Returns (rc, plays, stdout, stderr);
    plays is None when the output is not json."""
    import subprocess
    import sys
    path = tmp_path / 'book.yml'
    path.write_text(book)
    inv = tmp_path / 'inventory.ini'
    inv.write_text('%s ansible_connection=local ansible_python_interpreter=%s\n' % (host, sys.executable))
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'))
    p = subprocess.run([playbook_bin, '-i', str(inv)] + list(args) + [str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, env=env, check=False)
    try:
        plays = json.loads(p.stdout)['plays']
    except ValueError:
        plays = None
    return p.returncode, plays, p.stdout, p.stderr
