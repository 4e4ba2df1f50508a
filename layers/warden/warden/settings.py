"""Run-time settings: a JSON document in SSM Parameter Store that changes what Warden may do
without a redeploy. The stack creates the parameter (`SettingsParameterName` output) holding `{}`.

    {
      "mode": "dry-run",
      "modes": {"s3_public": "enforce", "iam-deactivate-access-key": "enforce", "sagemaker-stop-exposed-notebook": "off"},
      "exempt_resources": ["arn:aws:s3:::public-website-*",
                           {"resource": "arn:aws:s3:::ml-demo-*", "until": "2027-01-31", "reason": "conference demo"}],
      "protected_principals": ["arn:aws:iam::123456789012:role/BreakGlassAdmin"],
      "dedupe_window_seconds": 600,
      "iac": {"terraform_tag_keys": ["terraform:module"], "deployer_roles": ["arn:aws:iam::123456789012:role/pipeline-deploy"],
              "revert_window_seconds": 86400}
    }

Every key is optional; a key the document sets overrides the template parameter of the same
meaning (Mode, IamMode, ExemptResourceArns, DedupeWindowSeconds), except `protected_principals`,
which adds to ProtectedPrincipalArns: protection is never taken away at run time. `modes` is keyed
by remediation name or family name; a remediation's own mode wins over its family's, which wins
over `mode`. Modes: `enforce`, `dry-run`, `approve` (the workflow plans, then waits up to
`approval_timeout_seconds` for a person to approve or reject: warden_ops approve/reject), `off` (the
finding is `ignored`, with the reason).

Triage reads the parameter through Powertools Parameters, cached for WARDEN_SETTINGS_MAX_AGE
seconds (SettingsCacheSeconds, 60 by default). A document that is not JSON, has an unknown key or
a value of the wrong kind is rejected as a whole, with a message naming the key; Warden then keeps
the last good document it read, or, if it has none, the template parameters, and says so in every
decision's reason until the document is fixed. It never falls back to enforcing everything.

A valid document that switches protection off wholesale (any mode `off`, or an exemption pattern
that matches a whole kind of resource, such as `*` or `arn:aws:s3:::*`) is told to on-call: the
first time a Triage instance reads that version of the parameter, `Settings.settings_alert` says
what it switches off, and the workflow has Notify page with it (HIGH). The "once" is kept in the
instance's memory on purpose: a record in DynamoDB could be written in advance by anyone allowed to
change the parameter, to suppress the alert. The tamper rule on the parameter (template.yaml) pages
as well, naming who changed it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import uuid
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from warden import registry
from warden.aws import client
from warden.observability import logger, metrics
from warden.policy import Settings, parse_terms

RUNTIME_MODES = ("enforce", "dry-run", "approve", "off")
KEYS = ("mode", "modes", "exempt_resources", "protected_principals", "dedupe_window_seconds", "approval_timeout_seconds", "comment", "iac", "accounts")
# Organization mode: what `accounts` may set for one member account or OU (the rest is organization-wide).
SCOPED_KEYS = ("mode", "modes", "exempt_resources", "protected_principals")
ACCOUNT_OR_OU = re.compile(r"^(\d{12}|ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$")
# `iac`: who owns a resource (warden.ownership) and whose deploy reverts a fix. Tag key lists replace the defaults.
IAC_TAG_LISTS = ("cdk_tag_keys", "terraform_tag_keys", "managed_by_tag_keys")
IAC_KEYS = (*IAC_TAG_LISTS, "deployer_roles", "revert_window_seconds")
MAX_APPROVAL_SECONDS = 7 * 86400
PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$")
DEFAULT_MAX_AGE = 60


# Parameter Store holds 4 KB in the Standard tier and 8 KB in the Advanced tier; the stack creates the
# parameter as Intelligent-Tiering, so it moves to Advanced by itself when a document needs it.
STANDARD_TIER_BYTES = 4096
MAX_DOCUMENT_BYTES = 8192


def stored_form(document: dict[str, Any]) -> str:
    """The text saved to Parameter Store: readable (indented) when that fits the Standard tier,
    else compact, which leaves the most room for long lists."""
    readable = json.dumps(document, indent=1)
    return readable if len(readable.encode()) <= STANDARD_TIER_BYTES else json.dumps(document, separators=(",", ":"))


def _size_error(document: dict[str, Any]) -> str | None:
    size = len(stored_form(document).encode())
    if size <= MAX_DOCUMENT_BYTES:
        return None
    return (
        f"the document is {size:,} bytes; Parameter Store holds at most {MAX_DOCUMENT_BYTES:,} (Advanced tier): "
        "shorten it, e.g. one shell pattern (arn:aws:s3:::public-*) for many exempt_resources"
    )


class SettingsError(ValueError):
    """The settings document is invalid; the message names every bad key."""


def _mode_error(where: str, value: Any) -> str | None:
    if value not in RUNTIME_MODES:
        return f"{where}: {value!r} is not a mode; use one of {', '.join(RUNTIME_MODES)}"
    return None


def validate(document: Any) -> list[str]:
    """Every problem of a settings document, each naming its key; empty when it is valid."""
    if not isinstance(document, dict):
        return [f"the document must be a JSON object, not {type(document).__name__}"]
    errors = [f"{key}: unknown key; the keys are {', '.join(KEYS)}" for key in document if key not in KEYS]
    if "mode" in document:
        errors += filter(None, [_mode_error("mode", document["mode"])])
    errors += _modes_errors(document.get("modes", {}))
    errors += _exemption_errors(document.get("exempt_resources", []))
    principals = document.get("protected_principals", [])
    if not isinstance(principals, list):
        errors.append("protected_principals: must be a list of IAM principal ARNs")
    else:
        errors += [
            f"protected_principals[{i}]: {p!r} is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>)"
            for i, p in enumerate(principals)
            if not isinstance(p, str) or not PRINCIPAL_ARN.match(p)
        ]
    if "dedupe_window_seconds" in document:
        window = document["dedupe_window_seconds"]
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 86400:
            errors.append(f"dedupe_window_seconds: {window!r} is not a whole number of seconds from 1 to 86400")
    if "approval_timeout_seconds" in document:
        timeout = document["approval_timeout_seconds"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_APPROVAL_SECONDS:
            errors.append(f"approval_timeout_seconds: {timeout!r} is not a whole number of seconds from 1 to {MAX_APPROVAL_SECONDS}")
    if "comment" in document and not isinstance(document["comment"], str):
        errors.append("comment: must be a string")
    errors += _iac_errors(document.get("iac", {}))
    errors += _scoped_errors(document.get("accounts", {}))
    errors += filter(None, [_size_error(document)])
    return errors


def _scoped_errors(scoped: Any) -> list[str]:
    if not isinstance(scoped, dict):
        return ["accounts: must be an object of account id or OU id -> settings for it"]
    errors = []
    for key, document in scoped.items():
        where = f"accounts.{key}"
        if not ACCOUNT_OR_OU.match(key):
            errors.append(f"{where}: {key!r} is not an account id (12 digits) or an OU id (ou-xxxx-xxxxxxxx)")
        if not isinstance(document, dict):
            errors.append(f"{where}: must be an object with any of {', '.join(SCOPED_KEYS)}")
            continue
        errors += [f"{where}.{k}: not settable per account; the keys are {', '.join(SCOPED_KEYS)}" for k in document if k not in SCOPED_KEYS]
        errors += [f"{where}.{e}" for e in validate({k: v for k, v in document.items() if k in SCOPED_KEYS})]
    return errors


def for_account(settings: Settings, account: str, ou_ids: tuple[str, ...] = ()) -> Settings:
    """The settings for a finding in `account` (organization mode): the organization-wide ones, then
    each OU's entry from the root down, then the account's own. Modes override; exemptions and
    protected principals add to the organization-wide ones, never replace them."""
    scoped = settings.scoped
    for key in (*reversed(ou_ids), account):
        document = scoped.get(key)
        if not document:
            continue
        exemptions = apply(replace(settings, exempt_resource_patterns=(), exempt_terms={}), {"exempt_resources": document.get("exempt_resources", [])})
        settings = apply(settings, {k: v for k, v in document.items() if k != "exempt_resources"})
        settings = replace(
            settings,
            exempt_resource_patterns=settings.exempt_resource_patterns + exemptions.exempt_resource_patterns,
            exempt_terms={**settings.exempt_terms, **exemptions.exempt_terms},
        )
    return settings


def _iac_errors(iac: Any) -> list[str]:
    if not isinstance(iac, dict):
        return [f"iac: must be an object with any of {', '.join(IAC_KEYS)}"]
    errors = [f"iac.{key}: unknown key; the keys are {', '.join(IAC_KEYS)}" for key in iac if key not in IAC_KEYS]
    for key in (*IAC_TAG_LISTS, "deployer_roles"):
        if key in iac and (not isinstance(iac[key], list) or not all(isinstance(v, str) and v.strip() for v in iac[key])):
            errors.append(f"iac.{key}: must be a list of non-empty strings")
    errors += [
        f"iac.deployer_roles[{i}]: {role!r} is not a role ARN (arn:aws:iam::<account>:role/<name>)"
        for i, role in enumerate(iac.get("deployer_roles", []) if isinstance(iac.get("deployer_roles"), list) else [])
        if isinstance(role, str) and role.strip() and not PRINCIPAL_ARN.match(role)
    ]
    if "revert_window_seconds" in iac:
        window = iac["revert_window_seconds"]
        if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 30 * 86400:
            errors.append(f"iac.revert_window_seconds: {window!r} is not a whole number of seconds from 0 to {30 * 86400}")
    return errors


def _modes_errors(modes: Any) -> list[str]:
    if not isinstance(modes, dict):
        return ["modes: must be an object of remediation or family name -> mode"]
    remediations = {r.name for r in registry.all_remediations()}
    families = {r.family for r in registry.all_remediations()}
    errors = []
    for name, mode in modes.items():
        if name not in remediations | families:
            errors.append(
                f"modes.{name}: no remediation or family has this name; "
                f"families: {', '.join(sorted(families))}; remediations: {', '.join(sorted(remediations))}"
            )
        errors += filter(None, [_mode_error(f"modes.{name}", mode)])
    return errors


def _exemption_errors(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return ["exempt_resources: must be a list of ARNs or patterns, or {resource, until, reason} objects"]
    errors = []
    for i, entry in enumerate(entries):
        where = f"exempt_resources[{i}]"
        if isinstance(entry, str):
            if not entry.strip():
                errors.append(f"{where}: an empty pattern would match nothing")
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), str) or not entry["resource"].strip():
            errors.append(f"{where}: must be an ARN or pattern, or an object with a non-empty 'resource'")
            continue
        unknown = set(entry) - {"resource", "until", "reason"}
        if unknown:
            errors.append(f"{where}.{sorted(unknown)[0]}: unknown key; the keys are resource, until, reason")
        if "until" in entry and (not isinstance(entry["until"], str) or parse_terms(f"until={entry['until']}").problem):
            errors.append(f"{where}.until: {entry['until']!r} is not a date such as 2027-01-31 (or a time 2027-01-31T18:00:00Z)")
        if "reason" in entry and not isinstance(entry["reason"], str):
            errors.append(f"{where}.reason: must be a string")
    return errors


def apply(base: Settings, document: dict[str, Any]) -> Settings:
    """The template parameters' settings, overridden by a valid document."""
    families = {r.family for r in registry.all_remediations()}
    modes = document.get("modes", {})
    changes: dict[str, Any] = {
        "family_modes": {**base.family_modes, **{k: v for k, v in modes.items() if k in families}},
        "remediation_modes": {**base.remediation_modes, **{k: v for k, v in modes.items() if k not in families}},
        "protected_principal_arns": base.protected_principal_arns + tuple(document.get("protected_principals", [])),
    }
    if "mode" in document:
        changes["mode"] = document["mode"]
    if "dedupe_window_seconds" in document:
        changes["dedupe_window_seconds"] = document["dedupe_window_seconds"]
    if "approval_timeout_seconds" in document:
        changes["approval_timeout_seconds"] = document["approval_timeout_seconds"]
    if "iac" in document:
        changes["iac"] = dict(document["iac"])
    if "accounts" in document:
        changes["scoped"] = dict(document["accounts"])
    if "exempt_resources" in document:
        entries = [e if isinstance(e, dict) else {"resource": e} for e in document["exempt_resources"]]
        changes["exempt_resource_patterns"] = tuple(e["resource"].strip() for e in entries)
        changes["exempt_terms"] = {
            e["resource"].strip(): " ".join(f"{k}={e[k]}" for k in ("until", "reason") if e.get(k)) for e in entries
        }
    return replace(base, **changes)


