"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip-<version>.py from a host this machine cannot reach, then runs
it as `python get-pip.py <pip options> <packages>` inside a fresh venv. This does the same
with the interpreter's own ensurepip and PyPI (which is reachable): bootstrap pip, then
install what was asked for. scripts/sanity.sh copies it into ansible-test's cache.
"""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
# get-pip's own flags (--no-setuptools, --no-wheel) mean "don't add those": ensurepip
# already skips wheel, and pip does not take them, so they are dropped here.
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check', '-q'] + args)
