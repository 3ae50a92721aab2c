"""The built-in demo data set: generation (dataset.py), its renderer of synthetic shapes (render.py), the generator's
options (options.py) and the demo's extra candidates (candidates.py). The names other packages use are re-exported
here."""

from benchmarks.demo.dataset import DemoError, config_yaml, format_summary, generate

__all__ = ["DemoError", "config_yaml", "format_summary", "generate"]
