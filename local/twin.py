"""The local twin: Warden's real template, workflow and handlers running on moto, in-process.

    with Twin(parameters={"Mode": "enforce"}) as twin:
        s3 = twin.client("s3")                 # set up a scenario with ordinary boto3 calls
        result = twin.send(event)              # route through the real rules, run the workflow
        result.decision, result.notifications, result.audit_records

What is real: template.yaml's parameters, functions (handler, environment, role policy), the
EventBridge rule patterns (matched by the events API's TestEventPattern), the ASL definition with
its substitutions (executed by moto's Step Functions interpreter) and every handler's code. Rules
whose target is the topic (Warden's tamper alerts) publish their input transformer's text to it,
as EventBridge would.
What is simulated: AWS itself (moto), and the Lambda runtime, which is replaced by an in-process
call of the handler with the function's environment (no Docker). CloudTrail does not exist in
moto, so Warden's own API calls produce no events here; replay those events from events/.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
import zipfile
import logging
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "warden"
PSEUDO_ACCOUNT = "123456789012"  # moto's default account
TWIN_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
}


@dataclass
class Execution:
    """One workflow run: where it went and how it ended."""

    rule: str | None
    arn: str
    status: str
    states: list[str]  # the states entered, in order
    triage: dict[str, Any] | None  # Triage's output: finding, remediation, decision, reason
    output: dict[str, Any] | None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # both workflows' events, as GetExecutionHistory gives them
    # The Standard execution Triage handed the event to (approve mode, a throttle...), which `states`,
    # `triage`, `status` and `output` then continue with; None when the Express one did everything.
    handed_over_to: str | None = None
    express_states: list[str] = field(default_factory=list)  # those of `states` the Express execution entered

    @property
    def decision(self) -> str | None:
        return (self.triage or {}).get("decision")


@dataclass
class Result:
    """Everything a replayed event caused."""

    event: Any
    matched_rules: list[str]
    executions: list[Execution]
    notifications: list[dict[str, Any]] = field(default_factory=list)  # subject, body, attributes
    audit_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def decision(self) -> str | None:
        return self.executions[0].decision if self.executions else None

    @property
    def status(self) -> str | None:
        return self.executions[0].status if self.executions else None


class _Context:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str, arn: str, memory: int, timeout: int):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "twin"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Twin:
    """Deploys template.yaml into moto and runs events through it. Use as a context manager."""

    def __init__(
        self,
        parameters: dict[str, str] | None = None,
        template: Path | str = ROOT / "template.yaml",
        region: str = "us-east-1",
        stack_name: str = "warden",
        log_level: str = "ERROR",
        aws_managed_policies: bool = False,
    ):
        self.template_path = Path(template)
        self.region = region
        self.account = PSEUDO_ACCOUNT
        self.stack_name = stack_name
        self.log_level = log_level
        # AWS-managed IAM policies (AdministratorAccess...): real accounts have them, but loading
        # them costs ~2 s per twin, so only IAM scenarios ask for them.
        self.aws_managed_policies = aws_managed_policies
        self.template = self._load_template()
        self.parameters = self._parameters(parameters or {})
        self.physical: dict[str, str] = {}  # logical id -> Ref value
        self.attributes: dict[tuple[str, str], str] = {}  # (logical id, attribute) -> GetAtt value
        self.functions: dict[str, dict[str, Any]] = {}  # function name -> code dir, handler, env
        self.rules: dict[str, dict] = {}  # rule name -> pattern, for the rules that start the workflow
        self.topic_rules: dict[str, dict] = {}  # rule name -> {"pattern", "targets"}, for rules that publish to a topic
        self._handlers: dict[str, Any] = {}
        self.emitted_metrics: list[dict[str, Any]] = []  # CloudWatch EMF documents the handlers printed
        self._invoke_lock = threading.Lock()
        self._execution_threads: dict[str, threading.Thread] = {}  # execution ARN -> moto's thread running it
        self._stack = ExitStack()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Twin:
        try:
            return self._start()
        except BaseException:
            self._stack.close()  # a half-started twin must not leave moto patched
            raise

    def _start(self) -> Twin:
        from moto import mock_aws

        self._stack.enter_context(mock.patch.dict(os.environ, {**TWIN_ENV, "AWS_DEFAULT_REGION": self.region}))
        # AWS-managed policies (AdministratorAccess...) exist in every real account, so in the twin too.
        config = {
            "stepfunctions": {"execute_state_machine": True},
            "iam": {"load_aws_managed_policies": self.aws_managed_policies},
        }
        from local import moto_securityhub, moto_speedups

        self._stack.enter_context(moto_speedups.applied())  # twin-only: moto's repeated work done once (see module)

        # Twin-only: moto lacks Security Hub BatchUpdateFindings (see module); its URL must exist before moto starts.
        self._stack.enter_context(moto_securityhub.patched())
        from local import moto_macie

        # Twin-only: moto lacks Macie ListFindings and GetFindings (see module); their URLs too.
        self._stack.enter_context(moto_macie.patched())
        from local import moto_guardduty

        # Twin-only: moto holds no GuardDuty findings (GetFindings, samples; see module).
        self._stack.enter_context(moto_guardduty.patched())
        from local import moto_findings

        # Twin-only: moto lacks Config's compliance reads and Security Hub's GetFindings filters, which the sweep uses (see module).
        self._stack.enter_context(moto_findings.patched())
        self._stack.enter_context(mock_aws(config=config))
        from local import moto_patches

        # Twin-only: moto lacks apigatewayv2 UpdateStage and REST method-setting removal (see module).
        self._stack.enter_context(moto_patches.patched())
        from moto.awslambda.models import LambdaFunction

        twin = self

        def invoke_in_process(function, event=None):
            return twin._invoke(function, event)

        self._stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", invoke_in_process))
        self._stack.enter_context(self._executions_joinable())
        # moto's interpreter logs every Fail state as an exception; the twin reports outcomes itself.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
        if str(LAYER) not in sys.path:
            sys.path.insert(0, str(LAYER))
        from warden.aws import reset_clients

        reset_clients()
        self._deploy()
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._end_executions()
        finally:
            self._stack.close()

    def _end_executions(self, timeout: float = 30) -> None:
        """Stop and join every execution nobody waited for (a sweep's, one waiting for approval): moto's
        patches are process-wide, so its thread would otherwise run on into the next twin, invoking that
        twin's functions in the middle of its test."""
        running = {arn: thread for arn, thread in self._execution_threads.items() if thread.is_alive()}
        if not running:
            return
        sfn = self.client("stepfunctions")
        for arn in running:
            try:
                sfn.stop_execution(executionArn=arn, error="Twin.Closed", cause="the twin was closed")
            except Exception:  # noqa: BLE001 - it ended meanwhile; the join below is what matters
                pass
        for thread in running.values():
            thread.join(timeout)

    def client(self, service: str, config=None):
        return _session().client(service, region_name=self.region, config=config)

    # ------------------------------------------------------------------ the template

    def _load_template(self) -> dict:
        template, matches = decode(str(self.template_path))
        if matches:
            raise ValueError(f"{self.template_path} does not parse: {matches}")
        return template

    def _parameters(self, overrides: dict[str, str]) -> dict[str, str]:
        declared = self.template.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise ValueError(f"unknown template parameters: {sorted(unknown)}")
        values = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        values.update({k: str(v) for k, v in overrides.items()})
        for name, spec in declared.items():
            allowed = spec.get("AllowedValues")
            if allowed and values[name] not in [str(a) for a in allowed]:
                raise ValueError(f"parameter {name}={values[name]!r} is not one of {allowed}")
        return values

    def _condition(self, name: str) -> bool:
        return bool(self._resolve(self.template.get("Conditions", {})[name]))

    def _resolve(self, node: Any) -> Any:
        """Evaluate the intrinsic functions this template uses."""
        if isinstance(node, list):
            items = [self._resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Fn::GetAtt":
                logical, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.attributes[(logical, attribute)]
            if key == "Fn::Sub":
                text, variables = (value[0], self._resolve(value[1])) if isinstance(value, list) else (value, {})
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(variables[m.group(1)]) if m.group(1) in variables else self._sub_var(m.group(1)), text)
            if key == "Fn::Select":
                return self._resolve(value[1])[int(value[0])]
            if key == "Fn::Join":
                return value[0].join(str(v) for v in self._resolve(value[1]))
            if key == "Fn::Split":
                return str(self._resolve(value[1])).split(value[0])
            if key == "Fn::Select":
                return self._resolve(value[1])[int(self._resolve(value[0]))]
            if key == "Fn::If":
                return self._resolve(value[1] if self._condition(value[0]) else value[2])
            if key == "Fn::Equals":
                return self._resolve(value[0]) == self._resolve(value[1])
            if key == "Fn::Not":
                return not self._resolve(value[0])
            if key == "Condition":
                return self._condition(value)
        resolved = {k: self._resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _sub_var(self, name: str) -> str:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self.attributes[(logical, attribute)]
        return str(self._ref(name))

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical[name]

    def _resources(self, resource_type: str) -> dict[str, dict]:
        return {
            name: spec
            for name, spec in self.template["Resources"].items()
            if spec["Type"] == resource_type and ("Condition" not in spec or self._condition(spec["Condition"]))
        }

    # ------------------------------------------------------------------ deploy into moto

    def _deploy(self) -> None:
        self._deploy_tables()
        self._deploy_roles()  # key policies name the functions' roles
        self._deploy_keys()
        self._deploy_queues_and_topics()
        self._deploy_parameters()
        self._deploy_functions()
        self._deploy_state_machines()
        self._deploy_topic_rules()
        self._deploy_alarms()
        self._subscribe_inbox()

    def _deploy_tables(self) -> None:
        dynamodb = self.client("dynamodb")
        for logical, spec in self._resources("AWS::DynamoDB::Table").items():
            props = self._resolve(spec["Properties"])
            name = f"{self.stack_name}-{logical}"
            kwargs = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props["BillingMode"],
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            arn = dynamodb.create_table(**kwargs)["TableDescription"]["TableArn"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
            self.physical[logical] = name
            self.attributes[(logical, "Arn")] = arn

    def _deploy_keys(self) -> None:
        """KMS keys, with their key policy; each key's id is derived from the stack and logical id, so
        events/ files can name it (moto offers no API to choose a key id: its generator is pinned)."""
        kms = self.client("kms")
        for logical, spec in self._resources("AWS::KMS::Key").items():
            props = self._resolve(spec["Properties"])
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"twin:{self.stack_name}:{logical}"))
            with mock.patch("moto.kms.models.generate_key_id", return_value=key_id):
                arn = kms.create_key(
                    Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"]),
                    KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"), KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                )["KeyMetadata"]["Arn"]  # fmt: skip
            self.physical[logical] = key_id
            self.attributes[(logical, "Arn")] = arn

    def _deploy_queues_and_topics(self) -> None:
        sqs, sns = self.client("sqs"), self.client("sns")
        for logical in self._resources("AWS::SQS::Queue"):
            name = f"{self.stack_name}-{logical}"
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            self.physical[logical] = url
            self.attributes[(logical, "QueueName")] = name
            self.attributes[(logical, "Arn")] = f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        for logical, spec in self._resources("AWS::SNS::Topic").items():
            props = self._resolve(spec["Properties"])
            arn = sns.create_topic(
                Name=f"{self.stack_name}-{logical}", Attributes={"KmsMasterKeyId": props.get("KmsMasterKeyId", "")}
            )["TopicArn"]
            self.physical[logical] = arn

    def _deploy_parameters(self) -> None:
        """SSM parameters (the run-time settings document), with the template's initial value."""
        ssm = self.client("ssm")
        for logical, spec in self._resources("AWS::SSM::Parameter").items():
            props = self._resolve(spec["Properties"])
            name = props.get("Name") or f"{self.stack_name}-{logical}"
            ssm.put_parameter(
                Name=name, Value=props["Value"], Type=props["Type"], Description=props.get("Description", ""), Tier=props.get("Tier", "Standard")
            )
            self.physical[logical] = name

    def _function_specs(self) -> dict[str, dict]:
        return self._resources("AWS::Serverless::Function")

    def _deploy_roles(self) -> None:
        """SAM's generated function roles first: environments and the key policy refer to them."""
        iam = self.client("iam")
        for logical in self._function_specs():
            role_name = f"{self.stack_name}-{logical}Role"
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            self.physical[f"{logical}Role"] = role_name
            self.attributes[(f"{logical}Role", "Arn")] = arn

    def _deploy_alarms(self) -> None:
        """CloudWatch alarms with their names, metrics and actions (moto keeps them in OK / INSUFFICIENT_DATA)."""
        cloudwatch = self.client("cloudwatch")
        for logical, spec in self._resources("AWS::CloudWatch::Alarm").items():
            props = self._resolve(spec["Properties"])
            name = props.get("AlarmName") or f"{self.stack_name}-{logical}"
            fields = ("AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "Metrics",
                      "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions")  # fmt: skip
            arguments = {field: props[field] for field in fields if field in props}
            for number in ("Period", "EvaluationPeriods"):
                if number in arguments:
                    arguments[number] = int(arguments[number])
            for query in arguments.get("Metrics", []):  # metric math: YAML gives strings where the API wants numbers
                if "MetricStat" in query:
                    query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
            arguments["Threshold"] = float(arguments["Threshold"])
            cloudwatch.put_metric_alarm(AlarmName=name, **arguments)
            self.physical[logical] = name
            self.attributes[(logical, "Arn")] = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    def _deploy_functions(self) -> None:
        iam, awslambda = self.client("iam"), self.client("lambda")
        globals_ = self.template.get("Globals", {}).get("Function", {})
        functions = self._function_specs()
        for logical in functions:
            name = f"{self.stack_name}-{logical}"
            self.physical[logical] = name
            self.attributes[(logical, "Arn")] = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
            # SAM's rules for a function's events, referable by these logical ids (the tamper rule names them);
            # the twin invokes such functions itself (SpokeHealth: Organization.heartbeat / check_spokes)
            for event_name, event_spec in functions[logical]["Properties"].get("Events", {}).items():
                if event_spec["Type"] in ("EventBridgeRule", "Schedule"):
                    self.physical[f"{logical}{event_name}"] = f"{name}{event_name}"
        for logical, spec in functions.items():
            props = spec["Properties"]
            name = self.physical[logical]
            env = {
                **self._resolve(globals_.get("Environment", {}).get("Variables", {})),
                **self._resolve(props.get("Environment", {}).get("Variables", {})),
            }
            env["POWERTOOLS_LOG_LEVEL"] = self.log_level
            for index, policy in enumerate(self._resolve(props.get("Policies", []))):
                if isinstance(policy, dict) and "Statement" in policy:
                    iam.put_role_policy(
                        RoleName=self.physical[f"{logical}Role"], PolicyName=f"{logical}Policy{index}", PolicyDocument=json.dumps(policy)
                    )
            awslambda.create_function(
                FunctionName=name,
                Runtime=props.get("Runtime", globals_.get("Runtime")),
                Role=self.attributes[(f"{logical}Role", "Arn")],
                Handler=props["Handler"],
                Code={"ZipFile": _placeholder_zip()},
                Timeout=int(props.get("Timeout", globals_.get("Timeout", 30))),
                MemorySize=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                Environment={"Variables": {k: str(v) for k, v in env.items()}},
                Architectures=globals_.get("Architectures", ["x86_64"]),
            )
            self.functions[name] = {
                "logical": logical,
                "code": ROOT / props["CodeUri"],
                "handler": props["Handler"],
                "env": {k: str(v) for k, v in env.items()},
                "timeout": int(props.get("Timeout", globals_.get("Timeout", 30))),
                "memory": int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            }

    def _deploy_state_machines(self) -> None:
        """Each state machine after those its definition names (the Express one starts the Standard one)."""
        pending = dict(self._resources("AWS::Serverless::StateMachine"))
        while pending:
            ready = [name for name, spec in pending.items()
                     if not (_references(spec["Properties"].get("DefinitionSubstitutions", {})) & set(pending))]  # fmt: skip
            if not ready:
                raise ValueError(f"state machines name each other: {sorted(pending)}")
            for logical in ready:
                self._deploy_state_machine(logical, pending.pop(logical))

    def _deploy_state_machine(self, logical: str, spec: dict) -> None:
        sfn, events = self.client("stepfunctions"), self.client("events")
        props = spec["Properties"]
        definition = (ROOT / props["DefinitionUri"]).read_text()
        for key, value in self._resolve(props.get("DefinitionSubstitutions", {})).items():
            definition = definition.replace("${" + key + "}", str(value))
        leftover = re.findall(r"\$\{[A-Za-z]+\}", definition)
        if leftover:
            raise ValueError(f"definition substitutions missing for {leftover}")
        role_arn = self.client("iam").create_role(
            RoleName=f"{self.stack_name}-{logical}Role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        arn = sfn.create_state_machine(
            name=f"{self.stack_name}-{logical}", definition=definition, roleArn=role_arn, type=props.get("Type", "STANDARD")
        )["stateMachineArn"]
        self.physical[logical] = arn
        self.attributes[(logical, "Name")] = f"{self.stack_name}-{logical}"
        if props.get("Events"):  # the one every event starts (Express)
            self.state_machine_arn = arn
        else:  # the one Triage hands over to (Standard)
            self.long_running_arn = arn
        for event_name, event_spec in props.get("Events", {}).items():
            if event_spec["Type"] != "EventBridgeRule":
                continue
            rule_name = f"{self.stack_name}-{logical}{event_name}"
            self.physical[f"{logical}{event_name}"] = rule_name  # SAM's rule, referable by this logical id
            pattern = self._resolve(event_spec["Properties"]["Pattern"])
            state = self._resolve(event_spec["Properties"].get("State", "ENABLED"))
            bus = self._resolve(event_spec["Properties"].get("EventBusName"))  # organization mode's hub bus
            on_bus = {"EventBusName": bus} if isinstance(bus, str) else {}
            events.put_rule(Name=rule_name, EventPattern=json.dumps(pattern), State=state, **on_bus)
            if state == "ENABLED":  # a disabled rule delivers nothing
                self.rules[rule_name] = pattern

    def _deploy_topic_rules(self) -> None:
        """The template's own AWS::Events::Rule resources (Warden's tamper alerts): their targets
        are the topic, with an input transformer."""
        events = self.client("events")
        for logical, spec in self._resources("AWS::Events::Rule").items():
            props = self._resolve(spec["Properties"])
            name = props.get("Name") or f"{self.stack_name}-{logical}"
            arn = events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props.get("State", "ENABLED"))["RuleArn"]
            events.put_targets(Rule=name, Targets=props["Targets"])
            self.physical[logical] = name
            self.attributes[(logical, "Arn")] = arn
            if props.get("State", "ENABLED") == "ENABLED":
                self.topic_rules[name] = {"pattern": props["EventPattern"], "targets": props["Targets"], "arn": arn}

    def _subscribe_inbox(self) -> None:
        """An SQS queue subscribed to the topic stands in for on-call's inbox."""
        sqs, sns = self.client("sqs"), self.client("sns")
        self.inbox_url = sqs.create_queue(QueueName="twin-on-call-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for topic in self._resources("AWS::SNS::Topic"):
            sns.subscribe(TopicArn=self.physical[topic], Protocol="sqs", Endpoint=inbox_arn)

    # ------------------------------------------------------------------ the Lambda runtime, in-process

    def _handler(self, name: str):
        if name not in self._handlers:
            spec = self.functions[name]
            module_file = spec["code"] / (spec["handler"].rsplit(".", 1)[0] + ".py")
            module_spec = importlib.util.spec_from_file_location(f"warden_fn_{spec['logical']}", module_file)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
            self._handlers[name] = getattr(module, spec["handler"].rsplit(".", 1)[1])
        return self._handlers[name]

    def _invoke(self, function, event) -> tuple[str, bool, str]:
        """What moto calls instead of a Docker container: run the real handler here."""
        name = function.function_name
        spec = self.functions[name]
        if isinstance(event, str):
            event = json.loads(event or "{}")
        context = _Context(name, self.attributes[(spec["logical"], "Arn")], spec["memory"], spec["timeout"])
        with self._invoke_lock, mock.patch.dict(os.environ, spec["env"]):
            handler = self._handler(name)  # imported outside the capture so loggers keep real stdout
            emf = io.StringIO()
            try:
                with redirect_stdout(emf):  # Powertools Metrics prints EMF to stdout, as in Lambda
                    result = handler(event, context)
                return json.dumps(result), False, ""
            except Exception as error:  # the Lambda runtime reports errors as JSON, so do we
                payload = {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
                return json.dumps(payload), True, ""
            finally:
                self.emitted_metrics += [json.loads(line) for line in emf.getvalue().splitlines() if line.startswith("{")]

    def invoke(self, logical_id: str, event: dict) -> dict:
        """Invoke one function through the Lambda API (e.g. Notify with an alarm action event)."""
        response = self.client("lambda").invoke(FunctionName=self.physical[logical_id], Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{logical_id} failed: {payload}")
        return payload

    # ------------------------------------------------------------------ events in, outcomes out

    def matching_rules(self, event: Any) -> list[str]:
        """The rules whose pattern matches, by moto's implementation of EventBridge matching
        (moto does not implement the TestEventPattern API itself)."""
        from moto.events.models import EventPattern

        if not isinstance(event, dict):
            return []
        view = _arrays_flattened(event)
        patterns = {**self.rules, **{name: rule["pattern"] for name, rule in self.topic_rules.items()}}
        # A rule someone disabled (events:DisableRule on the twin) delivers nothing, as in EventBridge.
        disabled = {r["Name"] for r in self.client("events").list_rules(Limit=100)["Rules"] if r["State"] != "ENABLED"}
        return [
            name
            for name, pattern in patterns.items()
            if name not in disabled and EventPattern.load(json.dumps(pattern)).matches_event(view)
        ]

    def send(self, event: Any) -> Result:
        """Put an event on the bus: every matching workflow rule starts the workflow, every matching
        topic rule publishes its transformed input, as EventBridge would."""
        inbox_before = self._drain_inbox()
        assert not inbox_before, "inbox should be empty between sends"
        matched = self.matching_rules(event)
        for name in (m for m in matched if m in self.topic_rules):
            self._publish(self.topic_rules[name], name, event)
        executions = [self._run(event, rule) for rule in matched if rule in self.rules]
        return self._result(event, matched, executions)

    def _publish(self, rule: dict, name: str, event: dict) -> None:
        """EventBridge delivering to an SNS target: the input transformer's output is the message."""
        sns = self.client("sns")
        for target in rule["targets"]:
            transformer = target.get("InputTransformer")
            text = transformed_input(transformer, event, name, rule["arn"]) if transformer else json.dumps(event)
            sns.publish(TopicArn=target["Arn"], Message=text)

    def start_execution(self, event: Any) -> Result:
        """Start the workflow directly with any input, bypassing the rules (e.g. a DLQ replay)."""
        self._drain_inbox()
        return self._result(event, [], [self._run(event, None)])

    def _result(self, event: Any, matched: list[str], executions: list[Execution]) -> Result:
        notifications = self._drain_inbox()
        finding_ids = {(e.triage or {}).get("finding", {}).get("id") for e in executions} - {None}
        from warden import audit

        with mock.patch.dict(os.environ, {"WARDEN_AUDIT_TABLE": self.physical["AuditTable"]}):
            records = [record for fid in sorted(finding_ids) if (record := audit.read(fid))]
        return Result(event, matched, executions, notifications, records)

    def _executions_joinable(self):
        """moto runs each execution in a thread of its own; keep it per execution ARN, so that the twin
        waits for the end of the run by joining it rather than polling DescribeExecution."""
        from moto.stepfunctions.parser.backend import execution_worker

        threads = self._execution_threads

        def start(worker) -> None:
            thread = threading.Thread(target=worker._execution_logic, daemon=True)
            execution_worker.TMP_THREADS.append(thread)
            threads[worker._evaluation_details.execution_details.arn] = thread
            thread.start()

        return mock.patch.object(execution_worker.ExecutionWorker, "start", start)

    def standard_execution(self, express_arn: str) -> str:
        """The ARN of the Standard execution an Express one hands over to: the same name."""
        return f"{self.long_running_arn.replace(':stateMachine:', ':execution:')}:{express_arn.split(':')[7]}"

    def settle(self, timeout: float = 60) -> None:
        """Wait for every execution started so far, and those they start (a sweep's, a hand-over)."""
        deadline = time.monotonic() + timeout
        while running := [t for t in list(self._execution_threads.values()) if t.is_alive()]:
            running[0].join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(running)} executions still running after {timeout}s")

    def _run(self, event: Any, rule: str | None, timeout: float = 60) -> Execution:
        sfn = self.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=self.state_machine_arn, name=str(uuid.uuid4()), input=json.dumps(event))["executionArn"]
        return dataclasses.replace(self.execution(arn, timeout), rule=rule)

    def execution(self, arn: str, timeout: float = 60) -> Execution:
        """An Express execution once it ended, followed into the Standard one it handed over to."""
        express = self._finished(arn, timeout)
        if express.status != "SUCCEEDED" or express.states[-1:] not in (["HandOver"], ["TriageAgainInStandard"]):
            return dataclasses.replace(express, express_states=express.states)
        standard = self._finished(self.standard_execution(arn), timeout)
        return Execution(None, arn, standard.status, express.states + standard.states, standard.triage, standard.output,
                         standard.error, standard.cause, express.history + standard.history, standard.arn, express.states)  # fmt: skip

    def _finished(self, arn: str, timeout: float) -> Execution:
        """One execution once it ended, read from moto's own record: real Step Functions keeps no
        history of an Express execution (its API refuses on the twin too, local/moto_patches.py)."""
        from moto.stepfunctions.responses import get_backend

        thread = self._execution_threads.pop(arn, None)
        if thread is not None:
            thread.join(timeout)
        execution = get_backend(arn.split(":")[4], arn.split(":")[3]).describe_execution(arn)
        deadline = time.monotonic() + timeout
        while (described := execution.to_describe_output())["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {arn} still running after {timeout}s")
            time.sleep(0.02)
        history = json.loads(json.dumps(execution.to_history_output()["events"], default=str))
        states, triage = [], None
        for item in history:
            if "stateEnteredEventDetails" in item:
                states.append(item["stateEnteredEventDetails"]["name"])
            exited = item.get("stateExitedEventDetails")
            if exited and exited["name"] == "Triage":
                triage = json.loads(exited.get("output") or "null")
        output = json.loads(described["output"]) if described.get("output") else None
        status = getattr(described["status"], "value", described["status"])
        return Execution(None, arn, status, states, triage, output, described.get("error"), described.get("cause"), history)

    def _drain_inbox(self) -> list[dict[str, Any]]:
        sqs, messages = self.client("sqs"), []
        while True:
            batch = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                envelope = json.loads(message["Body"])
                messages.append(
                    {
                        "subject": envelope.get("Subject"),
                        "body": envelope["Message"],
                        "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                    }
                )
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])


def _references(node: Any) -> set[str]:
    """The logical ids a template value names with Ref or GetAtt."""
    if isinstance(node, dict):
        named = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        if isinstance(node.get("Fn::GetAtt"), list):
            named.add(node["Fn::GetAtt"][0])
        return named.union(*(_references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node))
    return set()


def transformed_input(transformer: dict, event: dict, rule_name: str, rule_arn: str) -> str:
    """An input transformer's output for `event`: each <variable> of InputTemplate replaced by the
    value at its InputPathsMap JSON path (strings as they are, anything else as JSON), plus
    EventBridge's predefined variables. The twin renders a path missing from the event as an empty
    string."""
    values = {
        "aws.events.rule-name": rule_name,
        "aws.events.rule-arn": rule_arn,
        "aws.events.event.json": json.dumps(event),
    }
    for variable, path in transformer.get("InputPathsMap", {}).items():
        node: Any = event
        for key in path.removeprefix("$.").split(".") if path != "$" else []:
            node = node.get(key) if isinstance(node, dict) else None
        values[variable] = "" if node is None else node if isinstance(node, str) else json.dumps(node)
    return re.sub(r"<([A-Za-z0-9_.\-]+)>", lambda m: values.get(m.group(1), m.group(0)), transformer["InputTemplate"])


def _arrays_flattened(node: Any) -> Any:
    """The event as EventBridge matches it: an array of objects acts as one object whose fields
    hold every element's values (moto's matcher does not descend into arrays; Security Hub's
    detail.findings is one)."""
    if isinstance(node, dict):
        return {key: _arrays_flattened(value) for key, value in node.items()}
    if isinstance(node, list) and any(isinstance(item, dict) for item in node):
        merged: dict[str, list] = {}
        for item in (i for i in node if isinstance(i, dict)):
            for key, value in item.items():
                merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
        return {key: _arrays_flattened(values) if any(isinstance(v, dict) for v in values) else values
                for key, values in merged.items()}
    return node


@functools.lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    """One session for every twin: its loader keeps botocore's parsed service models (moto resets
    boto3's default session, which would otherwise reload them for each twin)."""
    return boto3.session.Session()


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def _placeholder_zip() -> bytes:
    """moto wants a code package; the twin runs the handler from the source tree instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process from the repository")
    return buffer.getvalue()


def load_event(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


__all__ = ["Twin", "Result", "Execution", "load_event", "transformed_input"]
