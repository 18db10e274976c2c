"""Who signs what on the local stack: the operator's key pair and one role session per function.

``Keys`` knows every access key the local AWS endpoint accepts: the operator's (``imgflow_tools.aws_keys``,
allowed everything, as an account's administrator) and, per function or state machine, a session of its
template role (``ASIA...`` key, secret, session token), made by assuming the role as its service does (the
trust policy must name ``lambda.amazonaws.com`` or ``states.amazonaws.com``).

In this process, boto3 signs with ``ThreadCredentials``: botocore reads them at every signature, and they
are the role session of the function whose handler runs on the calling thread
(``moto_adapter.current_function()``, or ``acting_as``), else the operator's. So the handlers' shared
clients (``imgflow.aws.client``) sign each call as the function that makes it, as in AWS.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.credentials
from botocore.credentials import Credentials, ReadOnlyCredentials

from imgflow_tools.aws_keys import new_key_id
from imgflow_tools.local import moto_adapter
from imgflow_tools.local.iam.roles import ACCOUNT, Role, StackModel

ADMIN_POLICY: dict[str, Any] = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Principal:
    """One signer: its key pair, its ARN and the policies that decide its calls."""

    name: str
    arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    policies: tuple[dict[str, Any], ...]
    role: Role | None = None
    #: Its policies are not its role's (a test took a grant away: ``LocalIam.restrict``).
    restricted: bool = False

    @property
    def frozen(self) -> ReadOnlyCredentials:
        return ReadOnlyCredentials(self.access_key_id, self.secret_access_key, self.session_token)


class AssumeRoleDenied(Exception):
    """The role's trust policy does not let that service assume it."""


@dataclass
class Keys:
    """Every key the endpoint accepts, by access key id; role sessions by function name."""

    operator: Principal
    by_key: dict[str, Principal] = field(default_factory=dict)
    sessions: dict[str, Principal] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_operator(cls, access_key_id: str, secret_access_key: str) -> Keys:
        operator = Principal(
            "operator",
            f"arn:aws:iam::{ACCOUNT}:root",
            access_key_id,
            secret_access_key,
            None,
            (ADMIN_POLICY,),
        )
        return cls(operator=operator, by_key={access_key_id: operator})

    def assume(
        self, name: str, role: Role, service: str, policies: tuple[dict[str, Any], ...] | None = None
    ) -> Principal:
        """A session of ``role`` for ``name`` (a function or state machine), as ``service`` assumes it."""
        if not role.trusts(service):
            raise AssumeRoleDenied(f"{role.arn} does not trust {service}")
        session = Principal(
            name=name,
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{name}",
            access_key_id=new_key_id("ASIA"),
            secret_access_key=secrets.token_urlsafe(30)[:40],
            session_token=secrets.token_urlsafe(96),
            policies=role.policies if policies is None else policies,
            role=role,
        )
        with self._lock:
            if old := self.sessions.get(name):
                self.by_key.pop(old.access_key_id, None)
            self.sessions[name] = session
            self.by_key[session.access_key_id] = session
        return session

    def assume_all(self, stack: StackModel) -> None:
        for name, role in stack.roles.items():
            self.assume(name, role, stack.services[name])

    def by_role_arn(self, role_arn: str | None) -> Principal | None:
        for session in self.sessions.values():
            if session.role and session.role.arn == role_arn:
                return session
        return None

    def secret_for(self, access_key_id: str) -> str | None:
        principal = self.by_key.get(access_key_id)
        return principal.secret_access_key if principal else None


# -- signing in this process -------------------------------------------------------------------------------
_active: Keys | None = None
_acting = threading.local()
#: ``acting_as(OPERATOR)``: sign as the operator, even inside a handler's thread.
OPERATOR = "operator"


def activate(keys: Keys | None) -> None:
    """Sign this process's boto3 calls with ``keys`` (None: botocore's own chain again)."""
    global _active
    _active = keys
    _install_provider()


def current_name() -> str | None:
    """The function (or state machine) this thread acts as: ``acting_as``, else the handler it runs."""
    return getattr(_acting, "name", None) or moto_adapter.current_function()


def current() -> Principal | None:
    """The principal this thread's boto3 calls sign as."""
    keys = _active
    if keys is None:
        return None
    name = current_name()
    if name == OPERATOR:
        return keys.operator
    if name and (session := keys.sessions.get(name)):
        return session
    return keys.operator


@contextlib.contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Sign this thread's calls as the role session of ``name`` (e.g. ``imgflow-api``)."""
    previous = getattr(_acting, "name", None)
    _acting.name = name
    try:
        yield
    finally:
        _acting.name = previous


class ThreadCredentials(Credentials):
    """botocore credentials resolved at every signature: the calling thread's principal."""

    def __init__(self) -> None:
        super().__init__("", "", None, method="imgflow-local")

    def _now(self) -> ReadOnlyCredentials:
        principal = current()
        if principal is None:
            raise RuntimeError("imgflow local credentials used without an active local stack")
        return principal.frozen

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._now()

    @property
    def access_key(self) -> str:
        return self._now().access_key

    @access_key.setter
    def access_key(self, value: str) -> None:
        pass

    @property
    def secret_key(self) -> str:
        return self._now().secret_key

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        pass

    @property
    def token(self) -> str | None:
        return self._now().token

    @token.setter
    def token(self, value: str | None) -> None:
        pass


class _LocalProvider(botocore.credentials.CredentialProvider):
    METHOD = "imgflow-local"
    CANONICAL_NAME = "imgflow-local"

    def load(self) -> Credentials | None:
        return ThreadCredentials() if _active is not None else None


_installed = False


def _install_provider() -> None:
    """Put ``_LocalProvider`` first in every new botocore session's chain (it answers only when active)."""
    global _installed
    if _installed:
        return
    upstream = botocore.credentials.create_credential_resolver

    def create_credential_resolver(*args: Any, **kwargs: Any) -> Any:
        resolver = upstream(*args, **kwargs)
        resolver.insert_before("env", _LocalProvider())
        return resolver

    botocore.credentials.create_credential_resolver = create_credential_resolver
    _installed = True
