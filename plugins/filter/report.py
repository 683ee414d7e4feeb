# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the report role; the decisions are in module_utils/report.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import report


class FilterModule(object):
    def filters(self):
        return {
            'report_attention': report.attention,
            'report_checksum_mismatch': report.checksum_mismatch,
            'report_summary': report.summary,
            'report_host_line': report.host_line,
        }
