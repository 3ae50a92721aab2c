"""Built-in profiles: `--profile quick` and `--profile full` work on any benchmark config.

A profile is a partial config merged over the file's keys (then `--set` overrides go on top). The built-in ones
change only what is safe for any data: how long training runs, how many budget-curve points, how much latency
and bootstrap work. A config's own `profiles:` entry of the same name is merged over the built-in one, so a
dataset can tune them (the demo does).
"""

from __future__ import annotations

from benchmarks.config.build import ConfigError, deep_merge

BUILTIN_PROFILES: dict[str, dict] = {
    # a first look in minutes on a CPU: short trainings, a 3-point curve with one seed, light latency
    "quick": {
        "classifier": {"epochs": 10},
        "detector": {"epochs": 20},
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

DESCRIPTIONS = {
    "quick": "classifier 10 epochs, detector 20, curve at 25/50/100% of train x 1 seed on one split (training "
    "variance not measured), 500 bootstrap resamples, "
    "latency at batch 1 and 8, eager and onnxruntime float32, 3 interleaved rounds, peak throughput up to batch 16",
    "full": "the config's epochs, curve at 10/25/50/100% x seeds 0, 1, 2, and 2 more splits at 100% (3 x 3 for the "
    "verdict), 2000 bootstrap resamples, latency at "
    "batch 1, 8 and 32, eager, torch.compile and onnxruntime in float32/float16/bfloat16 where the device has them, "
    "5 rounds, peak throughput up to batch 256",
}


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
    out = deep_merge(data, BUILTIN_PROFILES.get(profile, {}))
    out = deep_merge(out, own.get(profile) or {})
    out["profile"] = profile
    return out
