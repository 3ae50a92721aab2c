"""Active time from a stream of timestamped events: CVAT's working-time rule, used for every method.

The rule, as CVAT's server applies it to each batch of client events (cvat-ai/cvat,
`cvat/apps/events/handlers.py: handle_client_events_push`, later moved to `cvat/apps/events/utils.py:
compute_working_time_per_ids`; constants in `cvat/apps/events/const.py`, tests in `cvat/apps/events/tests/
test_events.py`):
- events are taken in time order; the clock starts at the first event (or at the end of the previous batch's last
  event);
- the gap from the previous event's *end* to this event's start counts when it is strictly less than 100 s
  (`TIME_THRESHOLD = timedelta(seconds=100)`, `if t_diff < TIME_THRESHOLD`; a gap of exactly 100 s is a pause);
- an event's end is its timestamp, except for `change:frame` (the "compressed" scope) whose end is
  timestamp + duration; the part of that span beyond the previous end counts (overlaps are not counted twice);
- the time is credited to the ids (job, task, project) of the *previous* event;
- resolution is 1 ms (`WORKING_TIME_RESOLUTION`), so this module works in integer milliseconds.
The folder watcher applies the same rule to file arrivals, so the two methods' active times are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

THRESHOLD_MS = 100_000  # CVAT's TIME_THRESHOLD (100 s), see the module docstring


@dataclass
class Step:
    """One event's contribution: the counted gap before it, its own counted span, or a pause before it."""

    gap_ms: int = 0  # counted gap from the previous end (0 when it was a pause)
    span_ms: int = 0  # counted part of the event's own duration (change:frame)
    pause_ms: int = 0  # excluded gap (>= threshold)
    pause_start_ms: int | None = None

    @property
    def active_ms(self) -> int:
        return self.gap_ms + self.span_ms


@dataclass
class ActiveTime:
    steps: list[Step] = field(default_factory=list)

    @property
    def active_ms(self) -> int:
        return sum(s.active_ms for s in self.steps)

    @property
    def paused_ms(self) -> int:
        return sum(s.pause_ms for s in self.steps)

    def pauses(self) -> list[tuple[int, int]]:
        """(start_ms, end_ms) of each excluded gap."""
        return [(s.pause_start_ms, s.pause_start_ms + s.pause_ms) for s in self.steps if s.pause_ms]


def active_time(
    starts_ms: list[int],
    durations_ms: list[int] | None = None,
    threshold_ms: int = THRESHOLD_MS,
    previous_end_ms: int | None = None,
) -> ActiveTime:
    """CVAT's rule over events already sorted by start; one Step per event, in order.

    `durations_ms[i]` is the span of event i (0 for instant events; CVAT gives a span to `change:frame` only)."""
    durations_ms = durations_ms or [0] * len(starts_ms)
    result = ActiveTime()
    if not starts_ms:
        return result
    prev_end = starts_ms[0] if previous_end_ms is None else previous_end_ms
    for start, duration in zip(starts_ms, durations_ms):
        step = Step()
        if start > prev_end:
            gap = start - prev_end
            if gap < threshold_ms:
                step.gap_ms = gap
            else:
                step.pause_ms, step.pause_start_ms = gap, prev_end
            prev_end = start
        end = start + max(int(duration), 0)
        if end > prev_end:
            step.span_ms = end - prev_end
            prev_end = end
        result.steps.append(step)
    return result
