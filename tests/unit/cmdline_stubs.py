"""Stub boot loader tools for the kernel command line tests (tests/unit/test_rollback_cmdline.py
and tests/unit/plugins/modules/test_perf_kernel_cmdline.py): put first on PATH, each appends the
argv it was called with to argv.log (one call a line, arguments separated by a tab).

- ``grubby`` keeps its boot entries in grubby.json and behaves as grubby does for the calls the
  module makes: ``--info=ALL`` prints them, ``--update-kernel=ALL --args=A`` adds A to every entry
  lacking it, ``--remove-args=A B`` removes those. A file ``grubby.fail`` makes it exit 1.
- ``update-grub`` records its call; a file ``update-grub.fail`` makes it exit 1."""
import json
import os
import stat
import sys

GRUBBY = r'''#!{python}
import json, os, sys
here = {here!r}
with open(os.path.join(here, 'argv.log'), 'a') as f:
    f.write('\t'.join([os.path.basename(sys.argv[0])] + sys.argv[1:]) + '\n')
if os.path.exists(os.path.join(here, 'grubby.fail')):
    sys.stderr.write('grubby: stub failure\n')
    sys.exit(1)
path = os.path.join(here, 'grubby.json')
with open(path) as f:
    entries = json.load(f)
args = sys.argv[1:]
if args == ['--info=ALL']:
    for i, e in enumerate(entries):
        print('index=%d' % i)
        print('kernel="%s"' % e['kernel'])
        print('args="%s"' % e['args'])
        print('root="/dev/mapper/rhel-root"')
        print('title="%s"' % e['title'])
    sys.exit(0)
if args[0] != '--update-kernel=ALL':
    sys.exit(2)
for a in args[1:]:
    key, _, value = a.partition('=')
    for e in entries:
        words = e['args'].split()
        if key == '--args':
            words += [w for w in value.split() if w not in words]
        elif key == '--remove-args':
            words = [w for w in words if w not in value.split()]
        else:
            sys.exit(2)
        e['args'] = ' '.join(words)
with open(path, 'w') as f:
    json.dump(entries, f)
'''

UPDATE = '''#!/bin/sh
log={here}/argv.log
printf '%s' "$(basename "$0")" >> "$log"
for a in "$@"; do printf '\\t%s' "$a" >> "$log"; done
printf '\\n' >> "$log"
[ -e {here}/update-grub.fail ] && {{ echo 'update-grub: stub failure' >&2; exit 1; }}
exit 0
'''

RHEL = [
    {'kernel': '/boot/vmlinuz-5.14.0-427.el9.x86_64', 'args': 'ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root',
     'title': 'Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)'},
    {'kernel': '/boot/vmlinuz-0-rescue-0123456789abcdef', 'args': 'ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root',
     'title': 'Red Hat Enterprise Linux (0-rescue-0123456789abcdef) 9.4 (Plow)'},
]


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def grubby(here, extra0='', extra1=''):
    """A stub grubby in here/bin with the two RHEL entries, ``extraN`` appended to entry N's args."""
    os.makedirs(os.path.join(here, 'bin'), exist_ok=True)
    entries = [dict(e) for e in RHEL]
    entries[0]['args'] += extra0
    entries[1]['args'] += extra1
    with open(os.path.join(here, 'grubby.json'), 'w') as f:
        json.dump(entries, f)
    _write(os.path.join(here, 'bin', 'grubby'), GRUBBY.format(python=sys.executable, here=here))


def entries(here):
    with open(os.path.join(here, 'grubby.json')) as f:
        return [e['args'] for e in json.load(f)]


def update_grub(here):
    """A stub update-grub in here/bin; returns its path."""
    os.makedirs(os.path.join(here, 'bin'), exist_ok=True)
    path = os.path.join(here, 'bin', 'update-grub')
    _write(path, UPDATE.format(here=here))
    return path


def calls(here):
    log = os.path.join(here, 'argv.log')
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.rstrip('\n').split('\t') for line in f]
