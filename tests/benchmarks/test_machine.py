"""machine_info() / commit_info(): the schema's keys, a stable id, git via subprocess, outside git."""

from __future__ import annotations

import subprocess

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
