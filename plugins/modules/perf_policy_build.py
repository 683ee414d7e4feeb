#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: perfsec.selinux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: perf_policy_build
short_description: Rebuild the selinux-policy source RPM with class perf_event and capability2 perfmon, cached
version_added: "1.1.0"
description:
  - Turns a C(selinux-policy) source RPM into rebuilt binary RPMs whose policy defines class
    C(perf_event) and the capability2 permission C(perfmon), the seed's procedure. C(rpm -i) of the
    source RPM into a private C(_topdir), the spec's C(Release) gets O(release_suffix),
    C(dnf builddep), C(rpmbuild -bp), the flask files are edited structurally (as
    perfsec.selinux.perf_policy_patch does, and the equivalent unified diff is kept),
    C(rpmbuild --noclean --noprep -ba).
  - The source RPM is checked first (C(rpm --checksig), then its header must name C(selinux-policy)
    and be a source package); a truncated or corrupt file, or another package, is refused with one
    message before anything is built.
  - Builds are cached under O(workdir)/cache/KEY, KEY being the first 16 hex digits of the source
    RPM's sha256 and 12 of the hash of what the build adds (O(release_suffix), O(perfmon),
    O(perf_event), O(extra_permissions), O(extra_classes) and the recipe version). An entry holds the
    RPMs, the patch and C(manifest.json), and is assembled in a temporary directory and renamed into
    place when complete, so a failed build (C(rpmbuild) failing, flask files that do not parse, packages
    without the suffix) leaves the cache as it was. A second run is a cache hit and changes nothing.
  - The source RPM is a path on the host (O(srpm)), downloaded from O(srpm_url) into
    O(workdir)/srpms, or fetched with C(dnf download --source) (O(dnf_download)) of O(srpm_version) or of
    the version installed on O(version_host).
  - With O(fetch_dir) it also returns what to fetch to the controller and the build with the controller
    paths (RV(fetch), RV(published)).
options:
  srpm:
    description:
      - Absolute path of the source RPM on the host. Takes precedence over O(srpm_url) and O(dnf_download).
    type: path
    default: ""
  srpm_url:
    description:
      - URL to download the source RPM from (into O(workdir)/srpms, once; when O(srpm) is empty).
    type: str
    default: ""
  srpm_checksum:
    description:
      - Checksum of the download as C(ALGORITHM:HEXDIGEST) or C(ALGORITHM:URL) of a checksum file
        (as ansible.builtin.get_url takes it). An existing download that does not match is downloaded again;
        a download that does not match is refused.
    type: str
    default: ""
  dnf_download:
    description:
      - Fetch the source RPM with C(dnf download --source) (when neither O(srpm) nor O(srpm_url) is set).
    type: bool
    default: false
  srpm_version:
    description:
      - VERSION-RELEASE of C(selinux-policy) for O(dnf_download), e.g. C(3.14.4-48.fc31). Required with it
        unless O(version_host) is set.
    type: str
    default: ""
  version_host:
    description:
      - With O(dnf_download) and no O(srpm_version) (nor O(srpm), O(srpm_url)), fetch the C(selinux-policy)
        version installed on this inventory host (the role passes the first host of the play).
      - When it is O(build_host), C(rpm -q) reads it here, in check mode too; otherwise it is taken from
        O(version_host_facts).
      - A host without selinux-policy (or whose version is not known) stops the module with one message
        naming the host and what to set instead.
    type: str
    default: ""
  version_host_facts:
    description:
      - The C(ansible_facts.perfsec.selinux_policy_package) of O(version_host) (keys C(version), C(detail)),
        as perfsec.selinux.perf_mac_facts returns it; used when O(version_host) is another host than
        O(build_host).
    type: dict
  workdir:
    description:
      - Private working directory (mode 0700) for downloads, C(_topdir) trees and the cache.
      - An absolute path without C(%) (it prefixes rpm arguments and the C(_topdir) macro).
    type: path
    default: /var/tmp/perfsec-policy-build
  build_host:
    description:
      - Name of the build host recorded in the manifest and in RV(summary); empty means this host's name.
    type: str
    default: ""
  release_suffix:
    description:
      - Appended to the spec's C(Release) so the rebuilt packages are newer and recognisable. Every
        package built must carry it.
    type: str
    default: ".perf1"
  perfmon:
    description: Ensure the capability2 permission C(perfmon).
    type: bool
    default: true
  perf_event:
    description: Ensure class C(perf_event) and its six permissions.
    type: bool
    default: true
  extra_permissions:
    description:
      - More permissions for existing classes, as perfsec.selinux.perf_policy_patch takes them (class name
        to a list of permission names).
    type: dict
    default: {}
  extra_classes:
    description:
      - More classes, as perfsec.selinux.perf_policy_patch takes them (class name to a list of permission names).
    type: dict
    default: {}
  nodeps:
    description:
      - Pass C(--nodeps) to rpmbuild. V(auto) does so when the host's rpm database does not know the
        rpm package itself (Debian/Ubuntu build hosts, whose tools are dpkg packages).
    type: str
    choices: [auto, always, never]
    default: auto
  builddep:
    description: Run C(dnf builddep) on the spec first (only when not using C(--nodeps)).
    type: bool
    default: true
  keep_tree:
    description: Keep the C(_topdir) tree under O(workdir)/build/KEY after the build (for inspection).
    type: bool
    default: false
  fetch_dir:
    description:
      - Controller directory the role fetches the RPMs into (its C(policy_build_fetch_dir)); with it the
        module also returns RV(fetch) and RV(published). A plain string, not expanded on the build host.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    details:
      - Checks the source RPM (and reads the selinux-policy version of O(version_host)) and returns the
        cache key and whether a real run would build; builds, downloads and writes nothing.
  diff_mode:
    support: full
    details: The manifest of the cache entry a build adds.
  platform:
    platforms: posix
