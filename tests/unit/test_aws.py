"""warden.aws: a call that keeps failing raises its AWS error before the function times out; every
client Warden creates is for a service whose botocore data the layer ships."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.retries import standard

from slim_botocore import SERVICES
from tests.unit.test_template import RESOURCES, TEMPLATE
from warden import aws

ROOT = Path(__file__).resolve().parents[2]

# What a function does besides the one failing call: cold start, the other (successful) calls,
# the audit write. The failing call's worst case must leave at least this much of the timeout.
RESERVE_SECONDS = 5


class _AlwaysThrottled:
    """Makes botocore pick its largest backoff scale (throttling errors back off 20x longer)."""

    def is_throttling_error_from_context(self, context) -> bool:
        return True


def _worst_backoff(attempt_number: int) -> float:
    """botocore's own delay before retry `attempt_number`, with its random factor at 1 and, where
    the installed botocore honours it, an enormous x-amz-retry-after header."""
    backoff = standard.ExponentialBackoff(random=lambda: 1.0, throttling_detector=_AlwaysThrottled())
    response = SimpleNamespace(headers={"x-amz-retry-after": str(10**9)}, status_code=429)
    context = standard.RetryContext(attempt_number=attempt_number, http_response=response)
    return backoff.delay_amount(context)


def worst_case_call_seconds() -> float:
    """The longest one call can take before botocore gives up and raises, as the clients are configured."""
    client = aws.client("s3", "us-east-1")
    config = client.meta.config
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard"
    per_attempt = config.connect_timeout + config.read_timeout
    # MaxAttemptsChecker retries while attempt_number < total_max_attempts: a backoff after each
    # attempt but the last.
    return attempts * per_attempt + sum(_worst_backoff(n) for n in range(1, attempts))


def function_timeouts() -> dict[str, int]:
    default = TEMPLATE["Globals"]["Function"]["Timeout"]
    return {
        name: resource["Properties"].get("Timeout", default)
        for name, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_backoff_formula_is_the_one_the_budget_assumes():
    """random() * min(2 ** (attempt - 1), 20): 1 s, 2 s, 4 s... capped at 20 s. If botocore changes
    it (or adds Retry-After), the budget below is recomputed from botocore, not from this list."""
    assert [_worst_backoff(n) for n in (1, 2, 3, 6)] in ([1, 2, 4, 20], [6, 7, 9, 25])


@pytest.mark.parametrize("function, timeout", sorted(function_timeouts().items()))
def test_a_failing_call_raises_its_error_within_the_function_timeout(function, timeout):
    worst = worst_case_call_seconds()
    assert worst + RESERVE_SECONDS <= timeout, (
        f"{function}: one call can take {worst:.0f} s (attempts x timeouts + backoffs) "
        f"of its {timeout} s; a persistently throttled call would end as a Lambda timeout"
    )


def test_the_budget_is_what_aws_py_documents():
    # 3 attempts x (2 s + 4 s) + 1 s + 2 s of backoff
    assert worst_case_call_seconds() == 21


def test_hung_calls_time_out():
    """Without explicit timeouts botocore waits 60 s to connect and 60 s per read."""
    config = aws.client("dynamodb", "us-east-1").meta.config
    assert 0 < config.connect_timeout <= 5 and 0 < config.read_timeout <= 10


def test_warden_treats_as_throttling_every_code_botocore_retries_as_throttling():
    """A read still throttled after the client's retries becomes RetryLater (the workflow retries the
    step); the codes must stay those botocore itself recognises, plus SNS's Throttled."""
    from botocore.retries.standard import ThrottledRetryableChecker

    from warden.remediations.base import THROTTLED

    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= set(THROTTLED)


def clients_created() -> tuple[set[str], list[str]]:
    """The services of every `client("...")` call in the code the layer and the functions ship, and
    where a call names its service otherwise (only warden/aws.py may: it passes the name on)."""
    services, unnamed = set(), []
    for source in sorted([*(ROOT / "layers" / "warden" / "warden").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call) or getattr(node.func, "attr", getattr(node.func, "id", None)) != "client":
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                services.add(first.value)
            elif source.name != "aws.py":
                unnamed.append(f"{source.relative_to(ROOT)}:{node.lineno}")
    return services, unnamed


def test_the_layer_ships_botocore_data_for_exactly_the_services_warden_calls():
    """layers/warden/slim_botocore.py deletes every other service's data from the layer: a client for
    a service not listed there would fail in Lambda (UnknownServiceError) while passing here."""
    services, unnamed = clients_created()
    assert unnamed == [], "name the service in the call, and list it in slim_botocore.SERVICES"
    powertools = {"ssm", "dynamodb"}  # Parameters (the settings) and Idempotency create their own clients
    assert services | powertools == SERVICES
