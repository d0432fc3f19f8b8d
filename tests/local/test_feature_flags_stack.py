"""Feature flags on the local stack: arena.flags reads the template's document through Powertools' AppConfigStore
and boto3's appconfigdata client, served by local/appconfig.py, and sees a flag changed through /local/flags (or
`python -m local.flags`) without a restart.

One stack for the module (moto's state is process-wide); each test starts from the template's document.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from arena import flags
from arena.auth import Principal, Role
from arena.flags import Flag, rollout_bucket
from botocore.exceptions import ClientError

from local import flags as flags_cli
from tests.e2e.conftest import in_process_stack

ADMIN = Principal("boss", frozenset({Role.ADMIN}))
MANAGER = Principal("manager-1", frozenset({Role.EVENT_MANAGER, Role.USER}))
TRADER = Principal("trader-01", frozenset({Role.USER}))
USERS = [Principal(f"synthetic-{n:04d}", frozenset({Role.USER})) for n in range(1_000)]
SEEN_WITHIN_SECONDS = 10.0
# The flags the template's document turns on in dev, the local stack's stage.
ON_IN_DEV = {Flag.EVENT_CHAT, Flag.SHARE_CARDS, Flag.PUBLIC_PROFILES}


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with in_process_stack(dynamodb="moto", FEATURE_FLAGS_MAX_AGE_SECONDS="1", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        yield local


@pytest.fixture
def base_url(stack: Any) -> Iterator[str]:
    """Given the template's flags document (as the stack started with) and a freshly built flags store."""
    call(stack.base_url, "POST", "/local/flags/reset")
    flags.feature_flags.cache_clear()
    yield stack.base_url
    flags.feature_flags.cache_clear()


def call(base_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def eventually(check: Callable[[], bool], seconds: float = SEEN_WITHIN_SECONDS) -> float:
    """Seconds until `check` holds (asserting it does within `seconds`)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"not seen within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_every_flag_is_off_by_default(base_url: str) -> None:
    """Given the template's document When anyone asks about any flag, in any event Then off, but event_chat,
    share_cards and public_profiles, which the document turns on in dev (the local stack's stage); and the answer
    comes from AppConfig, not the caller's default (asked with default=True, a flag in the document still says off)."""
    for flag in ON_IN_DEV:
        for who in (ADMIN, MANAGER, TRADER, None):
            assert flags.is_enabled(flag, who, event_id="evt-1") is True
    for flag in set(Flag) - ON_IN_DEV:
        for who in (ADMIN, MANAGER, TRADER, None):
            assert flags.is_enabled(flag, who, event_id="evt-1") is False
            assert flags.is_enabled(flag, who, event_id="evt-1", default=True) is False, (flag, who)
    assert flags.is_enabled("not_a_flag", TRADER, default=True) is True


def test_on_for_admins_only(base_url: str) -> None:
    """Given notifications_email with an admins rule When an admin, a manager, a trader and nobody ask Then on for
    the admin."""
    flags_cli.main(["--url", base_url, "rule", "notifications_email", "admins"])
    eventually(lambda: flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, ADMIN))
    assert flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, ADMIN, event_id="evt-1") is True
    assert flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, MANAGER) is False
    assert flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, TRADER) is False
    assert flags.is_enabled(Flag.NOTIFICATIONS_EMAIL) is False
    assert flags.is_enabled(Flag.NOTIFICATIONS_DISCORD, ADMIN) is False  # one flag's rule is no other flag's


def test_on_for_a_named_event(base_url: str) -> None:
    """Given notifications_discord on in evt-launch When asked there, elsewhere and outside any event Then on there
    only."""
    status, _ = call(
        base_url, "PUT", "/local/flags/notifications_discord", {"rules": {"launch": flags.events_rule("evt-launch")}}
    )
    assert status == 200
    eventually(lambda: flags.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER, event_id="evt-launch"))
    assert flags.is_enabled(Flag.NOTIFICATIONS_DISCORD, None, event_id="evt-launch") is True
    assert flags.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER, event_id="evt-other") is False
    assert flags.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER) is False


