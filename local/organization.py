"""Organization mode on the twin: a hub and member accounts in one moto.

    with Organization(members=("ml-research", "ml-prod")) as org:
        s3 = org.client("s3", "ml-research")          # act in a member account (assumed role)
        result = org.send(event, "ml-research")        # through that member's spoke rules to the hub
        result.decision, result.notifications

What is real: the hub is template.yaml deployed by local.twin.Twin with OrganizationId set (its
rules, functions, roles, workflow and handlers); each member holds the roles and rules of spoke.yaml,
generated from the same template (warden_ops.spoke), with the StackSet parameters the hub's
SpokeParameters output gives; the organization, its OUs and accounts are moto's Organizations.

What is simulated, and how:
- moto lets anyone assume any role, existing or not. Here AssumeRole into a member account's role is
  refused unless the role exists there and its trust policy allows the function calling (the
  twin knows which handler is running) with an aws:PrincipalOrgID condition equal to the caller's
  organization: the checks IAM makes for spoke.yaml's trust policies. No other condition key or
  principal form is modelled.
- A spoke rule's delivery to the hub bus is modelled as: the event matches one of the member's
  spoke rule patterns (moto's matcher), then reaches the hub's rules unchanged, as EventBridge
  keeps the source envelope (account, region, time) on a cross-account delivery. moto's own
  cross-account delivery rewrites the envelope (shared/notes/organization.md), so it is not used.
- The hub bus policy (aws:PrincipalOrgID) is not evaluated by moto: an event from an account outside
  the organization is sent straight to the hub (`send(event)` with its own `account`), as a
  PowerUser in the hub could with StartExecution, and Triage must reject it.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timezone
from contextlib import contextmanager
from typing import Any, Iterator
from unittest import mock

from local.twin import PSEUDO_ACCOUNT, Result, Twin, _arrays_flattened
from warden_ops import spoke

HUB = PSEUDO_ACCOUNT
OUTSIDER = "999999999999"  # an AWS account that is not in the organization
MEMBER_ACCESS_ROLE = "OrganizationAccountAccessRole"  # what Organizations creates in a new account


class Organization(Twin):
    """The hub twin, plus an organization whose member accounts run the spoke."""

    def __init__(self, members: tuple[str, ...] = ("ml-research", "ml-prod"), parameters: dict[str, str] | None = None, **kwargs):
        # The organization's id is moto's, known once moto runs: _deploy sets the real one.
        super().__init__(parameters={"OrganizationId": "o-pending0000", **(parameters or {})}, **kwargs)
        self.member_names = members
        self.members: dict[str, str] = {}  # name -> account id
        self.organizational_units: dict[str, str] = {}  # member name -> its OU's id
        self.spoke_patterns: dict[str, dict[str, dict]] = {}  # account -> rule name -> pattern
        self.calling_function: str | None = None

    # ------------------------------------------------------------------ deploy

    def _deploy(self) -> None:
        organizations = self.client("organizations")
        self.organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        self.parameters["OrganizationId"] = self.organization_id
        root = organizations.list_roots()["Roots"][0]["Id"]
        for name in self.member_names:
            ou = organizations.create_organizational_unit(ParentId=root, Name=f"{name}-ou")["OrganizationalUnit"]["Id"]
            account = organizations.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
            organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
            self.members[name] = account
            self.organizational_units[name] = ou
        self.client("events").create_event_bus(Name=f"{self.stack_name}-hub")
        self.physical["HubEventBus"] = f"{self.stack_name}-hub"
        self._stack.enter_context(self._trust_policies_enforced())
        super()._deploy()
        for account in self.members.values():
            self.deploy_spoke(account)

    def _invoke(self, function, event):
        """Remember which function runs, so AssumeRole can check the spoke's trust policy."""
        self.calling_function = self.functions[function.function_name]["logical"]
        try:
            return super()._invoke(function, event)
        finally:
            self.calling_function = None

    def spoke_parameters(self) -> dict[str, str]:
        """What the hub's SpokeParameters output gives the StackSet."""
        values = {
            "OrganizationId": self.organization_id,
            "HubAccountId": self.account,
            "HubRegion": self.region,
            "HubEventBusName": self.physical["HubEventBus"],
            "PrimaryRegion": self.region,
        }
        for function, family in spoke.SPOKE_ROLES.items():
            values[spoke._role_parameter(family)] = self.attributes[(f"{function}Role", "Arn")]
        return values

    def deploy_spoke(self, account: str) -> None:
        """Create spoke.yaml's roles and rules in a member account, as its StackSet instance would."""
        template = spoke.spoke_template()
        resolver = self._resolver(template, account)
        iam, events = self.client("iam", account), self.client("events", account)
        patterns = {}
        for resource in template["Resources"].values():
            if "Condition" in resource and not resolver._condition(resource["Condition"]):
                continue
            properties = resolver._resolve(resource["Properties"])
            if resource["Type"] == "AWS::IAM::Role":
                iam.create_role(RoleName=properties["RoleName"], AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]))
                for policy in properties["Policies"]:
                    iam.put_role_policy(RoleName=properties["RoleName"], PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"]))
            elif resource["Type"] == "AWS::Events::Rule":
                rule = {"Name": properties["Name"], "State": "ENABLED"}
                if "EventPattern" in properties:
                    rule["EventPattern"] = json.dumps(properties["EventPattern"])
                    patterns[properties["Name"]] = properties["EventPattern"]
                else:
                    rule["ScheduleExpression"] = properties["ScheduleExpression"]
                events.put_rule(**rule)
                events.put_targets(Rule=properties["Name"], Targets=properties["Targets"])
        self.spoke_patterns[account] = patterns

    def _resolver(self, template: dict, account: str) -> Twin:
        """This twin's intrinsic-function evaluator, bound to the spoke template in a member account."""
        resolver = copy.copy(self)
        resolver.template = template
        resolver.account = account
        resolver.parameters = {
            **{name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()},
            **self.spoke_parameters(),
        }
        resolver.physical, resolver.attributes = {}, {}
        return resolver

    # ------------------------------------------------------------------ act as a member

    def client(self, service: str, account: str | None = None, config=None):
        """A client in the hub (default) or in a member account (by name or id), as its administrator."""
        if account is None or account in (self.account, "hub"):
            return super().client(service, config=config)
        account = self.members.get(account, account)
        credentials = super().client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{MEMBER_ACCESS_ROLE}", RoleSessionName="twin-administrator"
        )["Credentials"]
        from local.twin import _session

        return _session().client(
            service,
            region_name=self.region,
            config=config,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    def forwarded_by(self, account: str, event: Any) -> list[str]:
        """The member's spoke rules that forward this event to the hub."""
        from moto.events.models import EventPattern

        patterns = self.spoke_patterns.get(account, {})
        view = _arrays_flattened(event)
        return [name for name, pattern in patterns.items() if EventPattern.load(json.dumps(pattern)).matches_event(view)]

    def send(self, event: Any, member: str | None = None) -> Result:
        """An event in a member account (by name or id): its spoke forwards it to the hub, whose rules
        start the workflow. Without `member`, the event goes straight to the hub as it is."""
        if member is None:
            return super().send(event)
        account = self.members.get(member, member)
        if not self.forwarded_by(account, event):
            return Result(event, [], [])
        return super().send(event)

    def heartbeat(self, member: str) -> dict | None:
        """The spoke's hourly scheduled event, if the spoke still has its heartbeat rule: the hub's
        Heartbeat rule (its pattern from template.yaml) delivers it to SpokeHealth."""
        from moto.events.models import EventPattern

        account = self.members.get(member, member)
        events = self.client("events", account)
        if not events.list_rules(NamePrefix=spoke.HEARTBEAT_RULE)["Rules"]:
            return None  # the spoke stack is gone: nothing is sent
        scheduled = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account,
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{account}:rule/{spoke.HEARTBEAT_RULE}"],
            "detail": {},
        }
        rule = self._resolve(self.template["Resources"]["SpokeHealthFunction"]["Properties"]["Events"]["Heartbeat"])
        assert EventPattern.load(json.dumps(rule["Properties"]["Pattern"])).matches_event(scheduled)
        return self.invoke("SpokeHealthFunction", scheduled)

    def check_spokes(self) -> list[dict]:
        """The hub's hourly check; returns the messages it sent to on-call."""
        self._drain_inbox()
        self.invoke("SpokeHealthFunction", {"action": "check"})
        return self._drain_inbox()

    def remove_spoke(self, member: str) -> None:
        """A member team deletes the spoke stack: its roles and rules are gone."""
        account = self.members.get(member, member)
        iam, events = self.client("iam", account), self.client("events", account)
        for role in iam.list_roles()["Roles"]:
            if role["RoleName"].startswith(spoke.SPOKE_ROLE_PREFIX):
                for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName=name)
                iam.delete_role(RoleName=role["RoleName"])
        for rule in events.list_rules(NamePrefix=spoke.SPOKE_ROLE_PREFIX)["Rules"]:
            targets = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
            events.remove_targets(Rule=rule["Name"], Ids=targets)
            events.delete_rule(Name=rule["Name"])
        self.spoke_patterns[account] = {}

    # ------------------------------------------------------------------ IAM's trust-policy checks

    @contextmanager
    def _trust_policies_enforced(self) -> Iterator[None]:
        from moto.sts.models import STSBackend

        original = STSBackend.assume_role
        twin = self

        def assume_role(backend, region_name, role_session_name, role_arn, policy, duration, external_id):
            account = role_arn.split(":")[4]
            if account in twin.members.values() and role_arn.split(":role/", 1)[-1] != MEMBER_ACCESS_ROLE:
                refusal = twin._trust_refusal(account, role_arn)
                if refusal:
                    from moto.core.exceptions import AccessDeniedError

                    raise AccessDeniedError(user_arn=twin._caller_arn(), action="sts:AssumeRole")
            return original(backend, region_name, role_session_name, role_arn, policy, duration, external_id)

        with mock.patch.object(STSBackend, "assume_role", assume_role):
            yield

    def _caller_arn(self) -> str:
        if self.calling_function is None:
            return f"arn:aws:iam::{self.account}:root"
        return self.attributes[(f"{self.calling_function}Role", "Arn")]

    def _trust_refusal(self, account: str, role_arn: str) -> str | None:
        """Why IAM would refuse the calling function this role, or None (see the module docstring)."""
        from moto.iam.models import iam_backends

        try:
            role = iam_backends[account]["global"].get_role_by_arn(role_arn)
        except Exception:
            return f"{role_arn} does not exist"
        caller = self._caller_arn()
        for statement in json.loads(role.assume_role_policy_document)["Statement"]:
            principal = statement.get("Principal", {}).get("AWS")
            org = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
            if statement["Effect"] == "Allow" and principal == caller and org == self.organization_id:
                return None
        return f"the trust policy of {role_arn} does not allow {caller} in {self.organization_id}"


