"""An object store on S3 or anything that speaks its API (MinIO, Backblaze B2, Ceph).

aiobotocore rather than obstore: it was already the ``s3`` extra, it is
botocore underneath (the same endpoint, region, addressing and credential
handling as the AWS CLI), and it exposes the multipart calls one by one, so an
upload can be aborted on our terms and the server's error codes reach the
message the caller sees.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from storage.keys import validate_key, validate_listing
from storage.ports import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    ByteRange,
    Data,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)
from storage.requests import (
    DEFAULT_PART_SIZE,
    MIN_PART_SIZE,
    check_chunk_size,
    check_expiry,
    check_range,
    chunks,
    resolve_range,
    validate_content_type,
    validate_metadata,
)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_PAGE = 1000


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _s3_errors(action: str, key: str) -> Iterator[None]:
    """Turn botocore's exceptions into the port's, with the server's code in the message."""
    try:
        yield
    except ClientError as exc:
        code = _error_code(exc)
        if code in _NOT_FOUND:
            raise ObjectNotFound(key) from None
        message = exc.response.get("Error", {}).get("Message", "")
        raise StorageError(f"S3 could not {action} {key!r}: {code}: {message}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"S3 could not {action} {key!r}: {exc}") from exc


class S3Store:
    """Objects in one bucket, under an optional key prefix.

    Objects up to ``part_size`` go up in one PUT; larger ones (or streams that
    grow past it) as a multipart upload that holds one part in memory at a time
    and is aborted on any error, so S3 never shows a partial object.
    Credentials left as None come from the usual AWS sources (AWS_* variables,
    ~/.aws, instance roles).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint: str | None = None,
        region: str | None = None,
        path_style: bool = False,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.bucket = bucket
        self._prefix = validate_key(prefix) + "/" if prefix else ""
        self._endpoint = endpoint
        self._region = region
        self._path_style = path_style
        self._credentials = (access_key_id, secret_access_key)
        self.part_size = part_size
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._lock = asyncio.Lock()
        # Aborts of uploads whose put was cancelled; held so they are not
        # collected mid-flight, and awaited by close before the client goes.
        self._cleanups: set[asyncio.Task[None]] = set()

    async def _s3(self) -> Any:
        # The client needs a running loop, so it is made on first use, not in __init__.
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    config = AioConfig(
                        signature_version="s3v4",
                        s3={"addressing_style": "path" if self._path_style else "auto"},
                        retries={"max_attempts": 3, "mode": "standard"},
                        connect_timeout=10,
                        read_timeout=60,
                    )
                    key_id, secret = self._credentials
                    self._client = await self._stack.enter_async_context(
                        get_session().create_client(
                            "s3",
                            endpoint_url=self._endpoint,
                            region_name=self._region,
                            aws_access_key_id=key_id,
                            aws_secret_access_key=secret,
                            config=config,
                        )
                    )
        return self._client

    def _name(self, key: str) -> str:
        return self._prefix + validate_key(key)

    async def create_bucket(self) -> None:
        """Create the bucket if it does not exist yet (for tests, benchmarks and first runs)."""
        s3 = await self._s3()
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self._region and self._region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        try:
            await s3.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise StorageError(f"S3 could not create bucket {self.bucket!r}: {exc}") from exc

    async def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        name = self._name(key)
        params = {
            "Bucket": self.bucket,
            "Key": name,
            "ContentType": validate_content_type(content_type),
            "Metadata": validate_metadata(metadata),
        }
        s3 = await self._s3()
        upload_id: str | None = None
        parts: builtins.list[dict[str, Any]] = []
        buffer = bytearray()

        async def send_part(body: bytes) -> None:
            nonlocal upload_id
            with _s3_errors("upload a part of", key):
                if upload_id is None:
                    upload_id = await self._create_upload(s3, params)
                number = len(parts) + 1
                answer = await s3.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body
                )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            async for chunk in chunks(data):
                buffer += chunk
                while len(buffer) >= self.part_size:
                    # Through a view, so the part is copied once, not twice.
                    with memoryview(buffer) as view:
                        body = bytes(view[: self.part_size])
                    del buffer[: self.part_size]
                    await send_part(body)
            if upload_id is None:
                with _s3_errors("store", key):
                    await s3.put_object(Body=bytes(buffer), **params)
                return
            if buffer:
                await send_part(bytes(buffer))
            with _s3_errors("complete the upload of", key):
                await s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            if upload_id is not None:
                # Uploaded parts are invisible but billed until aborted.
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        s3.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
                    )
            raise

    async def _create_upload(self, s3: Any, params: dict[str, Any]) -> str:
        """Start a multipart upload; if cancelled meanwhile, abort it once it exists.

        Cancelled while the request is in flight, the server may have made the
        upload without our learning its id, and it would stay (billed, never
        finished) with no one to abort it. So the request is shielded, and a
        cancelled caller waits, shielded too, for its answer and the abort.
        """
        creating = asyncio.ensure_future(s3.create_multipart_upload(**params))
        try:
            answer = await asyncio.shield(creating)
        except asyncio.CancelledError:
            cleanup = asyncio.ensure_future(self._abort_once_created(s3, creating, params["Key"]))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            # Cancelled again, the abort still runs; close() waits for it.
            await asyncio.shield(cleanup)
            raise
        return str(answer["UploadId"])

    async def _abort_once_created(self, s3: Any, creating: asyncio.Future[Any], name: str) -> None:
        # A failed create made nothing; a failed abort is what lifecycle rules are for.
        with contextlib.suppress(Exception):
            answer = await creating
            await s3.abort_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=answer["UploadId"]
            )

    async def _get_object(self, key: str, byte_range: ByteRange | None) -> tuple[Any, int]:
        """The GetObject answer and the range's length; (None, 0) for an empty slice."""
        check_range(byte_range)
        s3 = await self._s3()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._name(key)}
        if byte_range is not None:
            start, end = byte_range
            if end == start:
                # HTTP cannot ask for zero bytes; still, the object must exist.
                resolve_range(byte_range, (await self.head(key)).size)
                return None, 0
            params["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            with _s3_errors("read", key):
                answer = await s3.get_object(**params)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _error_code(cause) == "InvalidRange":
                # S3 calls a range starting exactly at the end unsatisfiable; the port
                # returns nothing for it, like slicing does.
                resolve_range(byte_range, (await self.head(key)).size)
                return None, 0
            raise
        return answer, int(answer["ContentLength"])

    async def get(self, key: str, *, range: ByteRange | None = None) -> bytes:
        answer, _ = await self._get_object(key, range)
        if answer is None:
            return b""
        with _s3_errors("read", key):
            async with answer["Body"] as body:
                data: bytes = await body.read()
        return data

    async def stream(
        self,
        key: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        range: ByteRange | None = None,
    ) -> AsyncIterator[bytes]:
        check_chunk_size(chunk_size)
        answer, _ = await self._get_object(key, range)
        if answer is None:
            return
        async with answer["Body"] as body:
            while True:
                with _s3_errors("read", key):
                    chunk: bytes = await body.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    async def head(self, key: str) -> ObjectInfo:
        s3 = await self._s3()
        with _s3_errors("look up", key):
            answer = await s3.head_object(Bucket=self.bucket, Key=self._name(key))
        return ObjectInfo(
            key=key,
            size=int(answer["ContentLength"]),
            content_type=answer.get("ContentType", DEFAULT_CONTENT_TYPE),
            modified=answer["LastModified"],
            checksum=str(answer["ETag"]).strip('"'),
            metadata=dict(answer.get("Metadata", {})),
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.head(key)
        except ObjectNotFound:
            return False
        return True

    async def delete(self, key: str) -> bool:
        # S3's DELETE succeeds whether or not the object was there.
        existed = await self.exists(key)
        s3 = await self._s3()
        with _s3_errors("delete", key):
            await s3.delete_object(Bucket=self.bucket, Key=self._name(key))
        return existed

    async def list(
        self, prefix: str = "", *, start_after: str | None = None, limit: int | None = None
    ) -> builtins.list[str]:
        validate_listing(prefix, start_after)
        s3 = await self._s3()
        keys: builtins.list[str] = []
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._prefix + prefix}
        if start_after is not None:
            params["StartAfter"] = self._prefix + start_after
        while limit is None or len(keys) < limit:
            params["MaxKeys"] = _PAGE if limit is None else min(_PAGE, limit - len(keys))
            if params["MaxKeys"] <= 0:
                break
            with _s3_errors("list", prefix):
                answer = await s3.list_objects_v2(**params)
            for item in answer.get("Contents", []):
                key = str(item["Key"])[len(self._prefix) :]
                # Objects written by other tools may have keys no other adapter allows.
                with contextlib.suppress(ValueError):
                    keys.append(validate_key(key))
            if not answer.get("IsTruncated"):
                break
            params.pop("StartAfter", None)
            params["ContinuationToken"] = answer["NextContinuationToken"]
        return keys

    async def presign(self, key: str, expires_s: int = 300) -> str | None:
        check_expiry(expires_s)
        s3 = await self._s3()
        with _s3_errors("sign a link to", key):
            url: str = await s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._name(key)},
                ExpiresIn=expires_s,
            )
        return url

    def locate(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    async def close(self) -> None:
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        await self._stack.aclose()
        self._client = None
