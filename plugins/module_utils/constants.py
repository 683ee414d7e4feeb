# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's fixed names, written once: the perf_event permissions, the paths perfsec
writes on a host, the sysctl drop-in, and the perf_users defaults. The roles' defaults and the
modules' argument specs repeat some of them as documented defaults (YAML cannot import these);
tests/unit/plugins/module_utils/test_constants.py checks that every such copy matches.
Python 3.6 compatible."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

# class perf_event as the kernel's flask files define it (security/selinux/include/classmap.h),
# in that order
PERF_EVENT_PERMS = ('open', 'cpu', 'kernel', 'tracepoint', 'read', 'write')
SELINUXFS = '/sys/fs/selinux'
PROC_ROOT = '/proc'
SELINUX_CONFIG = '/etc/selinux/config'
# root-only state of the collection on a host
STATE_DIR = '/var/lib/perfsec'
POLICY_BACKUP_DIR = STATE_DIR + '/policy-backup'
RELABEL_MARKER = STATE_DIR + '/relabel.done'
# kernel.perf_event_paranoid's drop-in: sorts after the distro's files (systemd-sysctl order)
SYSCTL_DROPIN = '/etc/sysctl.d/99-zz-perfsec-perf.conf'
PERF_USERS_GROUP = 'perf_users'
PERF_USERS_DIR = '/opt/perf_users'
# the kernel command line (perf_kernel_cmdline)
GRUB_DEFAULT = '/etc/default/grub'
OS_RELEASE = ('/etc/os-release', '/usr/lib/os-release')
