"""The README and docs/ stay true to the code: checked without dbt, in about a second.

The README stays a front page (size), links land on files and headings, YAML blocks load and
their syncs validate against the JSON Schema (a block starting `# invalid` must fail), the JSON
events and answers shown validate against theirs, shell lines use real `dbt-lambda-sync`
commands and options and real make targets, and paths named in the docs exist. Some pages are
checked against their source: docs/configuration.md (every schema property, its type and
default), docs/cli.md (every command and option), docs/tables.md (the dbt sources' columns),
docs/architecture.md (every module), docs/adding-a-warehouse.md (every macro an adapter
implements), CONTRIBUTING.md (every make target).
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from jsonschema import Draft202012Validator

from dbt_lambda_sync.cli import main as cli_main
from dbt_lambda_sync.definition_schema import sync_definition_schema
from dbt_lambda_sync.definitions import META_KEY
from tests.unit.test_macro_layout import PUBLIC_FILES, UNSUPPORTED, macros_in

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MAX_BYTES = 12 * 1024
DOCS = sorted(
    [README, *(ROOT / name for name in ("CONTRIBUTING.md", "CHANGELOG.md"))]
    + [ROOT / "bench" / "README.md", ROOT / "examples" / "DEPLOYING.md"]
    + list((ROOT / "docs").glob("*.md"))
)
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
INVALID_MARK = "# invalid"  # first line of a YAML block that must fail validation

FENCE = re.compile(r"^([ \t]*)```(\S*)[^\n]*\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    language: str
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> Iterator[Block]:
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        body = "\n".join(line[len(match.group(1)) :] for line in match.group(3).splitlines())
        line = text.count("\n", 0, match.start()) + 1
        yield Block(path, line, match.group(2).lower(), body)


def _all_blocks(*languages: str) -> list[Block]:
    return [block for path in DOCS for block in _blocks(path) if block.language in languages]


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where links are not links."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    kept = "".join(
        char for char in heading if char in " -_" or unicodedata.category(char)[0] in "LN"
    )
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for match in HEADING.finditer(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = _slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_the_readme_is_a_front_page() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail to docs/"


def test_the_readme_shows_the_make_targets_ci_runs() -> None:
    readme = {tuple(t) for b in _blocks(README) for t in _command_lines(b)}
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    targets = re.findall(r"^make (\w+)\b", ci, re.MULTILINE)
    assert "test" in targets
    assert not [t for t in targets if ("make", t) not in readme], (targets, readme)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not broken, broken


REPOSITORY_PATH = re.compile(r"[\w.-]+(?:/[\w.*-]+)+/?")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_in_inline_code_exist(path: Path) -> None:
    """`macros/state/x.sql`, `engine/retry.py`: a path the docs name is still there."""
    bases = (ROOT, ROOT / "dbt_lambda_sync")
    missing = []
    for code in re.findall(r"`([^`\n]+)`", FENCE.sub("", path.read_text(encoding="utf-8"))):
        if not REPOSITORY_PATH.fullmatch(code):
            continue
        base = next((b for b in bases if (b / code.split("/")[0]).is_dir()), None)
        if base is not None and not list(base.glob(code.rstrip("/"))):
            missing.append(code)  # paths outside the repository (target/, logs/) are skipped
    assert not missing, f"{path.relative_to(ROOT)} names paths that do not exist: {missing}"


def _declared_syncs(document: Any) -> Iterator[Any]:
    """Every sync definition under a `lambda_sync` key, at any depth of a YAML document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == META_KEY:
                yield from value if isinstance(value, list) else [value] if value else []
            else:
                yield from _declared_syncs(value)
    elif isinstance(document, list):
        for item in document:
            yield from _declared_syncs(item)


def _yaml_blocks() -> list[Block]:
    return _all_blocks("yaml", "yml")


@pytest.mark.parametrize("block", _yaml_blocks(), ids=str)
def test_yaml_blocks_load_and_their_syncs_validate(block: Block) -> None:
    document = yaml.safe_load(block.text)
    syncs = list(_declared_syncs(document))
    validator = Draft202012Validator(sync_definition_schema())
    problems = [
        f"{sync.get('name') if isinstance(sync, dict) else sync}: {error.message}"
        for sync in syncs
        for error in validator.iter_errors(sync)
    ]
    if block.text.lstrip().startswith(INVALID_MARK):
        assert syncs and problems, f"{block} is marked invalid but validates"
    else:
        assert not problems, f"{block}: {problems}"


