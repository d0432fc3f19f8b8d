"""S3: the files Arena writes for people to download (analytics exports), in the archive bucket, and their
presigned download links. Writing an object under a fixed key twice leaves one object (the second write wins)."""

from __future__ import annotations

from typing import Any

import boto3

from arena.config import settings
from arena.factories import cached


@cached
def client() -> Any:
    return boto3.client("s3")


def put(key: str, body: bytes, content_type: str) -> None:
    client().put_object(Bucket=settings().archive_bucket, Key=key, Body=body, ContentType=content_type)


def download_url(key: str, seconds: int, filename: str | None = None) -> str:
    """A presigned GET of the object for `seconds` (signed locally: no call, no check that the object exists)."""
    params: dict[str, str] = {"Bucket": settings().archive_bucket, "Key": key}
    if filename:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    return str(client().generate_presigned_url("get_object", Params=params, ExpiresIn=seconds))
