# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the open_perf_access playbook; the decisions are in module_utils/openaccess.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import openaccess


class FilterModule(object):
    def filters(self):
        return {'access_intended': openaccess.intended, 'access_summary': openaccess.summary}