def test_the_docs_declare_syncs() -> None:
    """Guards the check above against a walk that finds nothing."""
    found = sum(len(list(_declared_syncs(yaml.safe_load(b.text)))) for b in _yaml_blocks())
    assert found >= 3


def _json_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        files("dbt_lambda_sync").joinpath(f"schemas/{name}.schema.json").read_text("utf-8")
    )
    return schema


@pytest.mark.parametrize("block", _all_blocks("json"), ids=str)
def test_json_blocks_parse_and_events_and_answers_validate(block: Block) -> None:
    if "..." in block.text:
        return  # an elided document (`[ ...as for run... ]`), shown for its shape
    document = json.loads(block.text)
    if isinstance(document, dict) and "operation" in document:
        schema = "event"
    elif isinstance(document, dict) and set(document) == {"errors"}:
        schema = "response"
    else:
        return
    problems = [e.message for e in Draft202012Validator(_json_schema(schema)).iter_errors(document)]
    assert not problems, f"{block} ({schema}): {problems}"


def _command_lines(block: Block) -> Iterator[list[str]]:
    """The shell commands of a block, as token lists: prompts stripped, continuations joined."""
    text = re.sub(r"\\\n", " ", block.text)
    for line in text.splitlines():
        line = line.strip()
        if block.language == "console":
            if not line.startswith("$ "):
                continue  # output, not a command
            line = line[2:]
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            continue  # a heredoc body or other text that is not a command line
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|()<>"):
                if command:
                    yield command
                command = []
            else:
                command.append(token)


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.MULTILINE))


def _cli_problem(args: list[str]) -> str | None:
    """Why `dbt-lambda-sync ARGS` would not parse, or None."""
    if not args or args[0] in ("--version", "-h", "--help"):
        return None
    command = cli_main.commands.get(args[0])
    if command is None:
        return f"no command {args[0]!r} (commands: {', '.join(cli_main.commands)})"
    try:
        command.make_context(args[0], args[1:])
    except click.exceptions.Exit:
        return None  # --help
    except click.ClickException as exc:
        return exc.format_message()
    return None


def _shell_blocks() -> list[Block]:
    return _all_blocks(*SHELL_LANGUAGES)


@pytest.mark.parametrize("block", _shell_blocks(), ids=str)
def test_shell_blocks_use_real_commands_and_options(block: Block) -> None:
    targets = _makefile_targets()
    problems = []
    for tokens in _command_lines(block):
        while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):
            tokens = tokens[1:]  # VAR=value prefixes
        if not tokens:
            continue
        program = Path(tokens[0]).name
        if program == "dbt-lambda-sync":
            problem = _cli_problem(tokens[1:])
            if problem:
                problems.append(f"{' '.join(tokens)}: {problem}")
        elif program == "make":
            unknown = [t for t in tokens[1:] if "=" not in t and t not in targets]
            if unknown:
                problems.append(f"{' '.join(tokens)}: no Makefile target {unknown}")
    assert not problems, f"{block}: {problems}"


def test_shell_blocks_are_checked() -> None:
    """Guards the check above against a parser that finds no commands."""
    commands = [t[0] for b in _shell_blocks() for t in _command_lines(b) if t]
    assert "dbt-lambda-sync" in commands and "make" in commands


def _schema_properties(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, spec in schema.get("properties", {}).items():
        yield prefix + name, spec
        yield from _schema_properties(spec, f"{prefix}{name}.")


def _rendered(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_rendered(v)}" for k, v in value.items()) + "}"
    return str(value)


def _configuration_rows() -> dict[str, list[str]]:
    """The rows of docs/configuration.md's `| key | type | default | meaning |` tables."""
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if not line.startswith("|"):
            in_table = False
        elif cells[:3] == ["key", "type", "default"]:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            rows[cells[0].strip("`")] = cells
    return rows


TYPE_WORDS = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "array": "list",
    "object": "mapping",
}


