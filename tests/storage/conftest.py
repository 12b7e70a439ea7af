"""A real S3-compatible server on loopback (moto's server mode), shared by the session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from storage.requests import MIN_PART_SIZE
from storage.s3 import S3Store

REGION = "us-east-1"
KEY_ID, SECRET = "testing", "testing"  # moto accepts any credentials


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("TICKETS_REQUIRE_S3") == "1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if _required():
            pytest.fail(f"the S3 tests must run here; install moto[server]: {exc}")
        pytest.skip(f"moto[server] is not installed: {exc}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def new_bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def s3_store(endpoint: str, bucket: str, **options: object) -> S3Store:
    return S3Store(
        bucket,
        endpoint=endpoint,
        region=REGION,
        path_style=True,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        part_size=MIN_PART_SIZE,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def s3(s3_endpoint: str) -> AsyncIterator[S3Store]:
    """A store on a bucket of its own, with the smallest parts S3 allows."""
    store = s3_store(s3_endpoint, new_bucket())
    await store.create_bucket()
    try:
        yield store
    finally:
        await store.close()
