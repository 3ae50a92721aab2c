"""Measurement of trained models, in the four steps of STYLE 6: `timers` take raw durations, `stats` computes
statistics from the kept samples, `latency` and `size` wire them into records (the method travels with the number),
`machine` describes where they were taken. Reports only read the finished records.

Importing this package stays light: torch is imported inside the functions that need it.
"""
