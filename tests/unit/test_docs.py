"""README.md and docs/*.md: the README stays a start page, every link resolves, long pages have a
table of contents, and every documented command is one its program accepts (parsed by the program's
own parser; the local ones also run, in tests/e2e/test_local_cli.py and test_operator_commands.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from local.__main__ import parser as local_parser
from tests.documented import PAGES, ROOT, blocks, commands, python_module
from warden_ops.cli import _parser as warden_ops_parser
from warden_ops.spoke import parser as spoke_parser

LONG_PAGE = 80  # lines; a page longer than this starts with a table of contents
DOCUMENTED = commands()


def _headings(text: str) -> list[tuple[int, str]]:
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{1,4}) (.+)", line)):
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _links(text: str) -> list[str]:
    without_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    without_code = re.sub(r"`[^`]*`", "", without_code)
    return re.findall(r"\]\(([^)\s]+)\)", without_code)


def test_the_readme_is_a_start_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    sections = [h for level, h in _headings(text) if level == 2]
    assert sections[:4] == ["Quick start (no AWS account, no Docker)", "Deploy", "Parameters", "Documentation"]
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in text, f"README links every docs page: {page.name} is missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    text = page.read_text()
    for link in _links(text):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: link to {link!r}: no such file"
        if fragment and target.suffix == ".md":
            anchors = {anchor(h) for _, h in _headings(target.read_text())}
            assert fragment in anchors, f"{page.name}: link to {link!r}: no such heading in {target.name}"


@pytest.mark.parametrize("page", [p for p in PAGES if p.parent.name == "docs"], ids=lambda p: p.name)
def test_long_pages_start_with_a_table_of_contents(page):
    text = page.read_text()
    if len(text.splitlines()) <= LONG_PAGE:
        return
    sections = [h for level, h in _headings(text) if level == 2]
    contents = text[text.index("Contents:") : text.index(f"## {sections[0]}")] if "Contents:" in text else ""
    missing = [h for h in sections if f"](#{anchor(h)})" not in contents]
    assert contents and not missing, f"{page.name}: the table of contents lacks {missing or 'everything'}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_json_and_python_examples_are_valid(page):
    text = page.read_text()
    for block in blocks(text, "json"):
        json.loads(block)
    for block in blocks(text, "python"):
        compile(block, page.name, "exec")


def test_rollback_is_described_once():
    described = [(p.name, h) for p in PAGES for _, h in _headings(p.read_text()) if "roll" in h.lower()]
    assert described == [("operator-guide.md", "Rollback")]


# ---- every documented command, parsed by its program --------------------------------------------

MAKEFILE = (ROOT / "Makefile").read_text()


def check_make(argv: list[str]) -> None:
    targets = set(re.findall(r"^([\w.-]+):", MAKEFILE, flags=re.MULTILINE))
    goals = [a for a in argv[1:] if "=" not in a]
    variables = [a.split("=", 1)[0] for a in argv[1:] if "=" in a]
    assert goals and set(goals) <= targets, f"no such make target: {goals}"
    for name in variables:
        assert f"$({name})" in MAKEFILE, f"the Makefile does not use {name}"


def check_python(argv: list[str], module: str, args: list[str]) -> None:
    parsers = {"warden_ops": warden_ops_parser, "local": local_parser, "warden_ops.spoke": spoke_parser}
    assert module in parsers, f"a documented module nobody checks: {module}"
    parsers[module]().parse_args(args)  # exits (SystemExit) on anything it does not accept


AWS_GLOBAL = {"--query", "--output", "--region", "--profile", "--no-cli-pager"}
CLI_SERVICE = {"s3api": "s3"}


def check_aws(argv: list[str]) -> None:
    service, operation, *args = argv[1:]
    model = botocore.session.get_session().get_service_model(CLI_SERVICE.get(service, service))
    names = {xform_name(op).replace("_", "-"): op for op in model.operation_names}
    assert operation in names, f"aws {service} has no {operation}"
    shape = model.operation_model(names[operation]).input_shape  # None for an operation without input
    members = shape.members if shape else {}
    accepted = {"--" + xform_name(m).replace("_", "-") for m in members} | AWS_GLOBAL
    options = {a for a in args if a.startswith("--")}
    assert options <= accepted, f"aws {service} {operation} does not take {options - accepted}"


def check_sam(argv: list[str]) -> None:
    from samcli.commands.build.command import cli as build
    from samcli.commands.deploy.command import cli as deploy

    command = {"build": build, "deploy": deploy}[argv[1]]
    accepted = {opt for param in command.params for opt in param.opts}
    options = {a.split("=", 1)[0] for a in argv[2:] if a.startswith("-")}
    assert options <= accepted, f"sam {argv[1]} does not take {options - accepted}"


@pytest.mark.parametrize("command", DOCUMENTED, ids=str)
def test_every_documented_command_is_accepted(command):
    program = Path(command.argv[0]).name
    if program == "make":
        check_make(command.argv)
    elif module := python_module(command):
        check_python(command.argv, *module)
    elif program == "python" and command.argv[1].endswith(".py"):
        # the page's Python example, saved as a script: it runs in tests/e2e/test_local_cli.py
        assert command.env == {"PYTHONPATH": "."} and blocks((ROOT / command.page).read_text(), "python")
    elif program == "aws":
        check_aws(command.argv)
    elif program == "sam":
        check_sam(command.argv)
    else:
        assert program in {"jq"}, f"{command.page}: a documented command no test checks: {command.line}"
