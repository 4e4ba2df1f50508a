"""Who owns a resource: a CloudFormation stack, a CDK app, a Terraform module, or nobody Warden can tell.

Pure: it reads the tags triage already fetched for exemptions, and makes no AWS call. The
classification decides what the message says after a fix: a managed resource is still contained
(its owner's next deploy would undo the fix, so the message says so and gives the template change
that makes the fix permanent, warden.template_patches). A missing tag is not proof that nobody
manages a resource: Terraform and hand-written CDK add no tag of their own, so a resource without
one is `unknown`, never `unmanaged`.

Tags read, in this order (the settings document's `iac` key changes the configurable ones):
- CloudFormation: `aws:cloudformation:stack-name`, `aws:cloudformation:logical-id` (set by AWS on
  every resource a stack creates that supports tags; not configurable, nobody else can write `aws:` tags).
- CDK: a CDK app deploys through CloudFormation, so it has the stack tags too; a tag from
  `cdk_tag_keys` (default `cdk:app`, `aws-cdk:app`) marks it CDK and names the app.
- Terraform: a tag from `terraform_tag_keys` (default `terraform:module`, `tf:module`, `terraform`)
  whose value names the module (`true` says only that Terraform manages it).
- Any IaC tool: a tag from `managed_by_tag_keys` (default `managed-by`, `ManagedBy`, `managed_by`)
  whose value names the tool (terraform, cdk, cloudformation, pulumi...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CFN_STACK_TAG = "aws:cloudformation:stack-name"
CFN_LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
DEFAULT_TAG_KEYS: dict[str, tuple[str, ...]] = {
    "cdk_tag_keys": ("cdk:app", "aws-cdk:app"),
    "terraform_tag_keys": ("terraform:module", "tf:module", "terraform"),
    "managed_by_tag_keys": ("managed-by", "ManagedBy", "managed_by"),
}
MANAGED_KINDS = ("cloudformation", "cdk", "terraform", "other-iac")
# Tag values that say "managed by this tool" without naming a module.
_BARE_VALUES = {"", "true", "yes", "1", "terraform", "managed"}


@dataclass(frozen=True)
class Owner:
    kind: str  # cloudformation, cdk, terraform, other-iac, unknown
    name: str | None = None  # stack, app or module, when a tag names it
    stack: str | None = None  # the CloudFormation stack that deploys it (CloudFormation and CDK owners)
    logical_id: str | None = None  # the resource's logical id in its CloudFormation template
    evidence: str = ""  # the tag(s) the classification rests on, or why it is unknown

    @property
    def managed(self) -> bool:
        return self.kind in MANAGED_KINDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Owner | None:
        return cls(**data) if data else None

    def describe(self) -> str:
        """One line for the message and `warden_ops history`."""
        where = f" (logical id {self.logical_id})" if self.logical_id else ""
        if self.kind == "cloudformation":
            return f"CloudFormation stack {self.name}{where}"
        if self.kind == "cdk":
            return f"CDK app {self.name}, deployed as CloudFormation stack {self.stack}{where}"
        if self.kind == "terraform":
            return f"Terraform module {self.name}" if self.name else "Terraform (no module named)"
        if self.kind == "other-iac":
            return f"{self.name} (infrastructure as code)"
        return f"unknown ({self.evidence})"


def tag_keys(configured: dict[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """The defaults, overridden per list by the settings document's `iac` key."""
    configured = configured or {}
    return {name: tuple(configured.get(name, default)) for name, default in DEFAULT_TAG_KEYS.items()}


def _first(tags: dict[str, str], keys: tuple[str, ...]) -> tuple[str, str] | None:
    return next(((key, tags[key]) for key in keys if key in tags), None)


def classify(tags: dict[str, str] | None, configured: dict[str, Any] | None = None, taggable: bool = True) -> Owner:
    """The owner these tags show. `taggable` False: the resource is an account or region setting,
    which carries no tags, so its owner cannot be read from them."""
    if not taggable:
        return Owner("unknown", evidence="an account or region setting carries no tags; if IaC manages it, its next apply may undo the fix")
    tags = tags or {}
    keys = tag_keys(configured)
    stack, logical_id = tags.get(CFN_STACK_TAG), tags.get(CFN_LOGICAL_ID_TAG)
    cdk = _first(tags, keys["cdk_tag_keys"])
    managed_by = _first(tags, keys["managed_by_tag_keys"])
    tool = (managed_by[1].strip().lower() if managed_by else "")
    if stack and (cdk or tool == "cdk"):
        app = cdk[1] if cdk and cdk[1].lower() not in _BARE_VALUES else stack
        return Owner("cdk", app, stack, logical_id, f"tags {CFN_STACK_TAG}={stack} and {(cdk or managed_by)[0]}")
    if stack:
        return Owner("cloudformation", stack, stack, logical_id, f"tag {CFN_STACK_TAG}={stack}")
    terraform = _first(tags, keys["terraform_tag_keys"])
    if terraform or tool == "terraform":
        key, value = terraform or managed_by
        module = None if value.strip().lower() in _BARE_VALUES else value
        return Owner("terraform", module, evidence=f"tag {key}={value}")
    if managed_by and tool not in _BARE_VALUES:
        return Owner("other-iac", managed_by[1], evidence=f"tag {managed_by[0]}={managed_by[1]}")
    return Owner(
        "unknown",
        evidence="no CloudFormation, CDK or Terraform tag; a missing tag does not prove that nothing manages it",
    )
