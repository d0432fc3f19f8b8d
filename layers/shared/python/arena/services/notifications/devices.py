"""Push devices: a device token becomes an SNS platform endpoint (arena/adapters/push.py) recorded under the
user; the device's id is a digest of its token, so registering the same token again is the same device (its
endpoint is re-created, which SNS answers with the same ARN). Removing deletes the endpoint, then the record."""

from __future__ import annotations

import hashlib

from arena import clock
from arena.adapters import push
from arena.errors import NotFound
from arena.models.notifications import DevicePlatform, DeviceView
from arena.store import notifications as store
from arena.store.notifications import DeviceRecord


def device_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def register(user_id: str, platform: DevicePlatform, token: str) -> DeviceView:
    endpoint_arn = push.create_endpoint(platform.value, token, user_id)
    device = DeviceRecord(
        user_id=user_id,
        device_id=device_id_of(token),
        platform=platform.value,
        endpoint_arn=endpoint_arn,
        created_at=clock.now(),
    )
    store.put_device(device)
    return DeviceView(device_id=device.device_id, platform=platform, created_at=device.created_at)


def remove(user_id: str, device_id: str) -> None:
    device = next((d for d in store.devices_of(user_id) if d.device_id == device_id), None)
    if device is None:
        raise NotFound(f"No device {device_id}.", code="device_not_found")
    push.delete_endpoint(device.endpoint_arn)
    store.delete_device(user_id, device_id)
