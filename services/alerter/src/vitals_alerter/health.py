"""Is the alerter's own input impaired? Pure: judged from what the loop observed and `now`.

A broken pipeline is not a down host. While the input is impaired the alerter holds every
absence alert (and staleness) and raises one `telemetry_pipeline_down` instead; when the
input returns, hosts get a fresh absence window from that moment, so agents that buffered
and resend their samples never page, while a host that really stopped still does, one
window later.

The input is impaired when the alerter is (or was, since the last look) disconnected from
NATS or its loop stalled, when fetching telemetry
keeps failing, when the read lags the stream by more than `max_lag_s`, or when at least
`silent_share` of the hosts it knows (and at least `silent_hosts` of them) are silent at
once: every host in the stream, its own judged by their rules, the others by `Arrivals`.
The hosts known when an impairment begins are remembered: the impairment ends only once
the share of them still silent falls below `silent_share`, so the agents' resends after
an outage, which arrive over some seconds, do not each look like a return.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from vitals_alerter.rules import Rule

# Fetches failing this long in a row count as a broken input.
FETCH_FAILING_S = 2.0


@dataclass(frozen=True, slots=True)
class HealthSettings:
    silent_share: float = 0.5
    silent_hosts: int = 3
    max_lag_s: float = 60.0
    # A host silent for longer than its absence limit plus this is down, not just gone
    # quiet: it no longer counts among the hosts a mass silence is judged on.
    window_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Observed:
    connected: bool = True
    # An interruption seen between two looks (the loop itself may have been blocked on
    # the bus throughout): what it was and when it began.
    interrupted: str = ""
    interrupted_at: float | None = None
    fetch_failing_s: float = 0.0  # how long fetches have failed in a row
    lag_s: float = 0.0  # how far the read is behind the stream's newest message
    # host -> seconds past its absence limit (negative: not silent yet)
    silence: Mapping[str, float] | None = None
    # When the newest telemetry read was stored (bus time); None: not known.
    read_to: float | None = None


@dataclass(frozen=True, slots=True)
class Health:
    since: float | None = None  # when the impairment began; None while healthy
    reason: str = ""
    hosts: frozenset[str] = frozenset()  # the hosts known when it began

    @property
    def impaired(self) -> bool:
        return self.since is not None


HEALTHY = Health()


def judge(previous: Health, seen: Observed, now: float, cfg: HealthSettings) -> Health:
    """The health of the input now, carrying the start of an impairment that goes on."""
    silence = seen.silence or {}
    reason = _reason(seen, cfg)
    known = previous.hosts if previous.impaired else _known(silence, cfg)
    if not reason:
        reason = _mass_silence(known, silence, cfg)
    if not reason and previous.impaired and _not_back(previous, seen, now, cfg):
        reason = previous.reason
    if not reason:
        return HEALTHY
    if previous.impaired:
        return Health(previous.since, reason, previous.hosts)
    since = now if seen.interrupted_at is None else min(now, seen.interrupted_at)
    return Health(since, reason, frozenset(known))


def _reason(seen: Observed, cfg: HealthSettings) -> str:
    if not seen.connected:
        return "the alerter is disconnected from NATS"
    if seen.interrupted:
        return seen.interrupted
    if seen.fetch_failing_s >= FETCH_FAILING_S:
        return f"fetching telemetry has failed for {seen.fetch_failing_s:.0f}s"
    if seen.lag_s >= cfg.max_lag_s:
        return f"the alerter reads telemetry {seen.lag_s:.0f}s behind the stream"
    return ""


def _not_back(previous: Health, seen: Observed, now: float, cfg: HealthSettings) -> bool:
    """Whether the input has still delivered nothing stored since the impairment began.

    A reconnect proves nothing while the stream elects a new leader: ending the impairment
    then would start every host's absence window afresh with no sample to come for seconds,
    and page `host_down` for hosts that are fine. Not waited for with no host known, nor
    past `window_s` (hosts silent that long are down).
    """
    if previous.since is None or seen.read_to is None or not previous.hosts:
        return False
    return seen.read_to < previous.since and now - previous.since < cfg.window_s


def _known(silence: Mapping[str, float], cfg: HealthSettings) -> set[str]:
    return {host for host, past in silence.items() if past < cfg.window_s}


def _mass_silence(
    known: frozenset[str] | set[str], silence: Mapping[str, float], cfg: HealthSettings
) -> str:
    # Hosts no longer here (their partition moved) do not count either way.
    judged = [host for host in known if host in silence]
    silent = [host for host in judged if silence[host] >= 0]
    if len(silent) < cfg.silent_hosts or len(silent) < cfg.silent_share * len(judged):
        return ""
    return f"{len(silent)} of {len(judged)} hosts went silent at once"


class Arrivals:
    """When each host's metrics last arrived in the stream, and their interval: every host,
    whichever replica owns it (each replica reads the whole stream), so a replica owning few
    hosts still tells a stopped stream (a NATS election) from a host that went down.

    A host counts as silent `missed` intervals after its last sample, as `host_down` does
    by default; its interval is the gap between its last two samples, leaving out gaps
    shorter than BURST_S (a resent backlog arrives all at once).
    """

    BURST_S = 0.2
    FORGET_S = 600.0  # a host silent this long is down or gone: forgotten (bounded memory)

    def __init__(self, missed: int = 3) -> None:
        self.missed = missed
        self._last: dict[str, float] = {}
        self._interval: dict[str, float] = {}

    def note(self, host: str, at: float) -> None:
        last = self._last.get(host)
        if last is not None:
            if at <= last:
                return  # an older sample read again (a rewind)
            if at - last >= self.BURST_S:
                self._interval[host] = at - last
        self._last[host] = at

    def silence(self, now: float) -> dict[str, float]:
        """host -> seconds past the point it counts as silent (negative while it is not)."""
        out: dict[str, float] = {}
        for host, last in list(self._last.items()):
            if now - last > self.FORGET_S:
                del self._last[host]
                self._interval.pop(host, None)
                continue
            interval = self._interval.get(host)
            if interval is not None:
                out[host] = now - (last + self.missed * interval)
        return out


# --- the one alert about the pipeline ------------------------------------------------------

PIPELINE_HOST = "vitals-pipeline"  # the pseudo-host the alert is announced on
PIPELINE_RULE = Rule(
    name="telemetry_pipeline_down",
    kind="absence",
    metric="pipeline",
    severity="critical",
    summary="The telemetry pipeline is impaired: host absence is held",
    description="",  # the reason, set on each event
    stale_after=0.0,
    builtin=True,
)


@dataclass(slots=True)
class Episode:
    """One impairment, from its start until the input was healthy again."""

    since: float
    reason: str
    ended: float | None = None


def announce(
    episode: Episode | None,
    firing: bool,
    health: Health,
    now: float,
    for_s: float,
    grace_s: float = 30.0,
) -> tuple[Episode | None, Literal["", "firing", "resolved"]]:
    """Follow the impairment; return the transition to announce now ('', 'firing',
    'resolved'). `firing`: whether this episode's firing was announced. An impairment
    shorter than `for_s` is never announced; one that ended before it could be announced
    (the alerter could publish nothing while NATS was away, or owned no partition) is
    announced as firing and then resolved, if that is possible within `grace_s` of its end."""
    if health.impaired:
        if episode is None:
            episode = Episode(health.since or now, health.reason)
        episode.ended = None  # one that resumes before it was resolved goes on
        episode.reason = health.reason
    elif episode is not None and episode.ended is None:
        episode.ended = now
    if episode is None:
        return None, ""
    lasted = (episode.ended if episode.ended is not None else now) - episode.since
    if not firing and episode.ended is not None and now - episode.ended > grace_s:
        return None, ""  # too late: another replica announced its own, or nobody could
    if not firing:
        if lasted >= for_s:
            return episode, "firing"
        return (None if episode.ended is not None else episode), ""
    if episode.ended is not None:
        return None, "resolved"
    return episode, ""
