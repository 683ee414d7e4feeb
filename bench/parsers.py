#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Worst cases of the audit parsers (issue 13, finding 2), old and new code side by side.

  python3 bench/parsers.py                       # new = this checkout, old = /tmp/base-audit
  python3 bench/parsers.py --old /path/to/tree --reps 3 --timeout 60
  mkdir -p /tmp/base-audit && git archive HEAD | tar -x -C /tmp/base-audit   # the old tree

Cases (each run in a child process of its own, so that a timeout or the memory of one case does
not touch the others; repetitions interleaved old/new with the order rotated):

  avc_10k     one AVC-shaped line of 10 KiB (just under the new cap: the new code parses it):
              a valid record with a run of 10,000 letters between its fields, generate_rules
  avc_64k     the same shape, 64 KiB: generate_rules (perf_semodule from_audit)
  avc_1m      the same shape, 1 MiB (the report reads a 1 MiB tail per host)
  parse_64k   parse_avc of the 64 KiB line (what perf_mac_facts.count_denials calls per line)
  colons_64k  parse_allow_rules of "allow a " + 64 Ki colons + " x" (the .te / audit2allow rule regex)
  colons_1m   the same with 1 Mi colons
  read_64m    perf_semodule._read_audit + generate_rules over a 64 MiB file without a newline
              (a /dev/zero-like input as a regular file): time and peak RSS
  *_nocap     new code only, with audit.MAX_LINE lifted so that the parser itself runs on the
              64 KiB / 1 MiB lines: linear time without the cap (valid_1m_nocap: a 1 MiB record
              that parses, its run of letters inside a quoted path= value)

