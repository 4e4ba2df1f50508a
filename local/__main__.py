"""python -m local demo | python -m local replay EVENT.json [--mode dry-run] [--scenario none] [--param K=V]"""

from __future__ import annotations

import argparse
import sys


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description="Warden's local twin (moto, no AWS account).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="quarantine a public training-data bucket, end to end")
    replay = commands.add_parser("replay", help="run one EventBridge event file through the real rules and workflow")
    replay.add_argument("event", help="path to a JSON event, e.g. events/cloudtrail-s3-putbucketpolicy-public.json")
    replay.add_argument("--mode", choices=["enforce", "dry-run"], default="enforce")
    replay.add_argument(
        "--scenario",
        choices=["public-training-bucket", "none"],
        default="public-training-bucket",
        help="resources to create first (default: the demo's public bucket, exempt bucket and account block off)",
    )
    replay.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="another template parameter")
    replay.add_argument("--json", action="store_true", help="print the full result as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    from local import demo

    if args.command == "demo":
        return demo.run()
    parameters = dict(item.split("=", 1) for item in args.param)
    return demo.replay(args.event, args.mode, args.scenario, parameters, args.json)


if __name__ == "__main__":
    sys.exit(main())
