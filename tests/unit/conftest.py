"""Make the checkout importable as ansible_collections.perfsec.selinux for the unit tests.

The repository root is the collection; ansible's loader needs it under a
.../ansible_collections/perfsec/selinux path, so we point a symlink there
(build/collections) and put that on sys.path. Works on Python 3.6 and newer.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLL_BASE = os.path.join(ROOT, 'build', 'collections')
LINK = os.path.join(COLL_BASE, 'ansible_collections', 'perfsec', 'selinux')

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:
        pass
if COLL_BASE not in sys.path:
    sys.path.insert(0, COLL_BASE)

# Old target Pythons (3.6/3.7 lanes, .venv-py36/.venv-py37) have no ansible-core of their
# own: give them the module_utils of ansible-core 2.16 from .venv-compat, the last line that
# supports those interpreters as targets. Only the `ansible` package is exposed.
if sys.version_info < (3, 8):
    try:
        import ansible  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        import glob
        cands = glob.glob(os.path.join(ROOT, '.venv-compat', 'lib', 'python3*', 'site-packages', 'ansible'))
        if cands:
            shim = os.path.join(ROOT, 'build', 'ansible216')
            os.makedirs(shim, exist_ok=True)
            link = os.path.join(shim, 'ansible')
            if not os.path.islink(link):
                os.symlink(cands[0], link)
            sys.path.insert(0, shim)

# tests/unit/helpers.py is importable as `helpers` from every test file.
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
