"""TWIN-ONLY gap fillers: the few API Gateway and SageMaker behaviours moto 5.2.5 lacks that Warden calls.

Nothing here is Warden code; it only makes moto answer these calls as the real services do, so
the throttle's HTTP API path, its "no limit set" restores and SageMaker's missing-resource errors
run end to end on the twin:

- apigatewayv2 UpdateStage: not implemented by moto. Real API Gateway treats it as a PATCH:
  DefaultRouteSettings and each RouteSettings entry are merged field by field, a field absent from
  the request keeps its value (so a throttle, once set, cannot be unset this way: AWS support's
  answer is to set the account-level limits), routes not named keep their settings, a route key
  the API does not have is NotFoundException, a missing API or stage is NotFoundException.
- apigatewayv2 GetStage/UpdateStage: real responses carry the tags set with TagResource; moto
  keeps those apart from the stage and returns only the tags given at CreateStage.
- apigateway (REST) UpdateStage: moto ignores `remove` on method settings. Real API Gateway
  removes a method setting with `remove /{resource}/{method}`; `remove` of one field
  (`/{resource}/{method}/throttling/rateLimit`) pops just that field here.

- sagemaker ListTags/AddTags on a resource that does not exist: moto crashes (AttributeError on
  None); real SageMaker answers ValidationException (aws/amazon-sagemaker-feedback#108).
- sagemaker UpdateNotebookInstance: not implemented by moto, and DescribeNotebookInstance lacks
  InstanceMetadataServiceConfiguration. Real SageMaker updates a notebook only when it is Stopped or
  Failed (ValidationException otherwise), and reports its defaults for what the create call left out
  (RootAccess and DirectInternetAccess "Enabled", MinimumInstanceMetadataServiceVersion "1"); moto
  reports null. Only RootAccess and InstanceMetadataServiceConfiguration are modelled:
  any other field is a ValidationException naming this file, not silently ignored.

- stepfunctions, the `arn:aws:states:::states:startExecution` task: moto hands the task's
  parameters to boto3 as the ASL names them (StateMachineArn, Name, Input); real Step Functions
  maps them to the API's (stateMachineArn, name, input), so moto's call failed on every key.
- stepfunctions DescribeExecution, GetExecutionHistory of an Express execution: moto answers as for
  a Standard one; real Step Functions keeps no such record of an Express execution and refuses
  (InvalidArn, "Resource type not valid in this context: express"). Refusing here proves no Warden
  code (Notify's check of a failed Triage) depends on it. The twin itself reads moto's own record.

Only the request fields the throttle sends are modelled: any other UpdateStage field raises
BadRequestException rather than being ignored silently. Applied by local.twin.Twin only.
"""

from __future__ import annotations

import json
from datetime import datetime
from contextlib import ExitStack
from typing import Any
from unittest import mock

# UpdateStage request fields (wire names) this twin models; see the module docstring.
_MODELLED = {"defaultRouteSettings", "routeSettings"}


def _stage_arn(backend, api_id: str, stage_name: str) -> str:
    return f"arn:aws:apigateway:{backend.region_name}::/apis/{api_id}/stages/{stage_name}"


def _stage_json(backend, api_id: str, stage) -> dict[str, Any]:
    body = stage.to_json()
    body["tags"] = {**(stage.tags or {}), **backend.get_tags(_stage_arn(backend, api_id, stage.name))}
    return body


def _update_http_stage(backend, api_id: str, stage_name: str, request: dict[str, Any]):
    from moto.apigatewayv2.exceptions import APIGatewayV2Error, BadRequestException

    api = backend.get_api(api_id)  # NotFoundException: Invalid API identifier specified
    stage = api.get_stage(stage_name)  # NotFoundException: Invalid stage identifier specified
    unmodelled = sorted(set(request) - _MODELLED)
    if unmodelled:
        raise BadRequestException(f"the twin's UpdateStage does not model {unmodelled} (local/moto_patches.py)")
    route_keys = {route.route_key for route in api.routes.values()}
    for key in request.get("routeSettings") or {}:
        if key not in route_keys:
            error = APIGatewayV2Error("NotFoundException", f"Unable to find Route by key {key} within the provided RouteSettings")
            error.code = 404
            raise error
    if "defaultRouteSettings" in request:
        stage.default_route_settings = {**(stage.default_route_settings or {}), **request["defaultRouteSettings"]}
    for key, settings in (request.get("routeSettings") or {}).items():
        stage.route_settings = {**stage.route_settings, key: {**stage.route_settings.get(key, {}), **settings}}
    stage.updated = datetime.now()
    return stage


def _http_update_stage_response(self):
    """ApiGatewayV2Response.update_stage: PATCH /v2/apis/{apiId}/stages/{stageName}."""
    from urllib.parse import unquote

    parts = self.path.split("/")
    api_id, stage_name = parts[-3], unquote(parts[-1])
    stage = _update_http_stage(self.apigatewayv2_backend, api_id, stage_name, json.loads(self.body or "{}"))
    return 200, {}, json.dumps(_stage_json(self.apigatewayv2_backend, api_id, stage))


def _http_get_stage_response(self):
    from urllib.parse import unquote

    parts = self.path.split("/")
    api_id, stage_name = parts[-3], unquote(parts[-1])
    stage = self.apigatewayv2_backend.get_stage(api_id, stage_name)
    return 200, {}, json.dumps(_stage_json(self.apigatewayv2_backend, api_id, stage))


