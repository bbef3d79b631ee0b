"""Every alert of one partition: samples in, alert events out. Pure: the clock is passed in.

`observe(event, now)` applies a telemetry event to every rule naming one of its series;
`tick(now)` judges what time alone decides (absence, staleness, silences and inhibition,
escalation, reminders); `acknowledge` and the silence methods apply operator actions.
Muting is applied here: an alert that starts firing while muted is announced as
`silenced`, its severity changes stay quiet, its resolve is still announced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from msgspec.structs import replace

from vitals_alerter import engine, escalation, inhibit
from vitals_alerter.alerts import AlertState, build_event
from vitals_alerter.engine import Sample
from vitals_alerter.rules import HOST_SERIES, InhibitRule, Rule
from vitals_alerter.silences import Silence, SilenceSet
from vitals_core.events import AlertEvent, AlertKind, Event, HostInfo, MetricSample
from vitals_core.series import parse_series, points

Key = tuple[str, str, str]  # rule, host, series
AckResult = Literal["ok", "unknown", "not_firing", "already"]
SWEEP_EVERY_S = 60.0


class Evaluator:
    def __init__(self, rules: Iterable[Rule], inhibit_rules: Iterable[InhibitRule] = ()) -> None:
        self.rules = {r.name: r for r in rules}
        self.by_metric: dict[str, list[Rule]] = {}
        for rule in self.rules.values():
            self.by_metric.setdefault(rule.metric, []).append(rule)
        self.inhibit_rules = list(inhibit_rules)
        self.states: dict[Key, AlertState] = {}
        self.keys: dict[str, Key] = {}  # alert id -> key
        self.active: set[Key] = set()  # pending or firing
        self.watched: set[Key] = set()  # absence rules' series
        self.silences = SilenceSet()
        self.host_labels: dict[str, dict[str, str]] = {}
        self.host_interval: dict[str, float] = {}
        self.evaluations = 0
        # Changed what a restart must know. A last value or a last-seen time alone is not
        # (see `load`).
        self._dirty: set[Key] = set()
        self._removed: set[str] = set()
        self._swept = 0.0

    # --- samples --------------------------------------------------------------------------

    def observe(self, event: Event, now: float) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        host = getattr(event, "host", "")
        if isinstance(event, HostInfo):
            self.host_labels[host] = dict(event.labels)
            if event.interval > 0:
                self.host_interval[host] = event.interval
            return out
        if isinstance(event, MetricSample):
            self.host_interval[host] = event.interval
            self.observe_point(host, HOST_SERIES, 1.0, now, out)
        by_metric = self.by_metric
        for series, value in points(event):
            rules = by_metric.get(series.partition("{")[0])
            if rules is not None:
                self._judge(rules, Sample(host, series, value), now, out)
        return out

    def observe_point(
        self, host: str, series: str, value: float, now: float, out: list[AlertEvent]
    ) -> None:
        rules = self.by_metric.get(series.partition("{")[0])
        if rules is not None:
            self._judge(rules, Sample(host, series, value), now, out)

    def _judge(self, rules: list[Rule], sample: Sample, now: float, out: list[AlertEvent]) -> None:
        host, series = sample.host, sample.series
        states = self.states
        for rule in rules:
            if rule.select and not rule.selects(self._series_view(host, series)):
                continue
            self.evaluations += 1
            key = (rule.name, host, series)
            old = states.get(key)
            if rule.kind == "absence":
                new, kinds = engine.seen(rule, old, sample, now, self.host_interval.get(host, 0.0))
            else:
                new, kinds = engine.evaluate(rule, old, sample, now)
            if new is not old or kinds:
                self._apply(rule, key, old, new, kinds, now, out)

    # --- time -----------------------------------------------------------------------------

    def tick(self, now: float, hold: bool = False) -> list[AlertEvent]:
        """`hold`: the alerter's own input is impaired, so silence proves nothing."""
        out: list[AlertEvent] = []
        if not hold:
            self._silent(now, out)
        self._remute(now, out)
        for key in sorted(self.active):
            state = self.states[key]
            rule = self.rules[key[0]]
            notice, notices = escalation.due(rule, state, now)
            if notices:
                self._apply(rule, key, state, notice, notices, now, out)
        if now - self._swept >= SWEEP_EVERY_S:
            self._sweep(now)
        return out

    def _silent(self, now: float, out: list[AlertEvent]) -> None:
        """Series that stopped: absence rules fire, other alerts go stale."""
        for key in sorted(self.watched):
            state = self.states[key]
            rule = self.rules[key[0]]
            new, kinds = engine.absent(rule, state, now)
            if kinds:
                self._apply(rule, key, state, new, kinds, now, out)
        for key in sorted(self.active):
            state = self.states[key]
            rule = self.rules[key[0]]
            new, kinds = engine.stale(rule, state, now)
            if new is not state or kinds:
                self._apply(rule, key, state, new, kinds, now, out)

    def host_silence(self, now: float) -> dict[str, float]:
        """Per host with a host absence rule: seconds past the point it counts as down
        (negative while it is not)."""
        out: dict[str, float] = {}
        for key in self.watched:
            if key[2] != HOST_SERIES:
                continue
            state = self.states[key]
            if state.interval <= 0:
                continue
            rule = self.rules[key[0]]
            past = now - (state.last_seen + rule.missed * state.interval + rule.for_s)
            out[key[1]] = min(past, out.get(key[1], past))
        return out

    def excuse_silence(self, now: float) -> None:
        """The input was impaired until `now`: every series counts as seen now, so absence
        and staleness start afresh (not saved: a restart does the same, see `load`)."""
        for key in self.watched | self.active:
            state = self.states[key]
            if state.last_seen < now:
                self.states[key] = replace(state, last_seen=now)

    def _remute(self, now: float, out: list[AlertEvent]) -> None:
        """Silences start and end, inhibitors fire and resolve: announce what that changes."""
        firing = [k for k in sorted(self.active) if self.states[k].status == "firing"]
        idx = self._inhibit_index()
        for key in firing:
            state = self.states[key]
            view = self._alert_view(state)
            silence = self.silences.matching(view, now)
            inhibitor = inhibit.inhibitor(self.inhibit_rules, idx, state.alert_id, view)
            if (silence, inhibitor) == (state.silence_id, state.inhibited_by):
                continue
            new = replace(state, silence_id=silence, inhibited_by=inhibitor)
            kinds: tuple[AlertKind, ...] = ()
            if new.muted != state.muted:
                new.mutes += 1
                kinds = ("silenced",) if new.muted else ("unsilenced",)
                if not new.muted:
                    new.notified_at = now
            self._apply(self.rules[key[0]], key, state, new, kinds, now, out)

    def _sweep(self, now: float) -> None:
        """Forget windows of series that stopped arriving."""
        self._swept = now
        for key, state in list(self.states.items()):
            rule = self.rules[key[0]]
            idle = rule.stale_after > 0 and now - state.last_seen >= rule.stale_after
            if rule.windowed and state.status == "inactive" and idle:
                self._store(rule, key, None, material=True)

    # --- operator actions -------------------------------------------------------------------

    def acknowledge(
        self, alert_id: str, by: str, comment: str, now: float
    ) -> tuple[AckResult, list[AlertEvent]]:
        key = self.keys.get(alert_id)
        if key is None:
            return "unknown", []
        state = self.states[key]
        if state.status != "firing":
            return "not_firing", []
        if state.acked_by:
            return "already", []
        new, kinds = escalation.acknowledge(state, by, comment, now)
        out: list[AlertEvent] = []
        self._apply(self.rules[key[0]], key, state, new, kinds, now, out)
        return "ok", out

    def put_silence(self, silence: Silence) -> None:
        self.silences.put(silence)

    def remove_silence(self, silence_id: str) -> None:
        self.silences.remove(silence_id)

    # --- state in and out -------------------------------------------------------------------

    def load(self, states: Iterable[AlertState], now: float) -> list[AlertEvent]:
        """Restore saved states; alerts of rules that no longer exist are resolved.

        Last-seen times are not saved as they move, so a restored series counts as seen
        `now`: absence and staleness then judge it from the restart, unless the telemetry
        replayed after the restart brings an earlier sample.
        """
        out: list[AlertEvent] = []
        for state in states:
            state = replace(state, last_seen=max(state.last_seen, now))
            key = (state.rule, state.host, state.series)
            rule = self.rules.get(state.rule)
            if rule is None:
                if state.status == "firing":
                    gone = Rule(name=state.rule, kind="threshold", metric=state.series)
                    resolved = replace(state, status="inactive")
                    out.append(build_event(gone, resolved, "resolved", now))
                self._removed.add(state.alert_id)
                continue
            self._store(rule, key, state, material=False)
        return out

    def forget(self, hosts: Callable[[str], bool]) -> None:
        """Drop, unsaved, everything about the hosts `hosts` picks (their partition moved
        to another replica, which reads their saved states)."""
        for key in [k for k in self.states if hosts(k[1])]:
            state = self.states.pop(key)
            self.keys.pop(state.alert_id, None)
            for group in (self.active, self.watched, self._dirty):
                group.discard(key)
        for table in (self.host_labels, self.host_interval):
            for host in [h for h in table if hosts(h)]:
                del table[host]

    def take_changes(self) -> tuple[list[AlertState], list[str]]:
        """States to save and alert ids to delete since the last call."""
        puts = [self.states[k] for k in sorted(self._dirty) if k in self.states]
        deletes = sorted(self._removed)
        self._dirty.clear()
        self._removed.clear()
        return puts, deletes

    def state(self, alert_id: str) -> AlertState | None:
        key = self.keys.get(alert_id)
        return None if key is None else self.states.get(key)

    # --- internals ----------------------------------------------------------------------------

    def _apply(
        self,
        rule: Rule,
        key: Key,
        old: AlertState | None,
        new: AlertState | None,
        kinds: Iterable[AlertKind],
        now: float,
        out: list[AlertEvent],
    ) -> None:
        resolved = False
        for kind in kinds:
            assert new is not None
            if kind == "firing":
                self._mute_on_firing(new, now)
                if new.muted:
                    new.mutes += 1
                    out.append(build_event(rule, new, "silenced", now))
                    continue
            elif kind == "severity_changed" and new.muted:
                continue  # muted: the change shows when it is unmuted
            resolved = resolved or kind == "resolved"
            out.append(build_event(rule, new, kind, now))
        if resolved and new is not None:
            new = engine.settle(rule, new)
        material = (
            bool(kinds)
            or old is None
            or new is None
            or old.status != new.status
            or old.crit_since != new.crit_since
            or old.clear_since != new.clear_since
            or old.times is not new.times
            or old.silence_id != new.silence_id
            or old.inhibited_by != new.inhibited_by
        )
        self._store(rule, key, new, material)

    def _store(self, rule: Rule, key: Key, state: AlertState | None, material: bool) -> None:
        if state is None:
            old = self.states.pop(key, None)
            if old is not None:
                self.keys.pop(old.alert_id, None)
                self._removed.add(old.alert_id)
            for group in (self.active, self.watched, self._dirty):
                group.discard(key)
            return
        self.states[key] = state
        self.keys[state.alert_id] = key
        self._removed.discard(state.alert_id)
        if state.status == "inactive":
            self.active.discard(key)
        else:
            self.active.add(key)
        if rule.kind == "absence":
            self.watched.add(key)
        if material:
            self._dirty.add(key)

    def _mute_on_firing(self, state: AlertState, now: float) -> None:
        view = self._alert_view(state)
        state.silence_id = self.silences.matching(view, now)
        state.inhibited_by = inhibit.inhibitor(
            self.inhibit_rules, self._inhibit_index(), state.alert_id, view
        )

    def _inhibit_index(self) -> inhibit.Index:
        firing = (self.states[k] for k in sorted(self.active))
        return inhibit.index(
            self.inhibit_rules,
            ((s.alert_id, self._alert_view(s)) for s in firing if s.status == "firing"),
        )

    def _alert_view(self, state: AlertState) -> dict[str, str]:
        return {**self.host_labels.get(state.host, {}), **state.alert_labels()}

    def _series_view(self, host: str, series: str) -> dict[str, str]:
        return {**self.host_labels.get(host, {}), **parse_series(series)[1], "host": host}
