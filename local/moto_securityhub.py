"""TWIN-ONLY gap filler: Security Hub BatchUpdateFindings, which moto 5.2.5 does not implement,
and the account check BatchImportFindings makes, which moto does not.

Nothing here is Warden code. It answers as the real API does for what Warden sends:
PATCH /findings/batchupdate with FindingIdentifiers, Workflow and Note; a finding is matched by
Id *and* ProductArn; a finding Security Hub does not hold comes back in UnprocessedFindings
(ErrorCode FindingNotFound) rather than failing the call; Note gets UpdatedAt; a hub that is
not enabled is InvalidAccessException. Any other field raises, so nothing is ignored silently.

BatchImportFindings: with a default product (`product/<account>/default`, a custom integration such
as Warden's), AWS accepts a finding only from that account and only with AwsAccountId equal to it
("the identifier of the account that you are calling BatchImportFindings from needs to be the same
as the AwsAccountId attribute for the finding"); others come back in FailedFindings. AWS's own
products (`product/aws/...`) are left as moto has them: the twin imports through them what Security
Hub itself would hold, a member's control findings aggregated in the administrator included.
Applied by local.twin.Twin only.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime, timezone
from unittest import mock

_MODELLED = {"FindingIdentifiers", "Workflow", "Note"}


def _batch_update_findings(self) -> str:
    from moto.securityhub.exceptions import InvalidInputException
    from moto.securityhub.exceptions import SecurityHubClientError

    backend = self.securityhub_backend
    if not backend.enabled:
        raise SecurityHubClientError("InvalidAccessException", "Account is not subscribed to AWS Security Hub")
    request = json.loads(self.body or "{}")
    unmodelled = sorted(set(request) - _MODELLED)
    if unmodelled:
        raise InvalidInputException(op="BatchUpdateFindings", msg=f"the twin does not model {unmodelled} (local/moto_securityhub.py)")
    processed, unprocessed = [], []
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for identifier in request.get("FindingIdentifiers") or []:
        held = next(
            (f for f in backend.findings if f.id == identifier["Id"] and f.data.get("ProductArn") == identifier["ProductArn"]),
            None,
        )
        if held is None:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding not found"})
            continue
        if "Workflow" in request:
            held.data["Workflow"] = dict(request["Workflow"])
        if "Note" in request:
            held.data["Note"] = {**request["Note"], "UpdatedAt": now}
        processed.append(identifier)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


def _default_product_refusal(finding: dict, caller: str) -> str | None:
    product = str(finding.get("ProductArn", ""))
    if not product.endswith("/default") or ":product/aws/" in product:
        return None
    owner = product.rsplit("/", 2)[-2]
    if owner != caller or finding.get("AwsAccountId") != caller:
        return (
            f"account {caller} may import findings of the default product only as {caller} "
            f"(ProductArn {product}, AwsAccountId {finding.get('AwsAccountId')})"
        )
    return None


def _checked_import(original):
    def batch_import_findings(backend, findings):
        refused = [(f, _default_product_refusal(f, backend.account_id)) for f in findings]
        failed = [{"Id": f.get("Id", ""), "ErrorCode": "AccessDeniedException", "ErrorMessage": why} for f, why in refused if why]
        failed_count, success_count, failed_findings = original(backend, [f for f, why in refused if not why])
        return failed_count + len(failed), success_count, failed_findings + failed

    return batch_import_findings


def patched() -> ExitStack:
    """Apply the gap filler for as long as the returned stack is open (before mock_aws starts)."""
    from moto.securityhub import urls
    from moto.securityhub.models import SecurityHubBackend
    from moto.securityhub.responses import SecurityHubResponse

    stack = ExitStack()
    stack.enter_context(mock.patch.dict(urls.url_paths, {"{0}/findings/batchupdate$": SecurityHubResponse.dispatch}))
    stack.enter_context(mock.patch.object(SecurityHubResponse, "batch_update_findings", _batch_update_findings, create=True))
    stack.enter_context(
        mock.patch.object(SecurityHubBackend, "batch_import_findings", _checked_import(SecurityHubBackend.batch_import_findings))
    )
    return stack
