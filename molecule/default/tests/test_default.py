"""Checks inside the VM after converge (pytest-testinfra, run by Molecule's verifier)."""


def test_getenforce_is_enforcing(host):
    assert host.check_output("getenforce") == "Enforcing"


def test_config_is_enforcing_after_reboot(host):
    assert host.file("/etc/selinux/config").contains("^SELINUX=enforcing")


def test_perf_event_class_is_defined(host):
    assert host.file("/sys/fs/selinux/class/perf_event").is_directory


def test_perf_stat_runs_as_root(host):
    cmd = host.run("perf stat -e task-clock true")
    assert cmd.rc == 0, cmd.stderr
    assert "task-clock" in cmd.stderr


def test_reboot_came_back(host):
    before = host.file("/root/boot-id-before-reboot").content_string.strip()
    now = host.check_output("cat /proc/sys/kernel/random/boot_id").strip()
    assert before, "converge did not record a boot id before its reboot"
    assert now != before, "boot id unchanged: the play's reboot did not happen"
