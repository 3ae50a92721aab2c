"""The benchmark config: its typed sections and loading with key-path errors (schema.py), the candidates built from
the pipeline sections (candidates.py), the built-in profiles (profiles.py) and the README's generated reference
(doc.py). The names other packages use are re-exported here."""

from benchmarks.config.schema import (
    BenchConfig,
    ConfigError,
    LabelsConfig,
    LatencyConfig,
    SourceConfig,
    SplitConfig,
    deep_merge,
    load_config,
    load_yaml,
    parse_override,
    save_resolved,
    with_overrides,
)

__all__ = [
    "BenchConfig",
    "ConfigError",
    "LabelsConfig",
    "LatencyConfig",
    "SourceConfig",
    "SplitConfig",
    "deep_merge",
    "load_config",
    "load_yaml",
    "parse_override",
    "save_resolved",
    "with_overrides",
]
