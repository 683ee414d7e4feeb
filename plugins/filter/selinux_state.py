# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the selinux_state role; the decisions are in module_utils/selinuxstate.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import selinuxstate


class FilterModule(object):
    def filters(self):
        return {'selinux_state_plan': selinuxstate.plan, 'selinux_state_reboot': selinuxstate.reboot_required}
