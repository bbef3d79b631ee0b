"""When to try a delivery again, and when to give up. Pure: clock and randomness passed in."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from vitals_core.settings.notifier import NotifierSettings


@dataclass(frozen=True)
class Policy:
    base: float = 5.0
    max_delay: float = 3600.0
    # Give up once this long has passed since the first attempt (24 h by default).
    retry_for: float = 86_400.0
    max_attempts: int = 100
    retry_after_max: float = 3600.0
    # Each delay is drawn from [delay * (1 - jitter), delay].
    jitter: float = 0.5

    @classmethod
    def from_settings(cls, s: NotifierSettings) -> Policy:
        return cls(
            base=s.retry_base,
            max_delay=s.retry_max_delay,
            retry_for=s.retry_for,
            max_attempts=s.retry_max_attempts,
            retry_after_max=s.retry_after_max,
            jitter=s.retry_jitter,
        )


def backoff(policy: Policy, attempt: int, rand: float) -> float:
    """The delay after failed attempt number `attempt` (1-based); `rand` is uniform in [0, 1)."""
    exponent = min(attempt - 1, 60)
    delay = min(policy.max_delay, policy.base * 2.0**exponent)
    return delay * (1.0 - policy.jitter * rand)


@dataclass(frozen=True)
class Decision:
    """`retry_at` set: try again then; else give up for `reason`."""

    retry_at: float | None
    reason: str = ""


def after_failure(
    policy: Policy,
    attempt: int,
    first_at: float,
    now: float,
    rand: float,
    retry_after: float | None = None,
) -> Decision:
    """What to do after attempt number `attempt` failed with a retryable error."""
    if attempt >= policy.max_attempts:
        return Decision(None, f"gave up after {attempt} attempts")
    delay = backoff(policy, attempt, rand)
    if retry_after is not None:
        if retry_after > policy.retry_after_max:
            return Decision(None, f"Retry-After of {retry_after:.0f}s exceeds the limit")
        # The receiver's wish is a floor; the backoff still applies when it is longer.
        delay = max(delay, retry_after)
    at = now + delay
    if at - first_at > policy.retry_for:
        return Decision(None, f"still failing after {_span(now - first_at)} of retries")
    return Decision(at)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s"