notes:
  - Python 3.6 or newer on the host; C(rpm) and C(rpmbuild) installed, plus C(dnf) for O(dnf_download) and O(builddep).
  - A build takes minutes (about one on 2 cores for the Fedora-31-like test SRPM). Run it once for a fleet
    (the role perfsec.selinux.policy_build runs it C(run_once), delegated to one build host, and fetches the RPMs
    to the controller).
seealso:
  - module: perfsec.selinux.perf_policy_patch
author:
  - perfsec.selinux developers (@perfsec)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
'''

EXAMPLES = r'''
- name: Rebuild the source RPM (or find the build in the cache)
  perfsec.selinux.perf_policy_build:
    srpm: /var/tmp/selinux-policy-3.14.4-48.fc31.src.rpm
  register: build

- name: Show the packages
  ansible.builtin.debug:
    msg: "{{ build.summary }}; {{ build.build.rpms }} in {{ build.cache_dir }}"

- name: Would this host build? (check mode prints the cache key and builds nothing)
  perfsec.selinux.perf_policy_build:
    srpm: /var/tmp/selinux-policy-3.14.4-48.fc31.src.rpm
  check_mode: true
  register: preview

- name: The version installed, from the distribution's repositories
  perfsec.selinux.perf_policy_build:
    dnf_download: true
    srpm_version: 3.14.4-48.fc31

- name: The version installed on the first host of the play (read here when it is the build host)
  perfsec.selinux.perf_policy_build:
    dnf_download: true
    build_host: "{{ inventory_hostname }}"
    version_host: "{{ ansible_play_hosts[0] }}"
    version_host_facts: "{{ hostvars[ansible_play_hosts[0]].ansible_facts.perfsec.selinux_policy_package | default(omit) }}"
    fetch_dir: "{{ playbook_dir }}/perfsec-policy-rpms"
'''

RETURN = r'''
key:
  description: The cache key; empty in check mode when the source RPM is not downloaded yet.
  returned: always
  type: str
  sample: c2018af8a9bfea65-bdbe1bf3e49f
built:
  description: Whether this run built the packages (false on a cache hit and in check mode).
  returned: always
  type: bool
cache_hit:
  description: Whether a complete cache entry for the key was found.
  returned: always
  type: bool
would_build:
  description: Whether the packages are (or, in check mode, would be) built by this run.
  returned: always
  type: bool
srpm:
  description: Path of the source RPM on the host.
  returned: always
  type: str
