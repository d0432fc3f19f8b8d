"""The template's Cognito user pool in moto, so role management (arena/adapters/identity.py) runs locally against
the same admin API it calls in AWS, and the local token issuer signs users in from it.

`CognitoService`

1. creates each AWS::Cognito::UserPool of the template in moto with its AWS::Cognito::UserPoolGroup groups (the
   roles), and points the functions' variables that name the pool (`USER_POOL_ID: !Ref UserPool`) at moto's id;
2. makes the local issuer (local/jwt_issuer.py) sign users in from that pool: `POST /local/token` registers the
   user (`sub` is the pool's username, as with Cognito's generated usernames) and
   - with `groups`, sets the user's pool groups to them (those the pool has) and issues them: a test or the demo
     names the roles it signs in with, as before, and the pool then says the same, so the admin routes list what
     the tokens carry and the last-admin guard protects the admin someone signed in as;
   - without `groups`, issues the groups the pool holds for the user now, as Cognito does at sign-in: an admin's
     grant through /api/admin/... reaches the user's next token.

The pool is made without the template's `UsernameAttributes: [email]`: Cognito then generates usernames (they
equal `sub`), while locally the username is the `sub` the caller chooses, which moto only accepts without them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from local import template as tpl
from local.runtime import clear_cached_factories

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.cognito")

USER_POOL_TYPE = "AWS::Cognito::UserPool"
GROUP_TYPE = "AWS::Cognito::UserPoolGroup"


def create_user_pools(
    client: Any, template: dict[str, Any], context: tpl.LocalContext | None = None
) -> dict[str, tuple[str, list[str]]]:
    """Each user pool of the template created with its groups: {logical id: (pool id, group names)}."""
    context = context or tpl.LocalContext(template=template)
    groups_by_pool: dict[str, list[dict[str, Any]]] = {}
    for props in tpl.resources_of_type(template, GROUP_TYPE).values():
        pool_ref = props.get("UserPoolId")
        if isinstance(pool_ref, dict) and "Ref" in pool_ref:
            groups_by_pool.setdefault(pool_ref["Ref"], []).append(props)
    created = {}
    for logical_id, props in tpl.resources_of_type(template, USER_POOL_TYPE).items():
        name = tpl.resolve(props.get("UserPoolName"), context)
        pool_id = client.create_user_pool(PoolName=str(name or logical_id))["UserPool"]["Id"]
        names = []
        for group in groups_by_pool.get(logical_id, []):
            group_name = str(tpl.resolve(group["GroupName"], context))
            client.create_group(UserPoolId=pool_id, GroupName=group_name, Description=str(group.get("Description", "")))
            names.append(group_name)
        created[logical_id] = (pool_id, names)
    return created


class PoolDirectory:
    """Sign-in against one moto user pool: the groups a token of a user carries. Thread-safe."""

    def __init__(self, client: Any, pool_id: str, groups: Iterable[str]):
        self.client = client
        self.pool_id = pool_id
        self.groups = frozenset(groups)
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def _register(self, sub: str) -> None:
        with self._lock:
            if sub in self._known:
                return
        try:
            self.client.admin_create_user(UserPoolId=self.pool_id, Username=sub, MessageAction="SUPPRESS")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
        with self._lock:
            self._known.add(sub)

    def set_email(self, sub: str, email: str) -> None:
        """The user's verified address, as Cognito holds it once the user confirmed it at sign-up."""
        self._register(sub)
        self.client.admin_update_user_attributes(
            UserPoolId=self.pool_id,
            Username=sub,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )

    def groups_of(self, sub: str) -> list[str]:
        answer = self.client.admin_list_groups_for_user(UserPoolId=self.pool_id, Username=sub, Limit=60)
        return sorted(group["GroupName"] for group in answer.get("Groups", []))

    def sign_in(self, sub: str, groups: list[str] | None) -> list[str]:
        """The groups to issue in `sub`'s token: `groups` (after making the pool agree), else the pool's. A `sub`
        the pool refuses as a username (a test's odd one) is signed in as asked, without the pool."""
        try:
            return self._sign_in(sub, groups)
        except (ClientError, BotoCoreError) as error:
            logger.info("user pool refused %r (%s); token issued without it", sub, error)
            return list(groups or ())

    def _sign_in(self, sub: str, groups: list[str] | None) -> list[str]:
        self._register(sub)
        if groups is None:
            return self.groups_of(sub)
        held = set(self.groups_of(sub))
        wanted = self.groups.intersection(groups)
        for group in sorted(wanted - held):
            self.client.admin_add_user_to_group(UserPoolId=self.pool_id, Username=sub, GroupName=group)
        for group in sorted(held - wanted):
            self.client.admin_remove_user_from_group(UserPoolId=self.pool_id, Username=sub, GroupName=group)
        return list(groups)


class CognitoService:
    """The template's user pools and groups in moto; the issuer signs users in from the first pool."""

    name = "cognito"

    def __init__(self) -> None:
        self.pools: dict[str, str] = {}  # logical id -> moto pool id
        self.directory: PoolDirectory | None = None

    def start(self, stack: StackHandle) -> None:
        created = create_user_pools(stack.client("cognito-idp"), stack.template, stack.context)
        if not created:
            return
        for logical_id, (pool_id, groups) in created.items():
            self.pools[logical_id] = pool_id
            stack.context.refs[logical_id] = pool_id
            if self.directory is None:
                self.directory = PoolDirectory(stack.client("cognito-idp"), pool_id, groups)
        # The functions were given the template's `!Ref UserPool` before the pool existed: give them moto's id.
        for function in stack.functions:
            for variable, value in function.spec.environment.items():
                if isinstance(value, dict) and value.get("Ref") in self.pools:
                    stack.set_function_environ(variable, self.pools[value["Ref"]])
        clear_cached_factories()
        if stack.issuer is not None and self.directory is not None:
            stack.issuer.directory = self.directory
        logger.info("user pools in moto: %s", self.pools)

    def stop(self) -> None:
        self.pools = {}
        self.directory = None

    def health(self) -> dict[str, Any]:
        return {"cognito": {"user_pools": dict(self.pools)}} if self.pools else {}
