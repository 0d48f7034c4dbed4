"""The dbt package's macros keep the dbt-utils layout (read as text, no dbt start-up).

macros/<area>/<name>.sql holds one public macro, <name>, a one-line adapter.dispatch shim; then
default__<name>; then adapter overrides, each under a comment saying why. Helpers are private
(a leading underscore), in the file of the macro that uses them or in a file of their own
(_<helper>.sql) when shared. The Python package calls only public macros that exist.

Adapters: a public macro's default__ is either the SQL every supported adapter runs (none of them
overrides it), or, once one of them needs its own, each has its own and default__ only raises
the package's unsupported-adapter error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dbt_lambda_sync.warehouse import SUPPORTED_ADAPTERS

ROOT = Path(__file__).resolve().parents[2]
MACROS = ROOT / "macros"
PACKAGE = "dbt_lambda_sync"

MACRO = re.compile(
    r"(?P<comment>-?#\}\s*)?\{%-?\s*macro\s+(?P<name>\w+)\s*\((?P<args>.*?)\)\s*-?%\}"
    r"(?P<body>.*?)\{%-?\s*endmacro\s*-?%\}",
    re.DOTALL,
)
ADAPTER_PREFIX = re.compile(r"^(?P<adapter>[a-z][a-z0-9]*)__(?P<macro>\w+)$")
SHIM = re.compile(
    r"^\{\{\s*return\(adapter\.dispatch\('(?P<name>\w+)',\s*'" + PACKAGE + r"'\)\("
    r"(?P<args>[^()]*)\)\)\s*\}\}$"
)
# Python call sites: warehouse.call_macro("name", ...) (the name may sit on the next line).
CALL = re.compile(r"call_macro\(\s*\"(\w+)\"")

# default__'s whole body where the supported adapters each have their own implementation.
UNSUPPORTED = "{%- do dbt_lambda_sync._unsupported_adapter() -%}"
# A macro branching on the adapter's name instead of dispatching.
ADAPTER_TEST = re.compile(r"(adapter\.type\(\)|target\.type)\s*(==|!=|not in|in)\b")

FILES = sorted(MACROS.rglob("*.sql"))
PUBLIC_FILES = [p for p in FILES if not p.stem.startswith("_")]


def macros_in(path: Path) -> list[re.Match[str]]:
    """Every macro definition in one file, in order."""
    return list(MACRO.finditer(path.read_text()))


def macro_ids(path: Path) -> str:
    """A test id: the file's path under macros/."""
    return str(path.relative_to(MACROS))


def public_names(path: Path) -> list[str]:
    """The file's macros that are neither private nor adapter implementations."""
    return [
        m["name"]
        for m in macros_in(path)
        if not m["name"].startswith("_") and not ADAPTER_PREFIX.match(m["name"])
    ]


def test_files_found() -> None:
    assert len(FILES) > 20, FILES


@pytest.mark.parametrize("path", FILES, ids=macro_ids)
def test_one_public_macro_named_after_the_file(path: Path) -> None:
    names = [m["name"] for m in macros_in(path)]
    assert names, f"{path}: no macro"
    if path.stem.startswith("_"):
        # a shared helper file: private macros only, one of them its namesake
        assert public_names(path) == [], path
        assert path.stem in names, path
        return
    assert public_names(path) == [path.stem], (
        f"{path}: a file holds one public macro named after it (helpers start with '_')"
    )


@pytest.mark.parametrize("path", PUBLIC_FILES, ids=macro_ids)
def test_public_macro_dispatches_in_one_line(path: Path) -> None:
    public = next(m for m in macros_in(path) if m["name"] == path.stem)
    shim = SHIM.match(" ".join(public["body"].split()))
    assert shim, f"{path}: the public macro is one adapter.dispatch line, got {public['body']!r}"
    assert shim["name"] == path.stem, path
    names = [m["name"] for m in macros_in(path)]
    assert f"default__{path.stem}" in names, f"{path}: no default__{path.stem}"


@pytest.mark.parametrize("path", FILES, ids=macro_ids)
def test_overrides_belong_to_the_file_and_say_why(path: Path) -> None:
    for m in macros_in(path):
        prefixed = ADAPTER_PREFIX.match(m["name"])
        if not prefixed or m["name"].startswith("_"):
            continue
        assert prefixed["macro"] == path.stem, f"{path}: {m['name']} is not {path.stem}'s"
        if prefixed["adapter"] != "default":
            assert m["comment"], f"{path}: {m['name']} needs a comment saying why it differs"


def test_macro_names_are_unique() -> None:
    seen: dict[str, Path] = {}
    for path in FILES:
        for m in macros_in(path):
            assert m["name"] not in seen, f"{m['name']} in {seen.get(m['name'])} and {path}"
            seen[m["name"]] = path


def test_python_calls_public_macros_that_exist() -> None:
    public = {name for path in FILES for name in public_names(path)}
    called = {
        name
        for folder in ("dbt_lambda_sync", "bench")
        for source in (ROOT / folder).rglob("*.py")
        for name in CALL.findall(source.read_text())
    }
    assert called, "no call_macro call sites found"
    assert called <= public, sorted(called - public)


def test_hooks_name_public_macros() -> None:
    public = {name for path in FILES for name in public_names(path)}
    hooks = re.findall(PACKAGE + r"\.(\w+)\(", (ROOT / "dbt_project.yml").read_text())
    assert hooks and set(hooks) <= public, hooks
    # the post-hook users wire in their own dbt_project.yml
    assert "capture_changes" in public


@pytest.mark.parametrize("path", PUBLIC_FILES, ids=macro_ids)
def test_supported_adapters_share_default_or_each_override(path: Path) -> None:
    defined = {m["name"]: m for m in macros_in(path)}
    overridden = {a for a in SUPPORTED_ADAPTERS if f"{a}__{path.stem}" in defined}
    default_raises = " ".join(defined[f"default__{path.stem}"]["body"].split()) == UNSUPPORTED
    if overridden:
        missing = sorted(set(SUPPORTED_ADAPTERS) - overridden)
        assert not missing, f"{path}: overridden for {sorted(overridden)}, not for {missing}"
        assert default_raises, f"{path}: default__ must be only {UNSUPPORTED}"
    else:
        assert not default_raises, (
            f"{path}: default__ is every supported adapter's: it cannot raise"
        )


@pytest.mark.parametrize("path", FILES, ids=macro_ids)
def test_adapters_differ_through_dispatch_only(path: Path) -> None:
    if path.parent.name == "adapter":
        return  # the check of the adapter itself
    assert not ADAPTER_TEST.search(path.read_text()), (
        f"{path}: dispatch instead of testing the type"
    )


def test_hooks_check_the_adapter_first() -> None:
    project = (ROOT / "dbt_project.yml").read_text()
    hook = re.search(r"on-run-start:\s*\n\s*- \"(?P<hook>.*)\"", project)
    assert hook, project
    calls = re.findall(PACKAGE + r"\.(\w+)\(", hook["hook"])
    assert calls == ["check_adapter_supported", "prepare_sync_tables"], hook["hook"]
    capture = next(
        m
        for m in macros_in(MACROS / "capture" / "capture_changes.sql")
        if m["name"] == "default__capture_changes"
    )
    first = capture["body"].strip().splitlines()[0]
    assert "dbt_lambda_sync.check_adapter_supported()" in first, first
