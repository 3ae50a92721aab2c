"""Built-in profiles: `--profile quick` and `--profile full` work on any benchmark config.

A profile is a partial config merged over the file's keys (then `--set` overrides go on top). The built-in ones
change only what is safe for any data: how long training runs, how many budget-curve points, how much latency
and bootstrap work. A config's own `profiles:` entry of the same name is merged over the built-in one, so a
dataset can tune them (the demo does).
"""

from __future__ import annotations

from benchmarks.config.build import ConfigError, deep_merge
from benchmarks.registry.pipelines import PIPELINES

BUILTIN_PROFILES: dict[str, dict] = {
    # a first look in minutes on a CPU: short trainings (each pipeline's `quick_epochs`, added by builtin()), a
    # 3-point curve with one seed, light latency
    "quick": {
        "curve": {"fractions": [0.25, 0.5, 1.0], "seeds": [0]},
        "metrics": {"bootstrap": 500},
        "latency": {
            "batch_sizes": [1, 8],
            "iters": 20,
            "min_seconds": 0.5,
            "backends": ["eager", "onnxruntime"],
            "dtypes": ["float32"],
            "rounds": 3,
            "throughput_max_batch": 16,
            "throughput_min_seconds": 0.2,
        },
    },
    # the numbers to publish: the real curve (4 fractions x 3 seeds), the full bootstrap and latency grid
    "full": {
        "curve": {"fractions": [0.1, 0.25, 0.5, 1.0], "seeds": [0, 1, 2], "splits": [1, 2]},
        "metrics": {"bootstrap": 2000},
        # torch.compile takes minutes per model on a CPU: it belongs here, not in quick
        "latency": {
            "batch_sizes": [1, 8, 32],
            "iters": 50,
            "min_seconds": 2.0,
            "backends": ["eager", "compile", "onnxruntime"],
            "dtypes": ["float32", "float16", "bfloat16"],
            "rounds": 5,
            "throughput_max_batch": 256,
            "throughput_min_seconds": 1.0,
        },
    },
}


def builtin(profile: str) -> dict:
    """A built-in profile, with the registered pipelines' quick epochs in `quick`."""
    out = dict(BUILTIN_PROFILES.get(profile, {}))
    if profile == "quick":
        out.update({p.name: {"epochs": p.quick_epochs} for p in PIPELINES.values() if p.quick_epochs})
    return out


def apply_profile(data: dict, profile: str, file: str) -> dict:
    """`data` (the YAML mapping) with the built-in profile and then the file's own profile of that name merged in."""
    own = data.get("profiles") or {}
    if not isinstance(own, dict):
        raise ConfigError(f"{file}: `profiles` must be a mapping of profile name -> partial config")
    if profile not in BUILTIN_PROFILES and profile not in own:
        defined = sorted(set(BUILTIN_PROFILES) | set(own))
        raise ConfigError(
            f"{file}: profile {profile!r} is not defined; built-in: {', '.join(BUILTIN_PROFILES)}; defined: "
            f"{', '.join(defined)}. Add it under `profiles:` in the config, or drop --profile"
        )
    out = deep_merge(data, builtin(profile))
    out = deep_merge(out, own.get(profile) or {})
    out["profile"] = profile
    return out