def test_on_for_a_percentage_of_users(base_url: str) -> None:
    """Given notifications_email on for 10% of users When 1,000 synthetic users ask (twice) Then about 100 are in,
    each user gets the same answer every time, and growing the rollout to 25% keeps every user already in."""
    flags_cli.main(["--url", base_url, "rule", "notifications_email", "percent", "10"])
    eventually(lambda: any(flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, user) for user in USERS[:100]))

    first = {user.user_id for user in USERS if flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, user)}
    second = {user.user_id for user in USERS if flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, user)}
    assert 70 <= len(first) <= 130, len(first)
    assert first == second
    assert first == {u.user_id for u in USERS if rollout_bucket("notifications_email", u.user_id) < 10}
    assert flags.is_enabled(Flag.NOTIFICATIONS_EMAIL) is False  # no user, no bucket

    flags_cli.main(["--url", base_url, "rule", "notifications_email", "percent", "25"])
    eventually(lambda: sum(flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, u) for u in USERS) > len(first))
    grown = {user.user_id for user in USERS if flags.is_enabled(Flag.NOTIFICATIONS_EMAIL, user)}
    assert 200 <= len(grown) <= 300, len(grown)
    assert first <= grown


def test_a_flip_is_seen_without_a_restart(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a running function's flags store that has read notifications_discord as off When the flag is switched
    on with `python -m local.flags set notifications_discord on` (then off through PUT
    /local/flags/notifications_discord) Then the same store answers on within seconds (its cache is 1 s here), then
    off again."""
    store = flags.feature_flags()
    assert store.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER) is False

    assert flags_cli.main(["--url", base_url, "set", "notifications_discord", "on"]) == 0
    assert "notifications_discord" in capsys.readouterr().out
    seconds = eventually(lambda: store.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER))
    assert seconds < 5
    assert flags.feature_flags() is store  # the same store, the same process: nothing restarted

    status, answer = call(base_url, "PUT", "/local/flags/notifications_discord", {"default": False})
    assert (status, answer["flag"]) == (200, {"default": False})
    eventually(lambda: not store.is_enabled(Flag.NOTIFICATIONS_DISCORD, TRADER))


def test_the_flags_route_refuses_what_powertools_would_refuse(base_url: str) -> None:
    """Given the flags route When sent a non-boolean default, an unknown key, a new flag without a default, a body
    that is no object or a name with a slash Then 400 each, and no new version is written."""
    _, before = call(base_url, "GET", "/local/flags")
    for path, body in [
        ("/local/flags/event_chat", {"default": "yes"}),
        ("/local/flags/event_chat", {"enabled": True}),
        ("/local/flags/brand_new", {"rules": {}}),
        ("/local/flags/event_chat", ["not", "an", "object"]),
        ("/local/flags/a/b", {"default": True}),
    ]:
        status, answer = call(base_url, "PUT", path, body)
        assert status == 400, (path, body, answer)
        assert answer["error"]["code"] == "BAD_REQUEST"
    _, after = call(base_url, "GET", "/local/flags")
    assert after["version"] == before["version"]
    assert after["flags"] == before["flags"]


def test_the_data_api_speaks_appconfigdata(stack: Any, base_url: str) -> None:
    """Given boto3's appconfigdata client When a session is started by names and polled Then the document first,
    an empty body while nothing changed, the new version after a change; a spent token and an unknown application
    are refused as AppConfig refuses them."""
    client = boto3.client("appconfigdata", region_name=stack.region)
    token = client.start_configuration_session(
        ApplicationIdentifier="arena-dev", EnvironmentIdentifier="dev", ConfigurationProfileIdentifier="feature-flags"
    )["InitialConfigurationToken"]
    first = client.get_latest_configuration(ConfigurationToken=token)
    assert first["ContentType"] == "application/json"
    document = json.loads(first["Configuration"].read())
    assert {name: rule for name, rule in document.items() if Flag(name) not in ON_IN_DEV} == {
        flag.value: {"default": False} for flag in set(Flag) - ON_IN_DEV
    }
    assert all(document[flag.value]["default"] is False and document[flag.value]["rules"] for flag in ON_IN_DEV)
    unchanged = client.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert unchanged["Configuration"].read() == b""
    assert unchanged["NextPollIntervalInSeconds"] == 60

    call(base_url, "PUT", "/local/flags/notifications_discord", {"default": True})
    changed = client.get_latest_configuration(ConfigurationToken=unchanged["NextPollConfigurationToken"])
    assert json.loads(changed["Configuration"].read())["notifications_discord"] == {"default": True}

    with pytest.raises(ClientError) as spent:
        client.get_latest_configuration(ConfigurationToken=token)
    assert spent.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as unknown:
        client.start_configuration_session(
            ApplicationIdentifier="nope", EnvironmentIdentifier="dev", ConfigurationProfileIdentifier="feature-flags"
        )
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    _, health = call(base_url, "GET", "/local/health")
    assert health["appconfigdata"] == client.meta.endpoint_url