def _type_problem(spec: dict[str, Any], cell: str) -> str | None:
    """What the type cell misses of the schema: the enum's values, the type, the bounds."""
    if "enum" in spec:
        missing = [value for value in spec["enum"] if f"`{value}`" not in cell]
        return f"lacks {missing}" if missing else None
    if TYPE_WORDS[spec["type"]] not in cell:
        return f"should say {TYPE_WORDS[spec['type']]}"
    bounds = (spec.get("minimum"), spec.get("maximum"))
    wanted = {
        (True, True): f"{bounds[0]} to {bounds[1]}",
        (True, False): f"at least {bounds[0]}",
    }.get((bounds[0] is not None, bounds[1] is not None))
    return f"should say {wanted}" if wanted and wanted not in cell else None


def test_configuration_documents_every_property_with_its_default() -> None:
    rows = _configuration_rows()
    properties = dict(_schema_properties(sync_definition_schema()))
    missing = sorted(set(properties) - set(rows))
    unknown = sorted(set(rows) - set(properties))
    assert not missing, f"docs/configuration.md lacks {missing}"
    assert not unknown, f"docs/configuration.md documents keys the schema lacks: {unknown}"
    wrong = [
        f"{key}: default should be `{_rendered(spec['default'])}`, row says {rows[key][2]}"
        for key, spec in properties.items()
        if "default" in spec and f"`{_rendered(spec['default'])}`" not in rows[key][2]
    ]
    assert not wrong, wrong
    wrong_types = [
        f"{key}: type {problem}"
        for key, spec in properties.items()
        if (problem := _type_problem(spec, rows[key][1]))
    ]
    assert not wrong_types, wrong_types


def test_tables_page_lists_the_columns_of_the_sources() -> None:
    """docs/tables.md and models/lambda_sync_sources.yml (checked against the DDL) agree."""
    sources = yaml.safe_load((ROOT / "models" / "lambda_sync_sources.yml").read_text("utf-8"))
    page = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    for table in sources["sources"][0]["tables"]:
        section = re.search(rf"^## `{table['name']}`.*?\n(.*?)(?=^## )", page, re.S | re.M)
        assert section, f"docs/tables.md has no section for {table['name']}"
        documented = {
            name
            for line in section.group(1).splitlines()
            if line.startswith("| `")
            for name in re.findall(r"`(\w+)`", line.split("|")[1])
        }
        declared = {column["name"] for column in table["columns"]}
        assert documented == declared, (table["name"], declared ^ documented)


def test_architecture_lists_every_module_of_the_package() -> None:
    """Each module of dbt_lambda_sync (and engine/) has its row in docs/architecture.md."""
    package = ROOT / "dbt_lambda_sync"
    modules = {
        str(path.relative_to(package))
        for path in [*package.glob("*.py"), *package.glob("engine/*.py")]
        if path.name != "__init__.py"
    }
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {
        name
        for line in page.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    }
    assert not modules - rows, f"add a row to docs/architecture.md for {sorted(modules - rows)}"
    gone = {row for row in rows if row.endswith(".py") and not (package / row).exists()}
    assert not gone, f"docs/architecture.md lists modules that are gone: {sorted(gone)}"


def test_adding_a_warehouse_lists_every_macro_an_adapter_implements() -> None:
    """Its table names each public macro whose default__ only raises the unsupported error."""
    per_adapter = {
        path.stem
        for path in PUBLIC_FILES
        for m in macros_in(path)
        if m["name"] == f"default__{path.stem}" and " ".join(m["body"].split()) == UNSUPPORTED
    }
    page = (ROOT / "docs" / "adding-a-warehouse.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(\w+)\(", page, re.MULTILINE))
    assert per_adapter, "no macro found with a raising default__"
    assert listed == per_adapter, f"docs/adding-a-warehouse.md: {sorted(listed ^ per_adapter)}"


def test_contributing_describes_every_make_target() -> None:
    page = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^\| `make ([\w-]+)` \|", page, re.MULTILINE))
    targets = {t for t in _makefile_targets() if not t.startswith(".")}  # not .PHONY
    assert targets <= described, f"CONTRIBUTING.md lacks make {sorted(targets - described)}"


def test_cli_page_has_a_section_per_command_and_names_every_option() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## `([\w-]+)", page, re.MULTILINE))
    missing = [name for name in cli_main.commands if name not in sections]
    assert not missing, f"docs/cli.md has no section for {missing}"
    options = {
        f"{name} {option}"
        for name, command in cli_main.commands.items()
        for param in command.params
        for option in param.opts
        if option.startswith("--") and f"`{option}" not in page
    }
    assert not options, f"docs/cli.md never names {sorted(options)}"
