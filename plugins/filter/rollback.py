# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the rollback role; the decision and the result are in module_utils/rollback.py."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import rollback


class FilterModule(object):
    def filters(self):
        return {'rollback_decide': rollback.decide, 'rollback_result': rollback.result,
                'rollback_strip_refusal': rollback.strip_refusal}
