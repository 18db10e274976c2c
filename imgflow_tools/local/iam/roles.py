"""Each function's and state machine's role, trust policy, policies and environment, from the template.

The synthesized template (``template.py``) is read, never a hand-written list: every ``AWS::Lambda::Function``
and ``AWS::StepFunctions::StateMachine`` the local stack deploys is found by its handler (the state machines:
by the stack outputs that name them), and its role's ``AWS::IAM::Policy`` documents, trust policy and
``Environment.Variables`` are resolved to the names LocalCloud deploys: ``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Sub``, ``Fn::Select`` and ``Fn::Split`` of buckets, the table, functions, state machines
and queues, and the pseudo parameters. A deployed state machine's name (``imgflow-dev-ingest``) written into
an ARN becomes the local one (``imgflow-ingest``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from imgflow.config import Settings
from imgflow.workflow.functions import REPROCESS_FUNCTION, TASKS

ACCOUNT = "123456789012"
REGION = "us-east-1"
API_HANDLER = "api.handler.lambda_handler"
#: The role metadata that names grants imgflow's code never calls, with the reason (infra/grants.py).
UNCALLED_KEY = "imgflow:uncalled"
#: The stack outputs that name the two state machines, and their local names.
STATE_MACHINE_OUTPUTS = {
    "IngestStateMachineArn": "imgflow-ingest",
    "ReprocessStateMachineArn": "imgflow-reprocess",
}
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": "",
}


def machine_principal(machine: str) -> str:
    """The principal (and role) name of a state machine: ``<machine>-machine``. A state machine and a
    function may share a name (``imgflow-reprocess`` is both), so their roles are kept apart."""
    return f"{machine}-machine"


def local_function_names() -> dict[str, str]:
    """Handler -> the local name of the function that runs it (``imgflow-<task>``, ``imgflow-api``)."""
    names = {spec.handler: f"imgflow-{spec.name}" for spec in (*TASKS, REPROCESS_FUNCTION)}
    names[API_HANDLER] = "imgflow-api"
    return names


@dataclass(frozen=True)
class Role:
    """One role as the local stack knows it (names and ARNs resolved to the local ones)."""

    name: str
    arn: str
    logical_id: str
    #: The trust policy (AssumeRolePolicyDocument), resolved.
    trust: dict[str, Any]
    #: Every policy document attached to the role (AWS::IAM::Policy and inline Policies), resolved.
    policies: tuple[dict[str, Any], ...]
    #: (action pattern, resource pattern) -> why imgflow's code never calls it (``imgflow:uncalled``).
    uncalled: dict[tuple[str, str], str] = field(default_factory=dict)

    def trusts(self, service: str) -> bool:
        """Whether ``service`` (e.g. ``lambda.amazonaws.com``) may assume the role."""
        for statement in self.trust.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            principals = (statement.get("Principal") or {}).get("Service", [])
            principals = [principals] if isinstance(principals, str) else principals
            if "sts:AssumeRole" in actions and service in principals:
                return True
        return False


@dataclass
class StackModel:
    """What the template says about each principal of the local stack."""

    #: Local function or state machine name -> its role.
    roles: dict[str, Role] = field(default_factory=dict)
    #: Local function name -> its resolved environment variables.
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Local name -> the service that assumes its role.
    services: dict[str, str] = field(default_factory=dict)
    #: The local names of the template's SQS queues (an environment may name them: the upload DLQ's URL).
    queues: list[str] = field(default_factory=list)


class Resolver:
    """Resolves CloudFormation intrinsics of the template to the local stack's names."""

    def __init__(self, template: Mapping[str, Any], settings: Settings) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        outputs = template.get("Outputs", {})
        self.names: dict[str, str] = {}  # logical id -> local physical name (Ref of most types)
        self.deployed: dict[str, str] = {}  # deployed state machine name -> local name
        self.role_names: dict[str, str] = {}

        def ref_of(output: str) -> str | None:
            value = outputs.get(output, {}).get("Value")
            return value.get("Ref") if isinstance(value, dict) else None

        for output, local in (
            ("UploadsBucketName", settings.uploads_bucket),
            ("RenditionsBucketName", settings.renditions_bucket),
            ("TableName", settings.table_name),
            *STATE_MACHINE_OUTPUTS.items(),
        ):
            if logical := ref_of(output):
                self.names[logical] = local
        handlers = local_function_names()
        for logical, resource in self.resources.items():
            props = resource.get("Properties", {})
            kind = resource.get("Type")
            if kind == "AWS::Lambda::Function" and props.get("Handler") in handlers:
                self.names[logical] = handlers[props["Handler"]]
            deployed = props.get("StateMachineName")
            if kind == "AWS::StepFunctions::StateMachine" and logical in self.names and deployed:
                self.deployed[str(deployed)] = self.names[logical]
            self.names.setdefault(logical, f"imgflow-{logical.lower()}")

    def name_role(self, logical: str, name: str) -> None:
        self.names[logical] = name

    # -- ARNs of the local resources --------------------------------------------------------------------
    def _arn(self, logical: str) -> str:
        kind = self.resources.get(logical, {}).get("Type", "")
        name = self.names.get(logical, logical)
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/{name}:*",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
        }.get(kind, f"arn:aws:unresolved:{REGION}:{ACCOUNT}:{logical}")

    def _ref(self, logical: str) -> str:
        if logical in PSEUDO:
            return PSEUDO[logical]
        if logical == "AWS::StackName":
            return "imgflow-local"
        kind = self.resources.get(logical, {}).get("Type", "")
        if kind == "AWS::StepFunctions::StateMachine":
            return self._arn(logical)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.names[logical]}"
        return self.names.get(logical, logical)

    def _get_att(self, logical: str, attribute: str) -> str:
        if attribute == "Arn":
            return self._arn(logical)
        if attribute in ("Name", "QueueName", "StateMachineName"):
            return self.names.get(logical, logical)
        if attribute == "QueueUrl":
            return self._ref(logical)
        return f"{self._arn(logical)}/{attribute}"

    # -- intrinsics -------------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return self._local_names(value) if isinstance(value, str) else value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(logical, attribute)
            if fn == "Fn::Join":
                sep, parts = arg
                return self._local_names(sep.join(str(self.resolve(p)) for p in self.resolve(parts)))
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._local_names(self._sub(text, self.resolve(variables)))
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if fn == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self._get_att(logical, attribute)
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def _local_names(self, text: str) -> str:
        """A deployed state machine name inside an ARN becomes the local one."""
        for deployed, local in self.deployed.items():
            text = re.sub(rf":(stateMachine|execution):{re.escape(deployed)}(?=:|$)", rf":\1:{local}", text)
        return text


