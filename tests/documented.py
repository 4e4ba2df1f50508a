"""The commands the documentation shows: every line of a ```bash block in README.md and docs/*.md,
split into the simple commands a shell would run. Tests parse each one with the program's own
parser and run the local ones (tests/unit/test_docs.py, tests/e2e/test_local_cli.py,
tests/e2e/test_operator_commands.py)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SEPARATORS = {"|", "||", "&&", ";"}
REDIRECTS = {">", ">>", "<"}


@dataclass(frozen=True)
class Command:
    page: str  # e.g. docs/operator-guide.md
    line: str  # as written (continuations joined)
    env: dict[str, str]  # leading NAME=value assignments
    argv: list[str]

    def __str__(self) -> str:
        return f"{self.page}: {' '.join(self.argv)}"


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def commands(pages: list[Path] = PAGES) -> list[Command]:
    found = []
    for page in pages:
        name = str(page.relative_to(ROOT))
        for block in blocks(page.read_text(), "bash"):
            for line in block.replace("\\\n", " ").splitlines():
                # <AuditTableName> is a value to fill in, not a redirection
                line = re.sub(r"<[A-Za-z][\w-]*>", "PLACEHOLDER", line)
                found.extend(Command(name, line, *parts) for parts in _simple_commands(line))
    return found


def _simple_commands(line: str) -> list[tuple[dict[str, str], list[str]]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    pieces, current = [], []
    tokens = iter(lexer)
    for token in tokens:
        if token in SEPARATORS:
            pieces.append(current)
            current = []
        elif token in REDIRECTS:
            next(tokens, None)  # the file redirected to or from
        else:
            current.append(token)
    pieces.append(current)
    result = []
    for argv in filter(None, pieces):
        env = {}
        while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
            key, value = argv.pop(0).split("=", 1)
            env[key] = value
        if argv:
            result.append((env, argv))
    return result


def python_module(command: Command) -> tuple[str, list[str]] | None:
    """('warden_ops', [args]) for `python -m warden_ops args` or `.venv/bin/python -m ...`."""
    argv = command.argv
    if len(argv) >= 3 and Path(argv[0]).name in ("python", "python3") and argv[1] == "-m":
        return argv[2], argv[3:]
    return None
