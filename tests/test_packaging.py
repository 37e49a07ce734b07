"""The package's metadata and its layers."""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "sleeplog"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    tomllib = None


def requirement_lines():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip() and line[0] != "#")


@pytest.mark.skipif(tomllib is None, reason="tomllib arrived in Python 3.11")
def test_requirements_agree_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert requirement_lines() == sorted(project["dependencies"])


def imports_of(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


RULES = {
    # layer: packages it must not import
    "services": (
        "bottle",
        "waitress",
        "pymysql",
        "redis",
        "sleeplog.web",
        "sleeplog.storage",
    ),
    "storage": ("bottle", "waitress", "sleeplog.web", "sleeplog.services"),
    "web": ("pymysql", "redis"),
    # Shared vocabulary: no I/O of its own, no layer above or below.
    "auth": (
        "bottle",
        "waitress",
        "pymysql",
        "redis",
        "sleeplog.web",
        "sleeplog.storage",
        "sleeplog.services",
    ),
}
SHARED = ("models.py", "errors.py", "timestamps.py", "config.py")


@pytest.mark.parametrize("layer", sorted(RULES))
def test_layers_import_only_what_they_may(layer):
    broken = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in imports_of(path):
            if any(name == bad or name.startswith(bad + ".") for bad in RULES[layer]):
                broken.append(f"{path.relative_to(ROOT)} imports {name}")

    assert broken == []


@pytest.mark.parametrize("name", SHARED)
def test_shared_vocabulary_imports_no_layer(name):
    forbidden = re.compile(
        r"^(bottle|waitress|pymysql|redis|sleeplog\.(web|storage|services))"
    )

    assert [n for n in imports_of(PACKAGE / name) if forbidden.match(n)] == []