def _any_resource(account: str, region: str, partition: str = "aws") -> dict[str, str]:
    """Per kind of resource Warden fixes, the ARN of one whose name nobody would list: a pattern that
    matches it matches every resource of that kind."""
    name = f"any-{uuid.uuid4().hex}"
    prefix = f"arn:{partition}"
    return {
        "S3 bucket": f"{prefix}:s3:::{name}",
        "KMS key": f"{prefix}:kms:{region}:{account}:key/{uuid.uuid4()}",
        "SQS queue": f"{prefix}:sqs:{region}:{account}:{name}",
        "SNS topic": f"{prefix}:sns:{region}:{account}:{name}",
        "CloudTrail trail": f"{prefix}:cloudtrail:{region}:{account}:trail/{name}",
        "SageMaker notebook": f"{prefix}:sagemaker:{region}:{account}:notebook-instance/{name}",
        "SageMaker endpoint": f"{prefix}:sagemaker:{region}:{account}:endpoint/{name}",
        "IAM role": f"{prefix}:iam::{account}:role/{name}",
        "IAM policy": f"{prefix}:iam::{account}:policy/{name}",
        "IAM access key": f"{prefix}:iam::{account}:user/{name}/accesskey/AKIA{uuid.uuid4().hex[:16].upper()}",
        "API Gateway stage": f"{prefix}:apigateway:{region}::/restapis/{name}/stages/{name}",
        "account-level setting": f"AWS::::Account:{account}",
    }


