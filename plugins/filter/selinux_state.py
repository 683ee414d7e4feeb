# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the selinux_state role; the decisions are in module_utils/selinuxstate.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.perfsec.selinux.plugins.module_utils import selinuxstate


def plan(*args, **kwargs):
    """selinuxstate.plan; a host without SELinux fails the task with the message alone."""
    try:
        return selinuxstate.plan(*args, **kwargs)
    except ValueError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {'selinux_state_plan': plan, 'selinux_state_reboot': selinuxstate.reboot_required}
