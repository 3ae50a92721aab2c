"""argparse value types shared by the sub-commands: a bad value fails at parse time with the flag's name."""

from __future__ import annotations

import argparse
import math

from benchmarks.measure.devices import DEVICE_KINDS, is_device_name


def positive_s(text: str) -> float:
    """A finite number of seconds > 0 (a threshold of 0 makes every gap a pause; a negative poll period crashes)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number of seconds > 0")
    return value


def count(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 0 or more")
    return value


def device(text: str) -> str:
    """auto, cpu, cuda, mps or cuda:N: the name is checked here, whether this machine has it when the command runs
    (benchmarks.measure.devices.check_present names the devices present)."""
    if not is_device_name(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; use {', '.join(DEVICE_KINDS)} or cuda:N (cuda:1)")
    return text


def add_set(p, note: str = "") -> None:
    """The repeatable `--set KEY=VALUE` config override, the same for every command that loads a config."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=f"{note}override a config value, e.g. --set classifier.epochs=5 (repeatable)")  # fmt: skip
