"""python -m warden_ops rollback: undo one of Warden's fixes under YOUR credentials.

No Warden function can re-grant permissions or switch protection off (iam:Attach*, kms:DisableKey,
cloudtrail:StopLogging...), so the restore runs here, with the library's own rollback code and the
operator's own AWS identity: CloudTrail names the person, and the audit record names the caller
that sts:GetCallerIdentity returns, never a name the caller chose.

Before anything is restored, the before-snapshot's proof is verified (kms:VerifyMac with the
stack's AuthorizationKey): a snapshot someone wrote into the audit table by hand is refused.

Because the restore is made by a person, its CloudTrail event would make Warden fix the resource
again. So, right before restoring, the resource is exempted in the run-time settings document for
a limited time (24 hours by default; --exempt-for 72h, or --no-exempt), with the reason
"rolled back by <caller>: <finding id>". Triage reads the document within SettingsCacheSeconds.

Permissions the operator needs: dynamodb:GetItem and UpdateItem on the audit table (for some
remediations Query on its by-resource index and BatchGetItem on the table), kms:VerifyMac on the AuthorizationKey, ssm:GetParameter
and PutParameter on the settings parameter, and the remediation's own `rollback_permissions`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from warden import aws, settings
from warden.observability import logger

DEFAULT_EXEMPTION = "24h"
_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    """'90m', '24h', '3d' -> a timedelta; ValueError names the problem."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--exempt-for {text!r} is not a duration such as 90m, 24h or 3d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@contextmanager
def library(target) -> Iterator[None]:
    """Run Warden's library here: its table and key from the stack, its clients from your session."""
    names = {"WARDEN_AUDIT_TABLE": target.physical("AuditTable"), "WARDEN_AUTHORIZATION_KEY": target.physical("AuthorizationKey")}
    saved = {name: os.environ.get(name) for name in names}
    level = logger.log_level
    os.environ.update(names)
    aws.use_session(target.library_session())
    logger.setLevel(logging.CRITICAL)  # the answer is printed; the library's JSON log lines would only interleave
    try:
        yield
    finally:
        logger.setLevel(level)
        aws.use_session(None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def exempt(target, resource_arn: str, until: datetime, reason: str) -> dict[str, Any]:
    """Add a time-limited exemption for exactly this resource to the settings document."""
    ssm, name = target.client("ssm"), target.physical("SettingsParameter")
    document = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"] or "{}")
    problems = settings.validate(document)
    if problems:
        raise ValueError(
            f"the settings document {name} is invalid ({'; '.join(problems)}), so the exemption that keeps Warden from "
            "undoing the rollback cannot be added; nothing was changed. Fix the document, or pass --no-exempt"
        )
    entry = {"resource": resource_arn, "until": until.strftime("%Y-%m-%dT%H:%M:%SZ"), "reason": reason}
    document["exempt_resources"] = [*document.get("exempt_resources", []), entry]
    problems = settings.validate(document)
    if problems:
        raise ValueError(f"the exemption cannot be added to {name}: {'; '.join(problems)}; nothing was changed. Pass --no-exempt")
    ssm.put_parameter(Name=name, Value=settings.stored_form(document), Type="String", Overwrite=True, Tier="Intelligent-Tiering")
    return {**entry, "parameter": name}


def run(
    target, finding_id: str, force: bool, exempt_for: timedelta | None, member_role: str | None = None, member_profile: str | None = None
) -> dict[str, Any]:
    """The rollback's answer (warden.rollback), with `exemption` when one was added. A fix in a member
    account (organization mode) is undone there, as you: --member-role or --member-profile."""
    from warden import audit
    from warden.rollback import rollback
    from warden_ops.accounts import member_credentials

    caller = target.caller()
    added: dict[str, Any] = {}

    def before_restore(record: dict[str, Any]) -> dict[str, Any]:
        if exempt_for is None:
            return {}
        until = datetime.now(timezone.utc) + exempt_for
        added.update(exempt(target, record["resource_arn"], until, f"rolled back by {caller}: {finding_id}"))
        return {"exempted_until": added["until"]}

    with library(target):
        record = audit.read(finding_id) or {}
        member = (
            member_credentials(target, record["account"], f"finding {finding_id}", member_role, member_profile)
            if record.get("account") else None
        )
        answer = rollback(finding_id, force=force, requested_by=caller, member_credentials=member, before_restore=before_restore)
    if added:
        answer["exemption"] = added
    return answer
