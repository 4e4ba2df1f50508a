"""IAM policy evaluation, for least-privilege evidence and for checking the threat model's SCP.

    decide(statements, "s3:PutBucketPolicy", "arn:aws:s3:::b", {"aws:PrincipalArn": "..."})
    -> "allowed" | "explicitly denied" | "implicitly denied"

AWS's order for one policy set: an explicit Deny that matches wins; otherwise an Allow whose
action, resource and every condition match; otherwise the request is implicitly denied. Action,
NotAction, Resource, NotResource, IAM wildcards (* and ?) and the condition operators below are
evaluated. An operator this module does not know raises NotImplementedError, so a check never
passes because it did not understand a policy.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

ALLOWED, EXPLICITLY_DENIED, IMPLICITLY_DENIED = "allowed", "explicitly denied", "implicitly denied"


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern:
    """IAM's wildcards: * any run of characters, ? one character; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return bool(_wildcard(pattern, ignore_case).match(value))


def _action_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard_match(a, action, ignore_case=True) for a in _as_list(statement["NotAction"]))
    return any(wildcard_match(a, action, ignore_case=True) for a in _as_list(statement.get("Action", [])))


def _resource_matches(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(wildcard_match(r, resource) for r in _as_list(statement["NotResource"]))
    return any(wildcard_match(r, resource) for r in _as_list(statement.get("Resource", [])))


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_like(policy: str, value: str) -> bool:
    return wildcard_match(policy, value)


def _arn_like(policy: str, value: str) -> bool:
    """ArnLike compares the six ARN parts, each with wildcards (a * does not cross a colon before the resource)."""
    policy_parts, value_parts = policy.split(":", 5), value.split(":", 5)
    if len(policy_parts) != 6 or len(value_parts) != 6:
        return False
    return all(wildcard_match(p, v) for p, v in zip(policy_parts, value_parts))


def _bool(policy: Any, value: Any) -> bool:
    return str(policy).lower() == str(value).lower()


# operator -> (compare one policy value with one context value, negated?)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
}


def condition_holds(operator: str, key: str, policy_values: Any, context: dict[str, Any]) -> bool:
    """One condition key of one operator block, as AWS evaluates it."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (key not in context) == _bool(policy_values, True)
    if name not in OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise NotImplementedError(f"condition operator {operator!r} is not evaluated here; add it to local/iam_policy.py")
    compare, negated = OPERATORS[name]
    policy_values = [str(v) if not isinstance(v, bool) else v for v in _as_list(policy_values)]
    if key not in context or context[key] is None:
        if if_exists:
            return True
        # A missing key: positive operators fail, negated ones hold; ForAllValues holds on an empty set.
        return qualifier == "ForAllValues" or (negated and qualifier != "ForAnyValue")
    values = [str(v) if not isinstance(v, bool) else v for v in _as_list(context[key])]

    def holds(value) -> bool:
        matched = any(compare(p, value) for p in policy_values)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(holds(v) for v in values)
    return any(holds(v) for v in values)


def conditions_hold(statement: dict, context: dict[str, Any]) -> bool:
    return all(
        condition_holds(operator, key, values, context)
        for operator, block in (statement.get("Condition") or {}).items()
        for key, values in block.items()
    )


def statement_applies(statement: dict, action: str, resource: str, context: dict[str, Any] | None = None) -> bool:
    return _action_matches(statement, action) and _resource_matches(statement, resource) and conditions_hold(statement, context or {})


def decide(statements: list[dict], action: str, resource: str, context: dict[str, Any] | None = None) -> str:
    """What AWS answers for this request under these statements (one identity policy set, or an SCP)."""
    context = context or {}
    applying = [s for s in statements if statement_applies(s, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return EXPLICITLY_DENIED
    if any(s.get("Effect") == "Allow" for s in applying):
        return ALLOWED
    return IMPLICITLY_DENIED


__all__ = ["ALLOWED", "EXPLICITLY_DENIED", "IMPLICITLY_DENIED", "condition_holds", "decide", "statement_applies", "wildcard_match"]
