#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 1: module generation from a large audit log, side by side on the SAME file.

Variants (interleaved: each repetition runs every variant once, in a rotated order):
  ours_paths  perf_semodule's from_audit.paths path: read the file, generate_rules, render_te
              (bench/ours_from_audit.py --paths FILE): the byte prefilter (issue 19)
  ours_lines  (with --line-reader) the same with audit.read_lines, every line decoded and parsed
              (the module's reader before the prefilter)
  ours_role   role perf_module's path: since 5bf283a the role has perf_semodule read the log
              itself, with its rotations and a start time (from_audit paths + rotated + since:
              bench/ours_from_audit.py --paths FILE --rotated --since 0); before, it was
              ausearch -m AVC --raw -if FILE | generate_rules (RESULTS.md section 1, older runs)
  seed        ausearch -c perf --raw -if FILE | audit2allow -p POLICY   (the reference procedure)
  grep        grep -F perf_event FILE   (the floor: one pass over the bytes)

Then checks that the outputs agree: our rules == audit2allow's rules restricted to the
allow-listed domains, classes perf_event/capability2 and their allow-listed permissions.

  bench/audit_log.py                 # 1 GiB log (generated once under bench/.data/), 3 repetitions
  bench/audit_log.py --size 100M     # quick run
Prints a human table, then one JSON line (prefixed "JSON: ") with every raw figure.
"""
from __future__ import (absolute_import, division, print_function)

import argparse
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

ROOT = bl.ROOT
DATA = os.path.join(HERE, '.data')
ALLOWED = ['unconfined_t', 'staff_t']
POLICY = '/etc/selinux/default/policy/policy.33'


def ensure_log(size, seed):
    path = os.path.join(DATA, 'audit-%s-seed%d.log' % (size, seed))
    meta = path + '.json'
    if not (os.path.exists(path) and os.path.exists(meta)):
        out = subprocess.run([sys.executable, os.path.join(HERE, 'gen_audit_log.py'), '--size', size,
                              '--seed', str(seed), '--out', path], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
        with open(meta, 'w') as f:
            f.write(out)
    with open(meta) as f:
        return path, json.load(f)


def variants(log, policy, outdir, line_reader=False):
    q = shlex.quote
    py = q(sys.executable)
    ours = q(os.path.join(HERE, 'ours_from_audit.py'))
    dom = ','.join(ALLOWED)
    extra = []
    if line_reader:
        extra = [('ours_lines', '%s %s --paths %s --allowed-domains %s --line-reader --te %s'
                  % (py, ours, q(log), dom, q(os.path.join(outdir, 'ours_lines.te'))))]
    return [
        ('ours_paths', '%s %s --paths %s --allowed-domains %s --te %s'
         % (py, ours, q(log), dom, q(os.path.join(outdir, 'ours_paths.te')))),
    ] + extra + [
        ('ours_role', '%s %s --paths %s --rotated --since 0 --allowed-domains %s --te %s'
         % (py, ours, q(log), dom, q(os.path.join(outdir, 'ours_role.te')))),
        ('seed', 'ausearch -c perf --raw -if %s | audit2allow -p %s' % (q(log), q(policy))),
        ('grep', 'grep -F perf_event %s' % q(log)),
    ]


def compare(outdir, line_reader=False):
    sys.path.insert(0, os.path.join(ROOT, 'build', 'collections'))
    from ansible_collections.perfsec.selinux.plugins.module_utils import audit as au

    def rules_of(name):
        with open(os.path.join(outdir, name)) as f:
            return au.parse_allow_rules(f.read())

    ours = rules_of('ours_paths.te')
    role = rules_of('ours_role.te')
    lines = rules_of('ours_lines.te') if line_reader else None
    seed_all = rules_of('seed.out')
    seed_ours = []
    # what the module may grant of audit2allow's rules: allow-listed domains, the class
    # allow-lists, and only to itself (module_utils/audit.py's contract since issue 13: a
    # record's foreign target is never copied into a rule)
    for src, tgt, tclass, perms in seed_all:
        keep = [p for p in perms if p in au.allowed_perms(tclass)]
        if src in ALLOWED and keep and tgt == 'self':
            seed_ours.append((src, tgt, tclass, keep))
    extra = [au.rule_text(r) for r in seed_all
             if r[0] not in ALLOWED or r[2] not in ('perf_event', 'capability2') or r[1] != 'self']
    out = {}
    if line_reader:
        out['ours_paths_equals_ours_lines'] = ours == lines
    # the skipped reasons of our variants (the JSON line each printed)
    for name in ('ours_paths', 'ours_role') + (('ours_lines',) if line_reader else ()):
        try:
            with open(os.path.join(outdir, name + '.out')) as f:
                out['%s_skipped' % name] = json.loads(f.read().strip().splitlines()[-1])['skipped']
        except (IOError, OSError, ValueError, IndexError, KeyError):
            pass
    out.update({
        'ours_rules': [au.rule_text(r) for r in ours],
        'ours_paths_equals_ours_role': ours == role,
        'seed_rules_total': len(seed_all),
        'seed_rules_restricted': [au.rule_text(r) for r in seed_ours],
        'agree_on_allow_listed_domains': ours == seed_ours,
        'seed_extra_rules_not_granted_by_ours': extra,
    })
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', default='1G', help='log size (default 1G; 100M for a quick run)')
    ap.add_argument('--seed', type=int, default=8)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--line-reader', action='store_true',
                    help='also run ours_lines: from_audit.paths read line by line (every line parsed)')
    ap.add_argument('--policy', default=POLICY,
                    help='binary policy for audit2allow -p (this host runs no SELinux: audit2why needs one)')
    a = ap.parse_args(argv)
    env_before = bl.machine()
    log, meta = ensure_log(a.size, a.seed)
    outdir = os.path.join(DATA, 'audit-out')
    os.makedirs(outdir, exist_ok=True)
    vs = variants(log, a.policy, outdir, a.line_reader)
    # warm the page cache once so every variant reads the file from memory
    subprocess.run(['cat', log], stdout=subprocess.DEVNULL, check=True)
    raw = dict((n, []) for n, _ in vs)
    for rep in range(a.reps):
        order = vs[rep % len(vs):] + vs[:rep % len(vs)]
        for name, cmd in order:
            r = bl.run_timed(cmd, cwd=ROOT, stdout_path=os.path.join(outdir, name + '.out'),
                             stderr_path=os.path.join(outdir, name + '.err'))
            r['rep'] = rep
            raw[name].append(r)
            sys.stderr.write('rep %d %-10s %7.2fs  %8d KiB  rc=%d\n' % (rep, name, r['wall_s'], r['max_rss_kib'], r['rc']))
    agreement = compare(outdir, a.line_reader)
    med = dict((n, bl.median([r['wall_s'] for r in rs])) for n, rs in raw.items())
    rss = dict((n, max(r['max_rss_kib'] for r in rs)) for n, rs in raw.items())

    def paired(a_, b_):
        return [round(x['wall_s'] / y['wall_s'], 2) for x, y in zip(raw[a_], raw[b_])]
    ratios = {
        'seed_over_ours_paths': paired('seed', 'ours_paths'),
        'seed_over_ours_role': paired('seed', 'ours_role'),
        'ours_paths_over_grep': paired('ours_paths', 'grep'),
        'ours_role_over_grep': paired('ours_role', 'grep'),
        'seed_over_grep': paired('seed', 'grep'),
    }
    if a.line_reader:
        ratios['ours_lines_over_ours_paths'] = paired('ours_lines', 'ours_paths')
        ratios['seed_over_ours_lines'] = paired('seed', 'ours_lines')
    summary = {
        'benchmark': 'audit_log', 'log': log, 'log_meta': meta, 'reps': a.reps,
        'commands': dict(vs), 'raw': raw, 'median_wall_s': med, 'max_rss_kib': rss,
        'ratios_per_rep': ratios, 'ratio_medians': dict((k, bl.median(v)) for k, v in ratios.items()),
        'agreement': agreement, 'machine_before': env_before, 'machine_after': bl.machine(),
        'versions': {'ausearch': bl.tool_version(['ausearch', '-v']), 'grep': bl.tool_version(['grep', '--version']),
                     'audit2allow_policy': a.policy, 'python': sys.version.split()[0]},
    }
    rows = []
    for n, _ in vs:
        rows.append([n, ' '.join('%.2f' % r['wall_s'] for r in raw[n]), med[n], '%.0f' % (rss[n] / 1024.0),
                     ' '.join('%.1f' % r['cpu_s'] for r in raw[n]), set(r['rc'] for r in raw[n])])
    print('audit log: %s (%.0f MiB, %d lines, %d perf events planted)'
          % (log, meta['bytes'] / 1048576.0, meta['lines'], sum(meta['perf_events_by_kind'].values())))
    print(bl.table(['variant', 'wall s per rep', 'median s', 'peak RSS MiB', 'cpu s per rep', 'rc'], rows))
    print()
    print(bl.table(['ratio (paired per rep)', 'per rep', 'median'],
                   [[k, ' '.join(str(x) for x in v), bl.median(v)] for k, v in ratios.items()]))
    print()
    print('ours == audit2allow restricted to %s, perf_event/capability2: %s'
          % (','.join(ALLOWED), agreement['agree_on_allow_listed_domains']))
    print('ours_paths == ours_role: %s%s' % (agreement['ours_paths_equals_ours_role'],
                                            '; ours_paths == ours_lines: %s' % agreement['ours_paths_equals_ours_lines']
                                            if a.line_reader else ''))
    print('audit2allow rules in all: %d; not granted by ours: %d'
          % (agreement['seed_rules_total'], len(agreement['seed_extra_rules_not_granted_by_ours'])))
    print('JSON: ' + json.dumps(summary, sort_keys=True))
    bad = [n for n, rs in raw.items() if any(r['rc'] != 0 for r in rs)]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
