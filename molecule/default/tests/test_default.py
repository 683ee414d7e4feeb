"""Checks inside the VM after converge (pytest-testinfra, run by Molecule's verifier): the
host booted enforcing, enable_perf_mac installed the module and did nothing else."""
import re


def test_getenforce_is_enforcing(host):
    assert host.check_output("getenforce") == "Enforcing"


def test_config_is_enforcing(host):
    assert host.file("/etc/selinux/config").contains("^SELINUX=enforcing")


def test_never_permissive(host):
    """No switch to permissive since prepare: the kernel logs MAC_STATUS enforcing=0
    old_enforcing=1 for every setenforce 0."""
    before = int(host.file("/root/to-permissive-prepared").content_string.strip() or 0)
    now = host.run("grep -c 'type=MAC_STATUS.* enforcing=0 old_enforcing=1' /var/log/audit/audit.log")
    assert int(now.stdout.strip() or 0) == before, now.stdout


def test_no_reboot_no_relabel(host):
    prepared = host.file("/root/boot-id-prepared").content_string.strip()
    now = host.check_output("cat /proc/sys/kernel/random/boot_id").strip()
    assert prepared, "prepare did not record a boot id"
    assert now == prepared, "boot id changed: enable_perf_mac rebooted a host that needed no reboot"
    assert not host.file("/.autorelabel").exists
    assert not host.file("/var/lib/perfsec/relabel.done").exists


def test_perf_event_class_is_defined(host):
    assert host.file("/sys/fs/selinux/class/perf_event").is_directory


def test_module_installed_at_300(host):
    rows = host.check_output("semodule -lfull").splitlines()
    assert any(re.match(r"^300 perfsec_perf +pp", r) for r in rows), rows


def test_perf_stat_runs_as_root(host):
    cmd = host.run("perf stat -e task-clock true")
    assert cmd.rc == 0, cmd.stderr
    assert "task-clock" in cmd.stderr