def protection_removed(document: dict[str, Any], account: str, region: str) -> list[str]:
    """What a valid document switches off wholesale: each mode set to off, and each exemption
    pattern that matches every resource of a kind (in this account and region)."""
    removed = ["mode is off: every family that has no mode of its own is off"] if document.get("mode") == "off" else []
    removed += [f"modes.{name} is off" for name, mode in sorted(document.get("modes", {}).items()) if mode == "off"]
    any_resource = _any_resource(account, region)
    for index, entry in enumerate(document.get("exempt_resources", [])):
        pattern = (entry["resource"] if isinstance(entry, dict) else entry).strip()
        kinds = [kind for kind, arn in any_resource.items() if fnmatch.fnmatchcase(arn, pattern)]
        if kinds:
            removed.append(f"exempt_resources[{index}] {pattern!r} exempts every {', every '.join(kinds)}")
    for key, scoped in sorted(document.get("accounts", {}).items()):  # an account's or OU's own settings
        scoped_account = key if key.isdigit() else account
        removed += [f"accounts.{key}: {line}" for line in protection_removed(scoped, scoped_account, region)]
    return removed


class _VersionedSSMProvider(SSMProvider):
    """Powertools' SSM provider (same cache) that also keeps the version of each value it fetched."""

    def __init__(self, boto3_client):
        super().__init__(boto3_client=boto3_client)
        self.versions: dict[str, int] = {}

    def _get(self, name: str, decrypt: bool = False, **sdk_options) -> str:
        parameter = self.client.get_parameter(**{**sdk_options, "Name": name, "WithDecryption": decrypt})["Parameter"]
        self.versions[name] = parameter["Version"]
        return parameter["Value"]


