"""Labeling-time logs (folder sorting, CVAT) and the labeling cost the harness reports.

Public API: `labeling_cost(n_images, n_labels, n_boxes, log_dir, rates=None, dataset=None)` and `LabelingRates`.
The log format is documented in `labeling_logs/README.md` (reader/writer: `log_format.py`).
"""

from benchmarks.labeling.cost import labeling_cost
from benchmarks.labeling.log_format import SCHEMA_VERSION, LabelingLog, LogFormatError, read_log, write_log
from benchmarks.labeling.rates import LabelingRates

__all__ = [
    "SCHEMA_VERSION",
    "LabelingLog",
    "LabelingRates",
    "LogFormatError",
    "labeling_cost",
    "read_log",
    "write_log",
]
