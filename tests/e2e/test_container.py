"""The Dockerfile, checked as far as a machine without a Docker engine allows.

The image itself is built and run where Docker is (docs/deploy.md, "Container"); here: every
file it copies exists, the runtime is unprivileged with a HEALTHCHECK, and its `uv sync`
commands, flag for flag, resolve against the lock file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_wheel import REPO, uv

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) in order, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            found.append([])
        if found:
            found[-1].append((word, rest))
    return found


def test_every_copied_path_exists() -> None:
    for word, rest in instructions():
        if word != "COPY" or "--from=" in rest:
            continue
        *sources, _ = shlex.split(rest)
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"


def test_the_runtime_is_unprivileged_with_a_healthcheck_and_the_dashboard() -> None:
    final = stages()[-1]
    words = [w for w, _ in final]
    assert words.count("USER") == 1
    user = dict(final)["USER"]
    assert user.split(":")[0] not in ("0", "root"), user
    assert "vitals" in dict(final)["HEALTHCHECK"]
    copies = [rest for w, rest in final if w == "COPY"]
    assert any("--from=web" in c and "/opt/vitals/web" in c for c in copies), copies
    assert any("--from=build /opt/vitals/venv" in c for c in copies), copies
    assert len(stages()) >= 3  # dashboard, build, runtime


def uv_syncs() -> list[tuple[list[tuple[str, str]], str]]:
    """Each `uv sync` of the build, with the COPY instructions that came before it there."""
    found = []
    for stage in stages():
        copies: list[tuple[str, str]] = []
        for word, rest in stage:
            if word == "COPY" and "--from=" not in rest:
                *sources, target = shlex.split(rest)
                copies += [(source, target) for source in sources]
            if word == "RUN" and "uv sync" in rest:
                found.append((list(copies), rest[rest.index("uv sync") :]))
    return found


@pytest.mark.parametrize(("copies", "command"), uv_syncs())
def test_its_uv_sync_commands_resolve_with_what_it_copied(
    copies: list[tuple[str, str]], command: str, tmp_path: Path
) -> None:
    """Each `uv sync`, flag for flag, in a folder holding only what the image has by then."""
    context = tmp_path / "src"
    for source, target in copies:
        dest = context / target.rstrip("/") if target not in ("./", ".") else context
        if target.endswith("/") and (REPO / source).is_file():
            dest = dest / Path(source).name
        if (REPO / source).is_dir():
            shutil.copytree(
                REPO / source,
                dest,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__"),
            )
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / source, dest)
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(tmp_path / "venv"))
    done = subprocess.run(
        [uv(), *shlex.split(command)[1:], "--dry-run"],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
