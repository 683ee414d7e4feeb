# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the decision perf_users and perf_users_binary share (module_utils/perfusers.py)
    DOCUMENTATION = r'''
options:
  source:
    description: The perf ELF to copy (an absolute path); empty finds it.
    type: str
    default: ""
  capabilities:
    description: The file capabilities wanted (C(cap_perfmon) is replaced where the kernel lacks it).
    type: list
    elements: str
    default: [cap_perfmon, cap_sys_ptrace, cap_syslog]
  allow_cap_sys_admin:
    description: On a kernel without CAP_PERFMON, give the binary C(cap_sys_admin) instead of failing.
    type: bool
    default: false
  proc_root:
    description: Where procfs is (tests).
    type: path
    default: /proc
'''
