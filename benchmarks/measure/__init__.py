"""Measurement of trained models, in four separate steps: `timers` take raw durations, `stats` computes
statistics from the kept samples, `latency` and `size` wire them into records (the method travels with the number),
`machine` describes where they were taken. Reports only read the finished records.

Deployment latency: `run_latency.measure_models` is the one entry point (latency stage and `clsdet
latency`); `variants` builds each (backend, dtype), `export` writes the ONNX files, `gate` scores each variant
against eager float32, `throughput` sweeps batch sizes, `timer_check` compares with torch's Timer, `rounds`
summarises interleaved rounds and model-to-model ratios.

Importing this package stays light: torch is imported inside the functions that need it.
"""
