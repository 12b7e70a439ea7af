"""What only the S3 store can get wrong: multipart uploads and the server's errors."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import get_session

from storage import StorageError
from storage.s3 import S3Store
from tests.storage.conftest import KEY_ID, REGION, SECRET

PART = 5 << 20


async def _raw_client(endpoint: str) -> Any:
    return get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )


async def test_large_objects_go_up_in_parts(s3: S3Store) -> None:
    block = os.urandom(1 << 20)

    async def source() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield block

    await s3.put("big", source())
    info = await s3.head("big")
    # S3 marks a multipart object's ETag with its part count: 5 + 5 + 2 MiB.
    assert info.checksum.endswith("-3")
    assert info.size == 12 << 20
    assert hashlib.sha256(await s3.get("big")).digest() == hashlib.sha256(block * 12).digest()
    await s3.put("small", block)
    assert "-" not in (await s3.head("small")).checksum
    assert (await s3.head("small")).checksum == hashlib.md5(block).hexdigest()


async def test_server_error_mid_upload_leaves_nothing_visible(
    s3: S3Store, s3_endpoint: str
) -> None:
    await s3.put("doc", b"old version", content_type="text/plain")
    async with await _raw_client(s3_endpoint) as other:

        async def source() -> AsyncIterator[bytes]:
            yield b"a" * PART  # the first part goes up
            yield b"b" * 1024
            # Another party aborts the upload: the server now refuses every
            # further part of it, as it would after a lifecycle rule ran.
            listing = await other.list_multipart_uploads(Bucket=s3.bucket)
            (upload,) = listing["Uploads"]
            await other.abort_multipart_upload(
                Bucket=s3.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            yield b"c" * PART

        with pytest.raises(StorageError, match=r"S3 could not upload a part of 'doc'"):
            await s3.put("doc", source())
        listing = await other.list_multipart_uploads(Bucket=s3.bucket)
        assert listing.get("Uploads", []) == []
    assert await s3.get("doc") == b"old version"
    assert await s3.list() == ["doc"]


async def test_refused_completion_aborts_the_upload(s3: S3Store, s3_endpoint: str) -> None:
    # Every part went up, then the upload was aborted elsewhere: the server
    # refuses the completion (S3 says NoSuchUpload, moto answers 500), and
    # nothing of the object remains.
    async with await _raw_client(s3_endpoint) as other:

        async def source() -> AsyncIterator[bytes]:
            yield b"a" * PART
            yield b"b" * PART
            listing = await other.list_multipart_uploads(Bucket=s3.bucket)
            (upload,) = listing["Uploads"]
            await other.abort_multipart_upload(
                Bucket=s3.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )

        with pytest.raises(StorageError, match=r"S3 could not complete the upload of 'late': "):
            await s3.put("late", source())
        listing = await other.list_multipart_uploads(Bucket=s3.bucket)
        assert listing.get("Uploads", []) == []
    assert await s3.exists("late") is False
    assert await s3.list() == []


async def test_prefix_keeps_to_its_part_of_the_bucket(s3: S3Store, s3_endpoint: str) -> None:
    scoped = S3Store(
        s3.bucket,
        prefix="deploy/one",
        endpoint=s3_endpoint,
        region=REGION,
        path_style=True,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
    )
    try:
        await scoped.put("a/b", b"x")
        await s3.put("outside", b"y")
        assert await scoped.list() == ["a/b"]
        assert await s3.list() == ["deploy/one/a/b", "outside"]
        assert scoped.locate("a/b") == f"s3://{s3.bucket}/deploy/one/a/b"
    finally:
        await scoped.close()


async def test_keys_other_tools_wrote_are_skipped_in_listings(
    s3: S3Store, s3_endpoint: str
) -> None:
    await s3.put("good", b"1")
    async with await _raw_client(s3_endpoint) as other:
        await other.put_object(Bucket=s3.bucket, Key="bad//key", Body=b"2")
        await other.put_object(Bucket=s3.bucket, Key="up/../x", Body=b"3")
    assert await s3.list() == ["good"]


def test_parts_smaller_than_s3_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 5242880"):
        S3Store("bucket", part_size=1024)


@pytest.mark.parametrize("insist", [False, True], ids=["cancelled", "cancelled-twice"])
async def test_a_put_cancelled_while_its_upload_is_created_leaves_no_upload(
    s3: S3Store, s3_endpoint: str, insist: bool
) -> None:
    # The server has made the upload, but its answer (the id) is slow to come
    # back when the put is cancelled: without the id nothing could abort it.
    client = await s3._s3()
    real_create = client.create_multipart_upload
    created, answer_arrives = asyncio.Event(), asyncio.Event()

    async def slow_answer(**params: Any) -> Any:
        answer = await real_create(**params)
        created.set()
        await answer_arrives.wait()
        return answer

    client.create_multipart_upload = slow_answer

    async def source() -> AsyncIterator[bytes]:
        yield b"a" * PART
        yield b"b" * 10

    put = asyncio.create_task(s3.put("doc", source()))
    await created.wait()
    put.cancel()
    await asyncio.sleep(0.05)
    if insist:
        # A second cancel ends the put at once; the abort goes on without it,
        # and closing the store waits for it.
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put
        answer_arrives.set()
        await s3.close()
    else:
        assert not put.done()  # waiting for the answer, to abort the upload
        answer_arrives.set()
        with pytest.raises(asyncio.CancelledError):
            await put
    async with await _raw_client(s3_endpoint) as other:
        listing = await other.list_multipart_uploads(Bucket=s3.bucket)
        assert listing.get("Uploads", []) == []
    assert await s3.exists("doc") is False
