"""argparse value types shared by the sub-commands: a bad value fails at parse time with the flag's name."""

from __future__ import annotations

import argparse
import math


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
