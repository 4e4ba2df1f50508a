"""python -m local demo [--org] | python -m local replay EVENT.json [--mode dry-run] [--scenario auto] [--param K=V]

Exit status: 0 done; 1 the demo ended in an unexpected state; 2 bad input (a missing, empty or
invalid event file, a --param without '=' or naming no template parameter), reported in one line
before the twin starts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# local.scenarios.SCENARIOS, plus auto and none (listed here so that a bad command is refused
# before moto is imported; tests/unit/test_replay_scenarios.py keeps the two equal)
SCENARIO_CHOICES = ["auto", "none", "public-training-bucket", "encryption", "iam", "abused-apis"]


class UserError(ValueError):
    """Bad input: one line for the person, exit status 2."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description="Warden's local twin (moto, no AWS account).")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="quarantine a public training-data bucket, end to end")
    demo.add_argument("--org", action="store_true", help="organization mode: a hub and two member accounts")
    replay = commands.add_parser("replay", help="run one EventBridge event file through the real rules and workflow")
    replay.add_argument("event", help="path to a JSON event, e.g. events/cloudtrail-s3-putbucketpolicy-public.json")
    replay.add_argument("--mode", choices=["enforce", "dry-run"], default="enforce", help="sets Mode and IamMode (default: enforce)")
    replay.add_argument(
        "--scenario",
        choices=SCENARIO_CHOICES,
        default="auto",
        help="resources to create first (default auto: those the event's remediation acts on; none: an empty account)",
    )
    replay.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="another template parameter")
    replay.add_argument("--json", action="store_true", help="print the full result as JSON")
    return parser


def read_event(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{path}: no such file")
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot be read ({error})") from None
    if not text.strip():
        raise UserError(f"{path}: the file is empty; it should hold one EventBridge event (a JSON object)")
    try:
        event = json.loads(text)
    except ValueError as error:
        raise UserError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(event, dict):
        raise UserError(f"{path}: holds a JSON {type(event).__name__}; it should hold one EventBridge event (a JSON object)")
    return event


def template_parameters() -> list[str]:
    text = (ROOT / "template.yaml").read_text()
    section = re.search(r"^Parameters:\n(.*?)^\S", text, flags=re.MULTILINE | re.DOTALL).group(1)
    return re.findall(r"^  (\w+):", section, flags=re.MULTILINE)


def read_parameters(items: list[str]) -> dict[str, str]:
    known = template_parameters()
    parameters = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals:
            raise UserError(f"--param {item}: expected KEY=VALUE, e.g. --param ExemptTagKey=team:public")
        if key not in known:
            raise UserError(f"--param {item}: template.yaml has no parameter {key!r}; it has {', '.join(known)}")
        parameters[key] = value
    return parameters


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "replay":
            read_event(args.event)
            parameters = read_parameters(args.param)
    except UserError as error:
        print(f"python -m local replay: error: {error}", file=sys.stderr)
        return 2

    from local import demo

    if args.command == "demo" and args.org:
        from local import organization

        return organization.demo()
    if args.command == "demo":
        return demo.run()
    return demo.replay(args.event, args.mode, args.scenario, parameters, args.json)


if __name__ == "__main__":
    sys.exit(main())
