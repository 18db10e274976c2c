"""IAM on the local stack, from the synthesized template: roles, signed calls, resource-level checks.

``LocalIam.build(settings)`` reads the template (``template.py``, cached), resolves each function's and state
machine's role (``roles.py``), makes the operator's key and one role session per principal
(``credentials.py``), and ``LocalCloud`` puts its ``IamEnforcer`` (``enforcer.py``) in
front of moto. ``policy.py`` evaluates, ``actions.py`` says what each request needs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.credentials import Credentials

from imgflow import config
from imgflow.config import Settings
from imgflow_tools import aws_keys
from imgflow_tools.local import environments, moto_adapter, post_policy
from imgflow_tools.local.iam import credentials, template
from imgflow_tools.local.iam.credentials import Keys, Principal
from imgflow_tools.local.iam.enforcer import IamEnforcer, WsgiApp
from imgflow_tools.local.iam.roles import StackModel, model


@dataclass
class LocalIam:
    """The local stack's principals and the enforcer in front of its endpoint."""

    stack: StackModel
    keys: Keys
    enforcer: IamEnforcer | None = None
    _engine: dict[str, Credentials] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, tmpl: dict[str, Any] | None = None) -> LocalIam:
        operator = aws_keys.operator_credentials()
        keys = Keys.for_operator(operator["access_key_id"], operator["secret_access_key"])
        stack = model(tmpl if tmpl is not None else template.synthesize(), settings)
        keys.assume_all(stack)
        return cls(stack=stack, keys=keys)

    def wrap(self, app: WsgiApp) -> IamEnforcer:
        self.enforcer = IamEnforcer(app, self.keys, self.stack)
        return self.enforcer

    def activate(self) -> None:
        """Sign this process's calls as their principals (handlers: their role; the rest: the operator)."""
        credentials.activate(self.keys)
        config.settings.overlay = self.environment  # and read their template environment
        config.settings.cache_clear()
        moto_adapter.engine_credentials = self.engine_credentials
        post_policy.default_secret_for = self.keys.secret_for  # presigned URLs and POST policies
        post_policy.default_authorize = self._authorize_upload

    def deactivate(self) -> None:
        credentials.activate(None)
        config.settings.overlay = None
        config.settings.cache_clear()
        moto_adapter.engine_credentials = None
        post_policy.default_secret_for = None
        post_policy.default_authorize = None

    def _authorize_upload(self, access_key_id: str, token: str | None, object_arn: str) -> bool:
        return self.enforcer is None or self.enforcer.authorize_upload(access_key_id, token, object_arn)

    def environment(self) -> dict[str, str] | None:
        """The environment of the function this thread runs (its template's), None outside one."""
        name = credentials.current_name()
        variables = self.stack.environments.get(name) if name else None
        if variables is None:
            return None
        return environments.function_environment(variables, os.environ)

    def engine_credentials(self, role_arn: str | None) -> Credentials | None:
        # A state machine under a role the template does not define (the tests' own machines, moto's
        # pinned gaps) signs as the operator: an administrator's role.
        session = self.keys.by_role_arn(role_arn) or self.keys.operator
        if (cached := self._engine.get(session.access_key_id)) is None:
            cached = Credentials(session.access_key_id, session.secret_access_key, session.session_token)
            self._engine = {session.access_key_id: cached, **self._engine}
        return cached

    def role_arns(self) -> dict[str, str]:
        """``imgflow serve --json``'s ``"roles"``: local function or state machine name -> role ARN."""
        return {name: role.arn for name, role in sorted(self.stack.roles.items())}

    def restrict(self, name: str, policies: tuple[dict[str, Any], ...]) -> Callable[[], None]:
        """Give ``name``'s session other policies (tests: its role without one action); returns the undo."""
        original = self.keys.sessions[name]

        def put(session: Principal) -> None:
            self.keys.sessions[name] = session
            self.keys.by_key[session.access_key_id] = session

        put(dataclasses.replace(original, policies=policies, restricted=True))
        return lambda: put(original)
