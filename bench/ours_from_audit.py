#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own generation path, run outside Ansible on an audit log.

Imports the checkout's code (no copy): perf_semodule._read_audit (how the module reads
from_audit.paths), module_utils/audit.generate_rules and render_te -- exactly what
perfsec.selinux.perf_semodule does with from_audit before it compiles/installs (compile and
install need an SELinux store and are not part of this benchmark).

  ours_from_audit.py --paths FILE [--te OUT.te]     # module: from_audit.paths (byte prefilter)
  ours_from_audit.py --paths FILE --line-reader     # the line-by-line reader instead (before issue 19)
  ausearch -m AVC --raw -if FILE | ours_from_audit.py --stdin   # role perf_module: records

--since EPOCH and --rotated are from_audit.since / from_audit.rotated.
Prints one JSON line: rules, skipped reasons, record forms, te path.
"""
from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))


def ensure_collection_link():
    """scripts/env.sh creates build/collections/ansible_collections/perfsec/selinux -> checkout."""
    link = os.path.join(ROOT, 'build', 'collections', 'ansible_collections', 'perfsec', 'selinux')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


class _Stub(object):
    """What _read_audit needs of AnsibleModule: fail_json."""
    def fail_json(self, **kw):
        sys.stderr.write('fail_json: %s\n' % kw.get('msg'))
        sys.exit(2)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--paths', nargs='*', default=[])
    ap.add_argument('--stdin', action='store_true', help='records on stdin (the role passes ausearch output)')
    ap.add_argument('--allowed-domains', default='unconfined_t,staff_t')
    ap.add_argument('--comm', default='perf')
    ap.add_argument('--name', default='my-perf')
    ap.add_argument('--te', help='write the .te here')
    ap.add_argument('--since', help='from_audit.since (epoch seconds)')
    ap.add_argument('--rotated', action='store_true', help='from_audit.rotated')
    ap.add_argument('--line-reader', action='store_true',
                    help='read --paths with audit.read_lines (every line parsed) instead of the module\'s reader')
    a = ap.parse_args(argv)
    ensure_collection_link()
    from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
    from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule as psm
    spec = {'paths': a.paths, 'records': sys.stdin.read() if a.stdin else None, 'rotated': a.rotated}
    if a.line_reader:
        text = _line_reader(au, psm._audit_files(spec), spec['records'])
    else:
        text = psm._read_audit(_Stub(), spec)
    domains = [d for d in a.allowed_domains.split(',') if d]
    comm = [c for c in a.comm.split(',') if c]
    forms = {}
    rules, skipped = au.generate_rules(text, domains, comm, False, forms=forms,
                                       since=au.parse_since(a.since) if a.since is not None else None)
    te = au.render_te(a.name, rules) if rules else ''
    if a.te:
        with open(a.te, 'w') as f:
            f.write(te)
    print(json.dumps({'rules': [au.rule_text(r) for r in rules], 'skipped': skipped, 'record_forms': forms,
                      'te': a.te}))
    return 0


def _line_reader(au, paths, records):
    for path in paths:
        with open(path, 'rb') as f:
            yield from au.read_lines(f)
    if records:
        yield from au.iter_lines(records)


if __name__ == '__main__':
    sys.exit(main())
