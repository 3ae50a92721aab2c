"""machine_info() / commit_info(): the schema's keys, values checked against known answers and independent sources
(/proc, a hand-computed hash, a changed thread count and CPU affinity), git via subprocess, outside git."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks.measure.machine import commit_info, machine_id, machine_info

KEYS = {"machine_id", "hostname", "platform", "python", "cpu", "cpu_cores", "threads", "ram_gb", "torch",
        "torchvision", "cuda", "cudnn", "gpu", "mps"}  # fmt: skip


def test_machine_info_keys_and_values():
    info = machine_info()
    assert info.keys() >= KEYS
    assert info["machine_id"] == machine_id() and len(info["machine_id"]) == 12
    assert info["threads"] == torch.get_num_threads()
    assert info["torch"] == torch.__version__
    assert isinstance(info["gpu"], list) and len(info["gpu"]) == torch.cuda.device_count()
    assert info["cpu"] and info["cpu_cores"] >= 1


def test_machine_id_is_a_known_hash_of_host_and_cpu():
    """A fixed answer, computed by hand (sha256 of "host-a|cpu-x"), not by calling the same code twice."""
    assert machine_id("host-a", "cpu-x") == hashlib.sha256(b"host-a|cpu-x").hexdigest()[:12] == "8611ae74719c"
    assert machine_id("host-b", "cpu-x") != machine_id("host-a", "cpu-x") != machine_id("host-a", "cpu-y")


def test_threads_follow_torch_setting():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert machine_info()["threads"] == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is a Linux API")
def test_cpu_cores_follow_affinity_not_host_total():
    allowed = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert machine_info()["cpu_cores"] == 1
    finally:
        os.sched_setaffinity(0, allowed)
    assert machine_info()["cpu_cores"] == len(allowed)


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="needs /proc/meminfo (Linux)")
def test_ram_and_cpu_name_match_the_kernel():
    """Checked against /proc, a source machine.py does not use for RAM (it uses sysconf)."""
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))  # fmt: skip
    info = machine_info()
    assert info["ram_gb"] == pytest.approx(mem_kb / 1024**2, abs=0.2)
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.lower().startswith("model name")]  # fmt: skip
    if names:
        assert info["cpu"] == names[0]
    assert info["python"] == "{}.{}.{}".format(*sys.version_info[:3])


def test_commit_info_clean_dirty_and_outside_git(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "trunk"], check=True)
    (repo / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert commit_info(repo) == {"id": head, "branch": "trunk", "dirty": False, "error": None}
    (repo / "untracked.txt").write_text("run output")
    assert commit_info(repo)["dirty"] is False
    (repo / "a.txt").write_text("2")
    assert commit_info(repo)["dirty"] is True
    outside = commit_info(tmp_path / "nowhere")
    assert outside["id"] is None and "not a git checkout" in outside["error"]