class _Source:
    """One SSM provider (and its cache) per SSM client, with the last good document it read and the
    versions whose removed protection on-call was already told about."""

    def __init__(self, ssm):
        self.ssm = ssm
        self.provider = _VersionedSSMProvider(boto3_client=ssm)
        self.last_good: dict[str, Any] | None = None
        self.alerted: set[tuple[str, int | None]] = set()


_source: _Source | None = None


def _current_source() -> _Source:
    global _source
    ssm = client("ssm")  # a new client (the twin resets them) means a new account: forget the old cache
    if _source is None or _source.ssm is not ssm:
        _source = _Source(ssm)
    return _source


def read(name: str, max_age: int) -> dict[str, Any]:
    """The parsed, valid document; raises SettingsError naming what is wrong."""
    try:
        raw = _current_source().provider.get(name, max_age=max_age)
    except GetParameterError as error:
        raise SettingsError(f"the settings parameter {name} could not be read ({error})") from None
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise SettingsError(f"the settings parameter {name} is not valid JSON ({error})") from None
    errors = validate(document)
    if errors:
        raise SettingsError(f"the settings parameter {name} was rejected: {'; '.join(errors)}")
    return document


def load(env: dict[str, str] | None = None) -> Settings:
    """The settings for this invocation: template parameters, overridden by the settings document."""
    env = os.environ if env is None else env
    base = Settings.from_env(env)
    name = env.get("WARDEN_SETTINGS_PARAMETER")
    if not name:
        return base
    source = _current_source()
    try:
        document = read(name, int(env.get("WARDEN_SETTINGS_MAX_AGE", DEFAULT_MAX_AGE)))
    except SettingsError as error:
        metrics.add_metric(name="SettingsRejected", unit=MetricUnit.Count, value=1)
        logger.error("settings rejected", extra={"reason": str(error)})
        if source.last_good is not None:
            return replace(apply(base, source.last_good), notes=(f"{error}; Warden uses the last good settings it read",))
        return replace(base, notes=(f"{error}; Warden uses the template parameters",))
    source.last_good = document
    settings = apply(base, document)
    if "exempt_resources" in document:
        settings = replace(settings, exemption_list_setter=f"anyone allowed ssm:PutParameter on {name} (the run-time settings)")
    version = source.provider.versions.get(name)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "")
    removed = protection_removed(document, env.get("WARDEN_ACCOUNT_ID", ""), region)
    if removed and (name, version) not in source.alerted:
        source.alerted.add((name, version))
        logger.warning("settings switch protection off", extra={"parameter": name, "version": version, "removed": removed})
        settings = replace(settings, settings_alert={"parameter": name, "version": version, "removed": removed})
    return settings
