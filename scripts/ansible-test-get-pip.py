"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip-<version>.py from a host this machine cannot reach, then runs
it as `python get-pip.py <pip options> <packages>` inside a fresh venv. This does the same
with the interpreter's own ensurepip and PyPI (which is reachable): bootstrap pip, then
install what was asked for. scripts/sanity.sh copies it into ansible-test's cache.
"""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check', '-q'] + sys.argv[1:])
