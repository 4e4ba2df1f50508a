"""The principal `make deploy` passes as DeployerPrincipalArn: the caller, as IAM names it.

    python -m warden_ops.deployer        (prints the ARN; the Makefile's deploy target uses it)

The IAM family's Deny statements name IAM resources (`arn:aws:iam::<account>:role/<path><name>`);
an STS session ARN (`arn:aws:sts::<account>:assumed-role/<name>/<session>`, what
`sts get-caller-identity` returns for a role) never matches one. So a session is turned into its
role's ARN. Role paths are not in the session ARN: the role is read with `iam:GetRole`; a caller
without that permission gets the path-less ARN, which is right for a role at path `/`, and a
warning on stderr saying so.
"""

from __future__ import annotations

import re
import sys
from typing import Callable

SESSION = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([\w+=,.@-]+)/[^/]+$")


def deployer_arn(caller_arn: str, get_role: Callable[[str], str]) -> tuple[str, str | None]:
    """(the IAM ARN to protect, a warning or None). `get_role(name)` returns the role's ARN."""
    session = SESSION.match(caller_arn)
    if session is None:
        return caller_arn, None  # an IAM user or role ARN already
    partition, account, role = session.groups()
    try:
        return get_role(role), None
    except Exception as error:  # noqa: BLE001 - any refusal: fall back, and say so
        fallback = f"arn:{partition}:iam::{account}:role/{role}"
        return fallback, f"could not read role {role} ({error}); using {fallback}, which is right only if its path is /"


def main() -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        caller = boto3.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as error:
        print(f"warden_ops.deployer: cannot tell who you are: {error}", file=sys.stderr)
        return 2
    iam = boto3.client("iam")
    arn, warning = deployer_arn(caller, lambda name: iam.get_role(RoleName=name)["Role"]["Arn"])
    if warning:
        print(f"warden_ops.deployer: {warning}", file=sys.stderr)
    print(arn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