A child that runs longer than --timeout seconds is killed and reported as "> TIMEOUT".
Prints a table, then one line `JSON: {...}` with every raw figure. Figures: bench/RESULTS.md.
"""
from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402  pylint: disable=wrong-import-position

CASES = ['avc_10k', 'avc_64k', 'avc_1m', 'parse_64k', 'colons_64k', 'colons_1m', 'read_64m',
         'avc_64k_nocap', 'avc_1m_nocap', 'valid_1m_nocap']
NEW_ONLY = ('_nocap',)      # the old code has no cap: its figures are the capped cases'
HEAD = 'type=AVC msg=audit(1764337200.101:301): avc:  denied  { open } for  pid=812 comm="perf" '
TAIL = ' scontext=user_u:user_r:user_t:s0 tcontext=user_u:user_r:user_t:s0 tclass=perf_event permissive=0'


def avc_line(size):
    return HEAD + 'a' * (size - len(HEAD) - len(TAIL)) + TAIL


def ensure_link(tree):
    """tree/build/collections/ansible_collections/perfsec/selinux -> tree (as the tests' conftest)."""
    link = os.path.join(tree, 'build', 'collections', 'ansible_collections', 'perfsec', 'selinux')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(tree, link)
    return os.path.join(tree, 'build', 'collections')


class _Stub(object):
    def fail_json(self, **kw):
        raise SystemExit('fail_json: %s' % kw.get('msg'))


def child(tree, case, data_dir):
    sys.path.insert(0, ensure_link(tree))
    from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au
    if case == 'read_64m':
        from ansible_collections.perfsec.selinux.plugins.modules import perf_semodule as psm
        path = os.path.join(data_dir, 'nonl-64m.log')
        if not os.path.exists(path) or os.path.getsize(path) != 64 << 20:
            with open(path, 'wb') as f:
                for dummy in range(64):
                    f.write(b'\0' * (1 << 20))
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        rules, skipped = au.generate_rules(psm._read_audit(_Stub(), {'paths': [path]}), ['user_t'], [])
        secs = time.perf_counter() - t0
        out = {'rules': len(rules), 'skipped': skipped.get('total'), 'too_long': skipped.get('too_long')}
        return {'seconds': secs, 'rss_growth_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0,
                'result': out}
    if case.startswith('colons'):
        n = 64 << 10 if case == 'colons_64k' else 1 << 20
        text = 'allow a ' + ':' * n + ' x\n'
        t0 = time.perf_counter()
        res = au.parse_allow_rules(text)
        return {'seconds': time.perf_counter() - t0, 'result': {'rules': len(res)}}
    if case.endswith('_nocap'):
        au.MAX_LINE = 1 << 30
    size = {'avc_10k': 10 << 10, 'avc_64k': 64 << 10, 'avc_1m': 1 << 20, 'parse_64k': 64 << 10,
            'avc_64k_nocap': 64 << 10, 'avc_1m_nocap': 1 << 20, 'valid_1m_nocap': 1 << 20}[case]
    if case == 'avc_10k':
        size = getattr(au, 'MAX_LINE', 10240)
    line = avc_line(size)
    if case == 'valid_1m_nocap':
        line = HEAD + 'path="/' + line[len(HEAD) + 7:len(line) - len(TAIL) - 1] + '"' + TAIL
    t0 = time.perf_counter()
    if case == 'parse_64k':
        rec = au.parse_avc(line)
        out = {'record': rec is not None}
    else:
        rules, skipped = au.generate_rules(line, ['user_t'], [])
        out = {'rules': len(rules), 'skipped': dict((k, v) for k, v in skipped.items() if v)}
    return {'seconds': time.perf_counter() - t0, 'result': out}


def run_child(tree, case, timeout, data_dir):
    argv = [sys.executable, os.path.abspath(__file__), '--child', tree, case, '--data', data_dir]
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           universal_newlines=True)
    except subprocess.TimeoutExpired:
        return {'seconds': None, 'timeout': timeout, 'wall_s': round(time.monotonic() - t0, 3)}
    if p.returncode != 0:
        return {'seconds': None, 'error': (p.stderr or p.stdout).strip().splitlines()[-1:]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r['wall_s'] = round(time.monotonic() - t0, 3)
    return r


def fmt(rs, timeout):
    secs = [r['seconds'] for r in rs if r.get('seconds') is not None]
    if any(r.get('timeout') for r in rs):
        return '> %ds (timeout)' % timeout
    if any(r.get('error') for r in rs):
        return 'error: %s' % rs[0].get('error')
    return '%.4f s' % bl.median(secs) if bl.median(secs) >= 0.001 else '%.1f us' % (1e6 * min(secs))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--old', default='/tmp/base-audit', help='tree of the old code (git archive of HEAD)')
    ap.add_argument('--new', default=ROOT)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--timeout', type=int, default=60, help='seconds per child run (default 60)')
    ap.add_argument('--cases', default=','.join(CASES))
    ap.add_argument('--child', nargs=2, metavar=('TREE', 'CASE'), help=argparse.SUPPRESS)
    ap.add_argument('--data', default=os.path.join(HERE, '.data'))
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.data)))
        return 0
    os.makedirs(a.data, exist_ok=True)
    sides = [('old', a.old), ('new', a.new)]
    if not os.path.isdir(os.path.join(a.old, 'plugins')):
        sys.stderr.write('no old tree at %s (mkdir -p %s && git archive HEAD | tar -x -C %s); new only\n'
                         % (a.old, a.old, a.old))
        sides = sides[1:]
    env_before = bl.machine()
    raw = {}
    rows = []
    for case in a.cases.split(','):
        raw[case] = dict((s, []) for s, dummy in sides)
        for rep in range(a.reps):
            order = sides if rep % 2 == 0 else sides[::-1]
            if case.endswith(NEW_ONLY):
                order = [sd for sd in order if sd[0] == 'new']
            for side, tree in order:
                # an old run that timed out once is not repeated (it would only cost more minutes)
                if raw[case][side] and raw[case][side][0].get('timeout'):
                    continue
                r = run_child(tree, case, a.timeout, a.data)
                r['rep'] = rep
                raw[case][side].append(r)
                sys.stderr.write('%-10s %-3s rep %d  %s\n' % (case, side, rep, r))
        cells = [fmt(raw[case][s], a.timeout) if raw[case][s] else '-' for s, dummy in sides]
        ratio = ''
        if len(sides) == 2:
            o = [r['seconds'] for r in raw[case]['old'] if r.get('seconds') is not None]
            n = [r['seconds'] for r in raw[case]['new'] if r.get('seconds') is not None]
            if n and o and min(n) > 0:
                ratio = '%.3gx' % (bl.median(o) / max(bl.median(n), 1e-6))
            elif n and any(r.get('timeout') for r in raw[case]['old']):
                ratio = '> %.3gx' % (a.timeout / max(bl.median(n), 1e-6))
        rss = ['%s KiB' % r['rss_growth_kib'] for s, dummy in sides for r in raw[case][s][:1] if 'rss_growth_kib' in r]
        res = [json.dumps(raw[case][s][0].get('result'), sort_keys=True) if raw[case][s] else '' for s, dummy in sides]
        rows.append([case] + cells + [ratio, ' / '.join(rss), ' | '.join(res)])
    headers = ['case'] + ['%s (median)' % s for s, dummy in sides] + ['old/new', 'RSS growth', 'result']
    print(bl.table(headers, rows))
    print('JSON: ' + json.dumps({'machine_before': env_before, 'machine_after': bl.machine(), 'reps': a.reps,
                                 'timeout_s': a.timeout, 'trees': dict(sides), 'raw': raw}, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
