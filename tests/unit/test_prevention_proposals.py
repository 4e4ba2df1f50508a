"""Prevention proposals (warden.prevention): one entry per remediation, every family used, and no
Warden role able to apply any of them."""

from __future__ import annotations

from pathlib import Path

from cfnlint.decode import decode

from warden import registry
from warden.prevention import FAMILIES, PREVENTION, proposals_for, summary_lines

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
# What applying a proposal takes: Organizations policies, Config rules and conformance packs, CloudFormation hooks.
APPLYING_ACTIONS = ("organizations:attachpolicy", "organizations:createpolicy", "organizations:updatepolicy",
                    "organizations:enablepolicytype", "organizations:*", "config:put", "config:startresourceevaluation",
                    "cloudformation:activatetype", "cloudformation:settypeconfiguration", "cloudformation:registertype")  # fmt: skip


def test_every_remediation_has_a_prevention_entry():
    assert sorted(PREVENTION) == sorted(r.name for r in registry.all_remediations())
    assert all(isinstance(entry, str) and entry or entry for entry in PREVENTION.values())


def test_every_family_is_proposed_somewhere_and_ids_are_unique_per_control():
    proposals = {p.id: p for entry in PREVENTION.values() if not isinstance(entry, str) for p in entry}
    assert {p.family for p in proposals.values()} == set(FAMILIES)
    for proposal in proposals.values():
        assert proposal.family in FAMILIES and proposal.blast_radius and proposal.apply_in and proposal.enforces


def test_scp_statements_deny_and_keep_a_break_glass_way_out():
    for entry in PREVENTION.values():
        for proposal in () if isinstance(entry, str) else entry:
            if proposal.family != "scp":
                continue
            for statement in proposal.control if isinstance(proposal.control, list) else [proposal.control]:
                assert statement["Effect"] == "Deny"
                assert "aws:PrincipalArn" in statement["Condition"]["ArnNotLike"]


def test_no_scp_pretends_to_read_a_bucket_policy():
    (scp,) = [p for p in proposals_for("s3-quarantine-public-bucket") if p.id == "scp-s3-keep-block-public-access"]
    assert "s3:PutBucketPolicy" not in scp.control["Action"]
    assert "cannot read a bucket policy" in scp.enforces


def test_message_lines_say_proposals_are_not_applied():
    lines = summary_lines("kms-keep-key-usable")
    assert lines[0] == "PREVENT THE NEXT ONE (proposals only: Warden applies none of them)"
    assert "[scp] SCP: deny disabling or scheduling deletion of KMS keys outside a break-glass role" in lines[1]
    assert summary_lines("apigw-throttle-stage") == []


def test_no_warden_role_can_apply_a_proposal():
    granted = set()
    for resource in TEMPLATE["Resources"].values():
        policies = resource.get("Properties", {}).get("Policies") or []
        documents = [p.get("PolicyDocument", p) for p in policies if isinstance(p, dict)]
        for document in documents:
            for statement in document.get("Statement", []):
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                for branch in branches:
                    if isinstance(branch, dict) and branch.get("Effect") == "Allow":
                        actions = branch["Action"] if isinstance(branch["Action"], list) else [branch["Action"]]
                        granted |= {a.lower() for a in actions}
    assert granted, "the template's role policies were found"
    assert not [a for a in granted if a.startswith(APPLYING_ACTIONS) or a == "*"]
