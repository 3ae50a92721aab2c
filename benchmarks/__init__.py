"""clsdet benchmark harness: data sources, manifest, split, evaluation, measurement, reports, MLflow, CLI."""

__version__ = "0.1.0"