downloaded:
  description: Whether this run downloaded the source RPM (or would, in check mode).
  returned: always
  type: bool
cache_dir:
  description: The cache entry, O(workdir)/cache/KEY (empty when the key is not known).
  returned: always
  type: str
build:
  description:
    - The manifest of the cache entry (C(manifest.json) plus C(built)); RV(published) adds the controller
      paths (the role's C(policy_build_result)). In check mode without an entry, only
      C(key), C(srpm), C(srpm_nvr), C(built=false), C(would_build=true) and C(rpms=[]).
    - The manifest has C(key), C(srpm), C(srpm_nvr), C(srpm_sha256), C(release_suffix), C(build_host),
      C(nodeps), C(added_classes), C(added_permissions), C(patch) (file name, empty when the tree needed
      no change), C(rpms) (binary packages, sorted), C(srpms) (the rebuilt source package) and
      C(checksums) (file name to sha256).
  returned: always
  type: dict
  sample:
    key: c2018af8a9bfea65-bdbe1bf3e49f
    srpm_nvr: selinux-policy-2.20221101-48.fc31like
    built: true
    rpms: [selinux-policy-2.20221101-48.fc31like.perf1.noarch.rpm]
    added_classes: [{"class": "perf_event", "permissions": ["open", "cpu", "kernel", "tracepoint", "read", "write"]}]
    added_permissions: [{"class": "capability2", "permission": "perfmon", "block": "common cap2"}]
srpm_version:
  description:
    - The VERSION-RELEASE O(dnf_download) fetches (O(srpm_version), or the one installed on O(version_host));
      empty when the source RPM is a path or a URL.
  returned: always
  type: str
  sample: 3.14.4-48.fc31
fetch:
  description:
    - The files to fetch to the controller, C(src) on the build host and C(dest) the directory
      O(fetch_dir)/KEY/ (the RPMs, then the patch when there is one); empty in check mode without an entry.
  returned: when O(fetch_dir) is set
  type: list
  elements: dict
  sample: [{src: /var/tmp/perfsec-policy-build/cache/KEY/selinux-policy-3.14.4-48.fc31.perf1.noarch.rpm,
            dest: /srv/perfsec-policy-rpms/KEY/}]
published:
  description:
    - RV(build) with the controller paths, what the role publishes as C(policy_build_result) -
      C(controller_rpms) (O(fetch_dir)/KEY/ and each RPM), C(controller_patch) (empty without a patch) and,
      unless RV(build) says C(would_build), C(fetch_dir) (O(fetch_dir)/KEY).
  returned: when O(fetch_dir) is set
  type: dict
summary:
  description: One line saying what happened (starts with C(policy_build) followed by a colon).
  returned: always
  type: str
  sample: "policy_build: cache hit c2018af8a9bfea65-bdbe1bf3e49f for selinux-policy-2.20221101-48.fc31like on build1: nothing to build"
'''

import hashlib
import os
import platform
import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import fetch_file, fetch_url
from ansible_collections.perfsec.selinux.plugins.module_utils.flask import request_names
from ansible_collections.perfsec.selinux.plugins.module_utils.policybuild import (
    BuildError, PolicyBuild, check_paths, controller_paths, flask_requests, installed_package, makedirs,
    manifest_text, not_installed)

HEX_RE = re.compile(r'^[0-9a-fA-F]+$')


def _digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def expected_checksum(module, spec, filename):
    """(algorithm, hexdigest) from ``ALGORITHM:HEX`` or ``ALGORITHM:URL`` (a sha256sum-style file)."""
    if ':' not in spec:
        raise BuildError('srpm_checksum %r: expected ALGORITHM:CHECKSUM or ALGORITHM:URL' % spec)
    algorithm, value = spec.split(':', 1)
    algorithm = algorithm.strip().lower()
    if algorithm not in hashlib.algorithms_available:
        raise BuildError('srpm_checksum: unknown algorithm %r' % algorithm)
    value = value.strip()
    if re.match(r'^[a-z][a-z0-9+.-]*://', value):
        resp, info = fetch_url(module, value)
        if info.get('status') != 200 or resp is None:
            raise BuildError('cannot fetch the checksum file %s: %s' % (value, info.get('msg', '')))
        found = None
        for line in to_native(resp.read()).splitlines():
            parts = line.split()
            if len(parts) == 1 and HEX_RE.match(parts[0]):
                found = found or parts[0]
            elif len(parts) >= 2 and parts[1].lstrip('*').lstrip('./') == filename:
                found = parts[0]
                break
        if not found:
            raise BuildError('no checksum for %s in %s' % (filename, value))
        value = found
    if not HEX_RE.match(value):
        raise BuildError('srpm_checksum: %r is not a hexadecimal digest' % value)
    return algorithm, value.lower()


def installed_version(module, p):
    """The selinux-policy VERSION-RELEASE installed on version_host: rpm -q here when it is the
    build host (in check mode too), else its perf_mac_facts fact; one message when there is none."""
    host = p['version_host']
    if host == p['build_host']:
        found = installed_package(module)
    elif p['version_host_facts'] is not None:
        found = p['version_host_facts']
    else:
        raise BuildError('the selinux-policy version installed on %s is not known on the build host %s '
                         '(perfsec.selinux.perf_mac_facts has not run on %s): set policy_build_srpm_version '
                         '(e.g. 3.14.4-48.fc31) or policy_build_srpm.' % (host, p['build_host'], host))
    if not found.get('version'):
        raise BuildError(not_installed(host, found.get('detail') or ''))
    return found['version']


def resolve_srpm(module, p):
    """(path of the source RPM, downloaded?) on this host; in check mode a missing download is
    returned as (path, True) without fetching it."""
    if p['srpm']:
        return p['srpm'], False
    srpms = os.path.join(p['workdir'], 'srpms')
    if p['srpm_url']:
        name = os.path.basename(urlsplit(p['srpm_url']).path)
        if not name:
            raise BuildError('srpm_url %s does not end in a file name' % p['srpm_url'])
        dest = os.path.join(srpms, name)
        want = expected_checksum(module, p['srpm_checksum'], name) if p['srpm_checksum'] else None
        if os.path.isfile(dest) and (want is None or _digest(dest, want[0]) == want[1]):
            return dest, False
        if module.check_mode:
            return dest, True
        tmp = fetch_file(module, p['srpm_url'])
        if want is not None and _digest(tmp, want[0]) != want[1]:
            raise BuildError('the download of %s does not match srpm_checksum (%s %s): fix the URL or the '
                             'checksum; nothing was built' % (p['srpm_url'], want[0], want[1]))
        makedirs(srpms)
        module.atomic_move(tmp, dest)
        os.chmod(dest, 0o600)
        return dest, True
    if p['dnf_download']:
        if not p['srpm_version'] and p['version_host']:
            p['srpm_version'] = installed_version(module, p)
        if not p['srpm_version']:
            raise BuildError('dnf_download needs srpm_version (VERSION-RELEASE of selinux-policy, e.g. '
                             '3.14.4-48.fc31)')
        dest = os.path.join(srpms, 'selinux-policy-%s.src.rpm' % p['srpm_version'])
        if os.path.exists(dest):
            return dest, False
        if module.check_mode:
            return dest, True
        makedirs(srpms)
        dnf = module.get_bin_path('dnf', required=True)
        rc, out, err = module.run_command([dnf, 'download', '--source', '--destdir', srpms,
                                           'selinux-policy-%s' % p['srpm_version']])
        if rc != 0:
            raise BuildError('dnf download --source selinux-policy-%s failed (rc %d): %s'
                             % (p['srpm_version'], rc, ' '.join((out + ' ' + err).split())[-2000:]))
        return dest, True
    raise BuildError('policy_build needs a source RPM: set policy_build_srpm (a path on the build host), '
                     'policy_build_srpm_url, or policy_build_dnf_download=true (dnf download --source).')


def run(module, p):
    p['build_host'] = p['build_host'] or platform.node()
    check_paths(p['srpm'], p['workdir'])
    try:
        p['extra_permissions_names'] = request_names('extra_permissions', p['extra_permissions'])
        p['extra_classes_names'] = request_names('extra_classes', p['extra_classes'])
    except ValueError as e:
        raise BuildError(to_native(e))
    host = p['build_host']
    srpm, downloaded = resolve_srpm(module, p)
    result = dict(changed=downloaded, downloaded=downloaded, srpm=srpm, key='', cache_dir='',
                  built=False, cache_hit=False, would_build=False)
    if downloaded and module.check_mode:
        result.update(would_build=True, changed=True,
                      build=dict(key='', srpm=srpm, srpm_nvr='', built=False, would_build=True, rpms=[]),
                      summary='policy_build: (check mode) would download %s to %s and build it on %s (cache key '
                              'known once downloaded)' % (p['srpm_url'] or 'selinux-policy-%s (dnf download --source)'
                                                          % p['srpm_version'], srpm, host))
        return result
    if not os.path.isfile(srpm):
        raise BuildError('%s does not exist on the build host %s: copy the source RPM there or fix '
                         'policy_build_srpm.' % (srpm, host))
    job = PolicyBuild(module, p)
    key = job.identify(srpm)
    result.update(key=key, cache_dir=job.entry())
    manifest = job.lookup()
    if manifest is not None:
        result.update(cache_hit=True, build=dict(manifest, built=False),
                      summary='policy_build: cache hit %s for %s on %s: nothing to build' % (key, job.nvr, host))
        return result
    result.update(would_build=True, changed=True)
    if module.check_mode:
        result.update(build=dict(key=key, srpm=srpm, srpm_nvr=job.nvr, built=False, would_build=True, rpms=[]),
                      summary='policy_build: (check mode) would build %s on %s (cache key %s)' % (job.nvr, host, key))
        if module._diff:
            result['diff'] = dict(before='', after='(a new cache entry %s: %s rebuilt)\n' % (key, job.nvr),
                                  before_header=job.entry(), after_header=job.entry())
        return result
    permissions, classes = flask_requests(p)
    manifest = job.build(permissions, classes)
    result.update(built=True, build=dict(manifest, built=True),
                  summary='policy_build: built %s on %s (cache key %s; added classes %s, permissions %s)'
                          % (job.nvr, host, key, [str(c['class']) for c in manifest['added_classes']],
                             [str(x['permission']) for x in manifest['added_permissions']]))
    if module._diff:
        result['diff'] = dict(before='', after=manifest_text(manifest),
                              before_header=os.path.join(job.entry(), 'manifest.json'),
                              after_header=os.path.join(job.entry(), 'manifest.json'))
    return result


def for_controller(p, result):
    """Add the controller's view (fetch, published) when fetch_dir is given."""
    result['srpm_version'] = p['srpm_version'] if p['dnf_download'] and not (p['srpm'] or p['srpm_url']) else ''
    if p['fetch_dir']:
        result['fetch'], result['published'] = controller_paths(result['key'], result['cache_dir'],
                                                                result['build'], p['fetch_dir'])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            srpm=dict(type='path', default=''),
            srpm_url=dict(type='str', default=''),
            srpm_checksum=dict(type='str', default=''),
            dnf_download=dict(type='bool', default=False),
            srpm_version=dict(type='str', default=''),
            workdir=dict(type='path', default='/var/tmp/perfsec-policy-build'),
            build_host=dict(type='str', default=''),
            release_suffix=dict(type='str', default='.perf1'),
            perfmon=dict(type='bool', default=True),
            perf_event=dict(type='bool', default=True),
            extra_permissions=dict(type='dict', default={}),
            extra_classes=dict(type='dict', default={}),
            nodeps=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
            builddep=dict(type='bool', default=True),
            keep_tree=dict(type='bool', default=False),
            version_host=dict(type='str', default=''),
            version_host_facts=dict(type='dict'),
            fetch_dir=dict(type='str', default=''),
        ),
        supports_check_mode=True,
    )
    try:
        p = dict(module.params)
        result = for_controller(p, run(module, p))
    except BuildError as e:
        module.fail_json(msg=to_native(e), changed=False)
    except (IOError, OSError) as e:
        module.fail_json(msg='policy_build: %s (%s). Nothing was cached (the cache is as it was).'
                             % (to_native(e), getattr(e, 'filename', '') or ''), changed=False)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
