# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter of the rollout role's profile check; the words are module_utils/compliance.py's."""
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.perfsec.selinux.plugins.module_utils import compliance


class FilterModule(object):
    def filters(self):
        return {'profile_refusals': compliance.profile_refusals}