def _policies_by_role(resources: Mapping[str, Any]) -> dict[str, list[Any]]:
    attached: dict[str, list[Any]] = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::IAM::Policy":
            continue
        props = resource.get("Properties", {})
        for role in props.get("Roles", []):
            if isinstance(role, dict) and "Ref" in role:
                attached.setdefault(role["Ref"], []).append(props["PolicyDocument"])
    return attached


def _role_logical_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def model(template: Mapping[str, Any], settings: Settings) -> StackModel:
    """Roles, trust, policies and environments of every function and state machine the local stack runs."""
    resolver = Resolver(template, settings)
    resources = template.get("Resources", {})
    attached = _policies_by_role(resources)
    handlers = set(local_function_names().values())
    machines = set(STATE_MACHINE_OUTPUTS.values())
    stack = StackModel()
    bindings: list[tuple[str, str, str]] = []  # (local name, role logical id, service)
    for logical, resource in resources.items():
        props = resource.get("Properties", {})
        name = resolver.names.get(logical, "")
        if resource.get("Type") == "AWS::Lambda::Function" and name in handlers:
            role_id = _role_logical_id(props.get("Role"))
            variables = (props.get("Environment") or {}).get("Variables") or {}
            stack.environments[name] = {k: str(resolver.resolve(v)) for k, v in variables.items()}
            if role_id:
                bindings.append((name, role_id, "lambda.amazonaws.com"))
        elif resource.get("Type") == "AWS::SQS::Queue":
            stack.queues.append(name)
        elif resource.get("Type") == "AWS::StepFunctions::StateMachine" and name in machines:
            role_id = _role_logical_id(props.get("RoleArn"))
            if role_id:
                bindings.append((machine_principal(name), role_id, "states.amazonaws.com"))
    for name, role_id, _ in bindings:
        resolver.name_role(role_id, f"{name}-role")
    for name, role_id, service in bindings:
        props = resources[role_id].get("Properties", {})
        documents = [*attached.get(role_id, []), *(p["PolicyDocument"] for p in props.get("Policies", []))]
        stack.roles[name] = Role(
            name=f"{name}-role",
            arn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
            logical_id=role_id,
            trust=resolver.resolve(props.get("AssumeRolePolicyDocument", {})),
            policies=tuple(resolver.resolve(d) for d in documents),
            uncalled={
                (entry["Action"], str(resolver.resolve(entry["Resource"]))): entry["Reason"]
                for entry in (resources[role_id].get("Metadata") or {}).get(UNCALLED_KEY) or []
            },
        )
        stack.services[name] = service
    return stack
