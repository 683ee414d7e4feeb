#!/usr/bin/env python3
"""Issue 16's two figures: non-blank, non-comment lines of the role task files and playbooks,
and the command/shell/raw tasks in roles. `python3 scripts/yaml_budget.py` prints them per file;
tests/unit/test_yaml_budget.py keeps them from growing back."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMAND = re.compile(r'^-?\s*(ansible\.builtin\.)?(command|shell|raw)\s*:')


def count(root=ROOT):
    """{path: (lines, command tasks)} for roles/*/tasks/**/*.yml and playbooks/*.yml."""
    files = sorted(glob.glob(os.path.join(root, 'roles/*/tasks/**/*.yml'), recursive=True)
                   + glob.glob(os.path.join(root, 'playbooks/*.yml')))
    out = {}
    for path in files:
        lines = commands = 0
        with open(path) as f:
            for line in f:
                s = line.strip()
                if not s or s.startswith('#'):
                    continue
                lines += 1
                if COMMAND.match(s) and '/roles/' in path:
                    commands += 1
        out[os.path.relpath(path, root)] = (lines, commands)
    return out


def main():
    per = count()
    for path, (lines, commands) in sorted(per.items(), key=lambda kv: -kv[1][0]):
        print('%5d %2d %s' % (lines, commands, path))
    print('total: %d lines, %d command/shell tasks in roles' % (sum(v[0] for v in per.values()),
                                                              sum(v[1] for v in per.values())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
