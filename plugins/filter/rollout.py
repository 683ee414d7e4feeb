# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the rollout role; written in module_utils/changes.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import changes


class FilterModule(object):
    def filters(self):
        return {'rollout_changes': changes.changes, 'rollout_policy_problem': changes.policy_problem}