# ---------------------------------------------------------------------- python -m local demo --org

def as_account(event: dict, account: str) -> dict:
    """An events/ file (written for the twin's hub account) as if it happened in `account`."""
    return json.loads(json.dumps(event).replace(HUB, account))


def demo() -> int:
    """A hub and two member accounts: a public bucket in one is fixed from the hub; the same event
    forged from outside the organization is rejected; a spoke that stopped forwarding is reported."""
    from local import scenarios
    from local.demo import _rule, print_result
    from local.twin import load_event
    from warden.aws import SPOKE_SESSIONS

    print(_rule("Warden organization demo: a hub and two member accounts on the local twin"))
    with Organization(parameters={"Mode": "enforce"}) as org:
        research = org.members["ml-research"]
        print(f"  organization {org.organization_id}; hub {org.account} (template.yaml, OrganizationId set)")
        for name, account in org.members.items():
            print(f"  member {name} {account} in {org.organizational_units[name]}: spoke.yaml's roles and rules")
        scenarios.public_training_bucket(org.client("s3", "ml-research"))
        raw = load_event(org.template_path.parent / "events" / "cloudtrail-s3-putbucketpolicy-public.json")

        fixed = org.send(as_account(raw, research), "ml-research")
        print_result(f"A data scientist in {research} makes a bucket public: forwarded, fixed from the hub", "events/cloudtrail-s3-putbucketpolicy-public.json", fixed, full_message=True)
        blocked = org.client("s3", "ml-research").get_public_access_block(Bucket=scenarios.TRAINING_BUCKET)["PublicAccessBlockConfiguration"]
        print(f"  member     Block Public Access in {research}: {sum(blocked.values())}/4 on; AssumeRole calls so far: {SPOKE_SESSIONS.assumed}")

        forged = org.send(as_account(raw, OUTSIDER))
        print_result(f"The same event, forged from {OUTSIDER} (not in the organization)", "(forged)", forged, full_message=False)

        for name in org.members:
            org.heartbeat(name)
        org.remove_spoke("ml-prod")
        _three_hours_pass(org, org.members["ml-prod"])
        org.heartbeat("ml-research")
        print(_rule("ml-prod's team deletes its spoke stack; three hours later the hub's hourly check runs"))
        messages = org.check_spokes()
        for message in messages:
            print(f"  notified   [{message['attributes']['severity']}] {message['subject']}")
            print("\n".join("             │ " + line for line in message["body"].splitlines()))
        ok = fixed.decision == "enforce" and all(blocked.values()) and forged.decision == "rejected" and len(messages) == 1
        print(_rule("Result"))
        print("  member fixed from the hub; outsider rejected; silent spoke reported" if ok else "  UNEXPECTED END STATE")
        return 0 if ok else 1


def _three_hours_pass(org: Organization, account: str) -> None:
    """Simulated time: the account's last heartbeat becomes three hours and a minute old."""
    import time

    org.client("dynamodb").update_item(
        TableName=org.physical["DedupeTable"],
        Key={"id": {"S": f"spoke-heartbeat#{account}"}},
        UpdateExpression="SET last_seen = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 3 * 3600 - 60)}},
    )
