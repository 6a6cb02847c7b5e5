"""Dependencies: bounded in pyproject.toml, installed from lock files with hashes (issue 7,
defect 10). A change of pyproject.toml without `make lock` fails here, not in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
EXTRAS = {
    name: [Requirement(line) for line in lines]
    for name, lines in PROJECT["optional-dependencies"].items()
}
UNBOUNDED = {"tzdata"}  # time-zone data, calendar-versioned: the newest is always right
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\]+)", re.MULTILINE)


def locked(name: str) -> dict[str, Version]:
    text = (ROOT / "requirements" / f"{name}.txt").read_text()
    return {canon(n): Version(v) for n, v in PIN.findall(text)}


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize(
    "requirement", RUNTIME + [r for rs in EXTRAS.values() for r in rs], ids=str
)
def test_every_dependency_has_an_upper_bound(requirement):
    if requirement.name in UNBOUNDED:
        return
    assert any(spec.operator in ("<", "<=", "~=", "==") for spec in requirement.specifier), (
        requirement
    )


@pytest.mark.parametrize(
    ("lock", "wanted"),
    [("main", RUNTIME), ("prod", RUNTIME + EXTRAS["prod"]), ("dev", RUNTIME + EXTRAS["dev"])],
)
def test_each_lock_file_pins_what_pyproject_asks_within_its_bounds(lock, wanted):
    pins = locked(lock)
    for requirement in wanted:
        name = canon(requirement.name)
        assert name in pins, f"{requirement} missing from requirements/{lock}.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pins[name]}, outside {requirement}: "
            "run `make lock`"
        )


@pytest.mark.parametrize("lock", ["main", "prod", "dev"])
def test_every_pin_carries_its_hashes(lock):
    text = (ROOT / "requirements" / f"{lock}.txt").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 6)[-1])
    pinned = [b for b in blocks if PIN.match(b)]
    assert pinned
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    assert "file://" not in text  # nothing of this machine's own package folders
    assert "--find-links" not in text


def test_the_service_lock_holds_no_test_tool():
    assert not {"pytest", "hypothesis", "playwright", "mypy", "ruff"} & set(locked("main"))
