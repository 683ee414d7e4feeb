#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 2: policy builds for a fleet of N hosts.

  role_cold  ONE play over N hosts (all ansible_connection=local) with perfsec.selinux.policy_build
             and an empty workdir: the role builds once on the build host (cache miss).
  role_warm  the same play again, same workdir: cache hit, nothing built.
  seed       the reference procedure once per host, sequentially on this machine:
             rpm -i SRPM into a private _topdir, rpmbuild -bp, patch -p1 < flask patch,
             rpmbuild --noclean --noprep -ba   (--nodeps: this Debian host's rpm database has
             no build dependencies, exactly what the role's policy_build_nodeps=auto does).

rpmbuild invocations are counted by a wrapper named rpmbuild first in PATH (logs argv, execs
the real one) for every variant. The SRPM is the Fedora-31-like fixture
(tests/fixtures/policy/fc31tree.py srpm); its sha256 is checked before and after the run.

  bench/policy_builds.py                  # N=4 hosts, 1 repetition (about 10 min on 2 cores)
  bench/policy_builds.py --hosts 4 --reps 3
Order rotated per rep: role_cold,seed,role_warm / seed,role_cold,role_warm / role_cold,role_warm,seed.
Beside the build time it reports the role's fixed overhead: role_warm (cache hit) per rep, and
role_cold - role_warm (the build itself), next to the seed's per-host build times.
Prints a human table, then one JSON line (prefixed "JSON: ") with every raw figure.
"""
from __future__ import (absolute_import, division, print_function)

import argparse
import glob
import json
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

ROOT = bl.ROOT
DATA = os.path.join(HERE, '.data', 'policy')
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'policy')
PLAY = os.path.join(HERE, 'playbooks', 'policy_build.yml')
PATCH_NAME = 'selinux-policy-perf-events-perfmon.patch'
ORDERS = (('role_cold', 'seed', 'role_warm'), ('seed', 'role_cold', 'role_warm'),
          ('role_cold', 'role_warm', 'seed'))

WRAPPER = """#!/bin/sh
# bench/policy_builds.py: count rpmbuild invocations, then run the real one
printf '%s\\n' "$*" >> "${BENCH_RPMBUILD_LOG:?}"
exec /usr/bin/rpmbuild "$@"
"""


def fixture_srpm():
    sys.path.insert(0, FIXTURES)
    import fc31tree
    return fc31tree.fc31_srpm(), fc31tree.sha256_file


def make_env(logfile):
    bindir = os.path.join(DATA, 'bin')
    os.makedirs(bindir, exist_ok=True)
    w = os.path.join(bindir, 'rpmbuild')
    with open(w, 'w') as f:
        f.write(WRAPPER)
    os.chmod(w, 0o755)
    env = dict(os.environ, LC_ALL='C.UTF-8', ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, 'build', 'collections'),
               ANSIBLE_LOCAL_TEMP=os.path.join(DATA, 'ansible-tmp'),
               PATH=bindir + ':' + os.path.join(ROOT, '.venv', 'bin') + ':' + os.environ.get('PATH', ''),
               BENCH_RPMBUILD_LOG=logfile)
    return env


def count_log(logfile):
    if not os.path.exists(logfile):
        return {'invocations': 0, 'ba': 0, 'bp': 0}
    with open(logfile) as f:
        lines = [x for x in f.read().splitlines() if x.strip()]
    return {'invocations': len(lines), 'ba': sum(1 for x in lines if ' -ba ' in ' %s ' % x),
            'bp': sum(1 for x in lines if ' -bp ' in ' %s ' % x)}


def role_cmd(inv, srpm, workdir, fetch):
    q = shlex.quote
    return ('ansible-playbook -i %s %s -e bench_srpm=%s -e bench_workdir=%s -e bench_fetch_dir=%s'
            % (q(inv), q(PLAY), q(srpm), q(workdir), q(fetch)))


def seed_cmd(srpm, topdir, patch):
    """The reference procedure on one host (steps 1-4), private _topdir, --nodeps (Debian)."""
    q = shlex.quote
    t = q(topdir)
    return ('set -e; rm -rf %(t)s; mkdir -p %(t)s; '
            'rpm -i --nosignature --define "_topdir "%(t)s %(srpm)s; '
            'spec=$(ls %(t)s/SPECS/*.spec); '
            'rpmbuild --define "_topdir "%(t)s --nodeps -bp "$spec"; '
            'tree=$(dirname "$(dirname "$(dirname "$(ls %(t)s/BUILD/*/policy/flask/access_vectors)")")"); '
            'cd "$tree" && patch -p1 < %(patch)s; '
            'rpmbuild --define "_topdir "%(t)s --nodeps --noclean --noprep -ba "$spec"; '
            'ls %(t)s/RPMS/noarch/'
            % {'t': t, 'srpm': q(srpm), 'patch': q(patch)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--hosts', type=int, default=4)
    ap.add_argument('--reps', type=int, default=1)
    a = ap.parse_args(argv)
    env_before = bl.machine()
    srpm, sha256_file = fixture_srpm()
    spec = os.path.join(FIXTURES, 'selinux-policy.spec')
    sha_before = sha256_file(srpm)
    spec_before = sha256_file(spec)
    os.makedirs(DATA, exist_ok=True)
    hosts = ['host%d' % (i + 1) for i in range(a.hosts)]
    inv = os.path.join(DATA, 'inventory-%d.ini' % a.hosts)
    with open(inv, 'w') as f:
        for h in hosts:
            f.write('%s ansible_connection=local ansible_python_interpreter=%s\n' % (h, sys.executable))
    patch = None
    order_used = []
    raw = {'role_cold': [], 'role_warm': [], 'seed': []}
    for rep in range(a.reps):
        work = os.path.join(DATA, 'rep%d' % rep)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        workdir, fetch = os.path.join(work, 'role-work'), os.path.join(work, 'fetch')

        def role(kind):
            log = os.path.join(work, kind + '.rpmbuild.log')
            out = os.path.join(work, kind + '.out')
            r = bl.run_timed(role_cmd(inv, srpm, workdir, fetch), cwd=ROOT, env=make_env(log),
                             stdout_path=out, stderr_path=out + '.err')
            with open(out) as f:
                text = f.read()
            r.update(count_log(log))
            r['built_msgs'] = text.count('policy_build: built ')
            r['cache_hit_msgs'] = text.count('policy_build: cache hit ')
            r['hosts_served'] = text.count('"msg": "bench: ')
            r['rep'] = rep
            raw[kind].append(r)
            sys.stderr.write('rep %d %-9s %7.1fs rpmbuild=%d (-ba %d) built=%d hit=%d rc=%d\n'
                             % (rep, kind, r['wall_s'], r['invocations'], r['ba'], r['built_msgs'],
                                r['cache_hit_msgs'], r['rc']))

        def seed():
            per_host = []
            log = os.path.join(work, 'seed.rpmbuild.log')
            for h in hosts:
                out = os.path.join(work, 'seed-%s.out' % h)
                r = bl.run_timed(seed_cmd(srpm, os.path.join(work, 'seed', h, 'rpmbuild'), patch),
                                 cwd=ROOT, env=make_env(log), stdout_path=out, stderr_path=out + '.err')
                r['host'] = h
                per_host.append(r)
                sys.stderr.write('rep %d seed %-6s %7.1fs rc=%d\n' % (rep, h, r['wall_s'], r['rc']))
            total = dict(count_log(log), rep=rep, per_host=per_host,
                         wall_s=round(sum(r['wall_s'] for r in per_host), 3),
                         cpu_s=round(sum(r['cpu_s'] for r in per_host), 2),
                         max_rss_kib=max(r['max_rss_kib'] for r in per_host),
                         rc=max(r['rc'] for r in per_host))
            raw['seed'].append(total)

        def role_cold():
            nonlocal patch
            role('role_cold')
            found = glob.glob(os.path.join(fetch, '*', PATCH_NAME))
            if found:
                patch = os.path.join(DATA, PATCH_NAME)
                shutil.copy(found[0], patch)
            return patch is not None

        # order rotated per rep (no variant always first): cold,seed,warm / seed,cold,warm /
        # cold,warm,seed; role_warm needs role_cold's cache, the seed needs the flask patch the
        # role wrote, so rep 0 starts with the role
        order = ORDERS[rep % len(ORDERS)] if patch is not None else ORDERS[0]
        order_used.append(list(order))
        for kind in order:
            if kind == 'seed':
                seed()
            elif kind == 'role_warm':
                role('role_warm')
            elif not role_cold():
                sys.stderr.write('the role wrote no %s: see %s\n' % (PATCH_NAME, os.path.join(work, 'role_cold.out')))
                return 1
    sha_after = sha256_file(srpm)
    spec_after = sha256_file(spec)

    med = dict((k, bl.median([r['wall_s'] for r in v])) for k, v in raw.items())
    ratios = {'seed_over_role_cold': [round(s['wall_s'] / c['wall_s'], 2) for s, c in zip(raw['seed'], raw['role_cold'])],
              'seed_over_role_warm': [round(s['wall_s'] / c['wall_s'], 2) for s, c in zip(raw['seed'], raw['role_warm'])]}
    # the role's fixed cost = the warm play (cache hit: Ansible per-task overhead, checksig,
    # fetch, nothing built); cold - warm = the build itself; beside it the seed's per-host builds
    overhead = [{'rep': c['rep'], 'role_cold_s': c['wall_s'], 'role_warm_s': w['wall_s'],
                 'role_build_s': round(c['wall_s'] - w['wall_s'], 3),
                 'seed_per_host_s': [h['wall_s'] for h in s['per_host']],
                 'seed_host_median_s': bl.median([h['wall_s'] for h in s['per_host']])}
                for c, w, s in zip(raw['role_cold'], raw['role_warm'], raw['seed'])]
    overhead_med = dict((k, bl.median([o[k] for o in overhead]))
                        for k in ('role_cold_s', 'role_warm_s', 'role_build_s', 'seed_host_median_s'))
    summary = {
        'benchmark': 'policy_builds', 'hosts': a.hosts, 'reps': a.reps, 'srpm': srpm,
        'srpm_sha256_before': sha_before, 'srpm_sha256_after': sha_after,
        'srpm_changed_during_run': sha_before != sha_after,
        # fc31tree keys the SRPM by the spec: another engineer editing it means a new SRPM
        'fixture_spec_sha256_before': spec_before, 'fixture_spec_sha256_after': spec_after,
        'fixture_spec_changed_during_run': spec_before != spec_after,
        'commands': {'role': role_cmd(inv, srpm, '<DATA>/repN/role-work', '<DATA>/repN/fetch'),
                     'seed_per_host': seed_cmd(srpm, '<DATA>/repN/seed/HOST/rpmbuild', patch or PATCH_NAME)},
        'raw': raw, 'median_wall_s': med, 'ratios_per_rep': ratios, 'order_per_rep': order_used,
        'role_overhead_per_rep': overhead, 'role_overhead_medians': overhead_med,
        'ratio_medians': dict((k, bl.median(v)) for k, v in ratios.items()),
        'saved_wall_s_median': round(med['seed'] - med['role_cold'], 1),
        'machine_before': env_before, 'machine_after': bl.machine(),
        'versions': {'rpmbuild': bl.tool_version(['rpmbuild', '--version']),
                     'ansible': bl.tool_version([os.path.join(ROOT, '.venv', 'bin', 'ansible'), '--version']),
                     'patch': bl.tool_version(['patch', '--version'])},
    }
    rows = []
    for k in ('role_cold', 'role_warm', 'seed'):
        v = raw[k]
        rows.append([k, ' '.join('%.1f' % r['wall_s'] for r in v), med[k],
                     ' '.join('%d' % r['ba'] for r in v), ' '.join('%d' % r['invocations'] for r in v),
                     ' '.join('%.0f' % r['cpu_s'] for r in v), set(r['rc'] for r in v)])
    print('fleet of %d hosts, SRPM %s (sha256 %s, changed during run: %s; fixture spec changed: %s)'
          % (a.hosts, os.path.basename(srpm), sha_before[:16], sha_before != sha_after, spec_before != spec_after))
    print(bl.table(['variant', 'wall s per rep', 'median s', 'builds (-ba)', 'rpmbuild calls', 'cpu s', 'rc'], rows))
    print()
    print(bl.table(['ratio (paired per rep)', 'per rep', 'median'],
                   [[k, ' '.join(str(x) for x in v), bl.median(v)] for k, v in ratios.items()]))
    print()
    print('role fixed overhead (role_warm = cache hit) beside the build (role_cold - role_warm):')
    print(bl.table(['rep', 'order', 'role_cold s', 'role_warm s (overhead)', 'cold - warm s (build)',
                    'seed per-host builds s', 'seed host median s'],
                   [[o['rep'], ','.join(order_used[i]), o['role_cold_s'], o['role_warm_s'], o['role_build_s'],
                     ' '.join('%.1f' % x for x in o['seed_per_host_s']), o['seed_host_median_s']]
                    for i, o in enumerate(overhead)]
                   + [['median', '', overhead_med['role_cold_s'], overhead_med['role_warm_s'],
                       overhead_med['role_build_s'], '', overhead_med['seed_host_median_s']]]))
    mb, ma = summary['machine_before'], summary['machine_after']
    print('window %s - %s, load (1/5/15 min) %s -> %s, qemu processes %s -> %s'
          % (mb['date'], ma['date'], ' '.join('%.2f' % x for x in mb['loadavg'] or ()),
             ' '.join('%.2f' % x for x in ma['loadavg'] or ()), mb['qemu_processes'], ma['qemu_processes']))
    print('JSON: ' + json.dumps(summary, sort_keys=True))
    bad = [k for k, v in raw.items() if any(r['rc'] != 0 for r in v)]
    return 1 if bad or sha_before != sha_after or spec_before != spec_after else 0


if __name__ == '__main__':
    sys.exit(main())