def _rest_apply_operations(original):
    def apply_operations(self, patch_operations: list[dict[str, Any]]):
        rest = []
        for op in patch_operations:
            parts = op["path"].split("/", 3)  # "", resource, method[, setting]
            if op["op"] != "remove" or len(parts) < 3 or "variables" in parts[1:3] or parts[1] == "accessLogSettings":
                rest.append(op)
                continue
            key = "/".join(parts[1:3])
            if len(parts) == 3:
                self.method_settings.pop(key, None)  # the method inherits the stage's settings again
            elif key in self.method_settings:
                field = self._method_settings_translations(parts[3])
                self.method_settings[key].pop(field, None)
        return original(self, rest)

    return apply_operations


def _sagemaker_resource_or_validation_error(original):
    def get_resource_from_arn(self, arn: str):
        from moto.sagemaker.exceptions import ValidationError

        resource = original(self, arn)
        if resource is None:
            raise ValidationError(message=f"Could not find resource {arn}")
        return resource

    return get_resource_from_arn


# UpdateNotebookInstance request fields this twin models; see the module docstring.
_NOTEBOOK_UPDATE_MODELLED = {"NotebookInstanceName", "RootAccess", "InstanceMetadataServiceConfiguration"}


def _update_notebook_instance(self):
    """SageMakerResponse.update_notebook_instance (JSON protocol)."""
    from moto.core.responses import ActionResult, EmptyResult  # noqa: F401
    from moto.sagemaker.exceptions import ValidationError

    request = json.loads(self.body or "{}")
    notebook = self.sagemaker_backend.get_notebook_instance(request.get("NotebookInstanceName"))
    unmodelled = sorted(set(request) - _NOTEBOOK_UPDATE_MODELLED)
    if unmodelled:
        raise ValidationError(message=f"the twin's UpdateNotebookInstance does not model {unmodelled} (local/moto_patches.py)")
    if notebook.status not in ("Stopped", "Failed"):
        raise ValidationError(
            message=f"Status ({notebook.status}) not in ([Stopped, Failed]). Unable to transition to (Updating) "
            f"for Notebook Instance ({notebook.arn})."
        )
    if "RootAccess" in request:
        notebook.root_access = request["RootAccess"]
    if "InstanceMetadataServiceConfiguration" in request:
        notebook.minimum_imds_version = request["InstanceMetadataServiceConfiguration"]["MinimumInstanceMetadataServiceVersion"]
    return EmptyResult()


def _notebook_to_dict(original):
    def to_dict(self):
        version = getattr(self, "minimum_imds_version", "1")
        described = original(self)
        return {
            **described,
            # AWS reports its defaults for settings the create call left out; moto reports null.
            "RootAccess": described.get("RootAccess") or "Enabled",
            "DirectInternetAccess": described.get("DirectInternetAccess") or "Enabled",
            "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": version},
        }

    return to_dict


def _start_execution_parameters(original):
    def normalise(self, parameters: dict, boto_service_name=None, service_action_name=None) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        if service_action_name is None and self._get_boto_service_action() == "start_execution":
            for key in [k for k in parameters if k[:1].isupper()]:
                parameters[key[0].lower() + key[1:]] = parameters.pop(key)

    return normalise


def _standard_only(original):
    """A Step Functions API that real AWS answers for Standard executions only."""

    def respond(self):
        from moto.stepfunctions.exceptions import InvalidArn

        arn = self._get_param("executionArn") or ""
        try:
            machine = self.stepfunction_backend._get_state_machine_for_execution(arn)
        except Exception:  # noqa: BLE001 - moto's own answer (no such execution) follows
            return original(self)
        if getattr(machine, "type", "STANDARD") == "EXPRESS":
            raise InvalidArn("Invalid Arn: 'Resource type not valid in this context: express'")
        return original(self)

    return respond


def patched() -> ExitStack:
    """Apply the gap fillers for as long as the returned stack is open."""
    from moto.apigateway.models import Stage as RestStage
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    stack = ExitStack()
    stack.enter_context(mock.patch.object(ApiGatewayV2Response, "update_stage", _http_update_stage_response, create=True))
    stack.enter_context(mock.patch.object(ApiGatewayV2Response, "get_stage", _http_get_stage_response))
    stack.enter_context(mock.patch.object(RestStage, "apply_operations", _rest_apply_operations(RestStage.apply_operations)))
    from moto.sagemaker.models import SageMakerModelBackend

    original = SageMakerModelBackend._get_resource_from_arn
    stack.enter_context(mock.patch.object(SageMakerModelBackend, "_get_resource_from_arn", _sagemaker_resource_or_validation_error(original)))
    from moto.sagemaker.models import FakeSagemakerNotebookInstance
    from moto.sagemaker.responses import SageMakerResponse

    stack.enter_context(mock.patch.object(SageMakerResponse, "update_notebook_instance", _update_notebook_instance, create=True))
    to_dict = FakeSagemakerNotebookInstance.to_dict
    stack.enter_context(mock.patch.object(FakeSagemakerNotebookInstance, "to_dict", _notebook_to_dict(to_dict)))
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import StateTaskServiceSfn
    from moto.stepfunctions.responses import StepFunctionResponse

    normalise = StateTaskServiceSfn._normalise_parameters
    stack.enter_context(mock.patch.object(StateTaskServiceSfn, "_normalise_parameters", _start_execution_parameters(normalise)))
    for name in ("describe_execution", "get_execution_history"):
        stack.enter_context(mock.patch.object(StepFunctionResponse, name, _standard_only(getattr(StepFunctionResponse, name))))
    return stack
