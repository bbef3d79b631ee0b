"""Unknown `VITALS_*` environment variables, named at start instead of ignored silently.

A typo (`VITALS_AGENT_INTERVALL=3`) would otherwise leave the default in force with no
sign. Every service and `vitals up` log one line per unknown variable, naming the nearest
known one. The known names are the settings' (`VITALS_<SECTION>_<KEY>`), their aliases,
and the few variables read outside the settings (below).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import msgspec

from vitals_core.settings import Settings

PREFIX = "VITALS_"
# Read outside the settings: the config path, the dashboard build, the embedded servers'
# deploy files, the demo application, the dashboard's dev tools, and test/bench knobs.
NOT_SETTINGS = frozenset(
    {"VITALS_CONFIG", "VITALS_DASHBOARD_DIST", "VITALS_DEPLOY_DIR", "VITALS_DEMO",
     "VITALS_DEMO_WINDOW", "VITALS_DEMO_SPEED", "VITALS_URL", "VITALS_PYTHON",
     "VITALS_CHROMIUM"}
)  # fmt: skip
NOT_SETTINGS_PREFIXES = ("VITALS_TEST_", "VITALS_BENCH_")


def known_variables() -> frozenset[str]:
    from vitals_core.config import ALIASES  # config imports nothing from here

    names = set(NOT_SETTINGS) | {a for a in ALIASES if a.startswith(PREFIX)}
    for field in msgspec.structs.fields(Settings):
        section = field.default_factory
        if isinstance(section, type) and issubclass(section, msgspec.Struct):
            names |= {
                f"VITALS_{field.name}_{s.name}".upper() for s in msgspec.structs.fields(section)
            }
        else:
            names.add(f"VITALS_{field.name}".upper())
    return frozenset(names)


def unknown_variables(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, nearest known name or '') for every unknown `VITALS_*` variable, sorted."""
    known = known_variables()
    out: list[tuple[str, str]] = []
    for name in sorted(env):
        if not name.startswith(PREFIX) or name in known or name.startswith(NOT_SETTINGS_PREFIXES):
            continue
        import difflib  # only when there is something to report: services start lean

        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        out.append((name, close[0] if close else ""))
    return out


def warn_unknown(env: Mapping[str, str], log: logging.Logger) -> int:
    """Log one warning per unknown variable; the number of them."""
    unknown = unknown_variables(env)
    for name, nearest in unknown:
        hint = f" (did you mean {nearest}?)" if nearest else ""
        log.warning("environment variable %s is not a setting and is ignored%s", name, hint)
    return len(unknown)
