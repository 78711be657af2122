"""The bucket, through boto3 (the one module that imports it): list its objects, put a
file, delete keys; every failure becomes one DeployError line that names the bucket and
endpoint and never a credential.

boto3 is an optional dependency (`pip install "marginalia[deploy]"`): most sites publish
on GitHub Pages and need none of its 15 MB. It signs the requests, retries throttling
and dropped connections (standard mode: 3 attempts, AWS_MAX_ATTEMPTS to change) and finds
the credentials in the environment as every AWS tool does.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import MarginaliaError

if TYPE_CHECKING:
    from .plan import Upload

DELETE_BATCH = 1000  # the most keys one DeleteObjects request may name
CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AccessDenied"}
)
CHECK_CREDENTIALS = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"


class DeployError(MarginaliaError):
    """The bucket could not be reached, refused us, or is not there (exit 1)."""


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str  # '' or 'folder/'
    endpoint_url: str | None
    region: str | None

    def __str__(self) -> str:
        where = f"at {self.endpoint_url}" if self.endpoint_url else "on AWS S3"
        return f"s3://{self.bucket}/{self.prefix} {where}"


class Bucket:
    """One bucket (and prefix) of an S3-compatible service; safe to use from threads."""

    def __init__(self, target: Target, connections: int) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DeployError(
                'deploy needs boto3, an optional dependency: pip install "marginalia[deploy]" '
                "(or pip install boto3)"
            ) from None
        self.target = target
        config = Config(
            # R2, B2, MinIO and the like take bucket names in the path everywhere
            s3={"addressing_style": "path"} if target.endpoint_url else {},
            retries={"mode": "standard"},
            max_pool_connections=connections,
            connect_timeout=10,
            read_timeout=60,
            # Content-MD5 guards each upload; the CRC trailers botocore adds by default
            # since 1.36 are refused by some S3-compatible services.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            user_agent_extra=f"marginalia/{__version__}",
        )
        with self._failing("connect to"):
            self.client = boto3.session.Session().client(
                "s3", endpoint_url=target.endpoint_url, region_name=target.region, config=config
            )

    def listing(self) -> dict[str, str]:
        """{key relative to the prefix: ETag, lowercase without quotes} of every object."""
        found = {}
        with self._failing("list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.target.bucket, Prefix=self.target.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    rel = item["Key"][len(self.target.prefix) :]
                    if rel:
                        found[rel] = item.get("ETag", "").strip('"').lower()
        return found

    def put(self, upload: Upload) -> None:
        """Upload a file in one PUT, which the service checks against its MD5."""
        with self._failing(f"upload {upload.rel} to"), upload.file.path.open("rb") as body:
            self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.target.prefix + upload.rel,
                Body=body,
                ContentLength=upload.file.size,
                ContentMD5=base64.b64encode(bytes.fromhex(upload.file.md5)).decode("ascii"),
                ContentType=upload.stored.content_type,
                CacheControl=upload.stored.cache_control,
            )

    def delete(self, rels: list[str]) -> Iterator[str]:
        """Delete these keys, a thousand per request; yield each one once it is gone."""
        for start in range(0, len(rels), DELETE_BATCH):
            batch = rels[start : start + DELETE_BATCH]
            with self._failing("delete from"):
                answer = self.client.delete_objects(
                    Bucket=self.target.bucket,
                    Delete={
                        "Objects": [{"Key": self.target.prefix + rel} for rel in batch],
                        "Quiet": True,
                    },
                )
            refused = answer.get("Errors", [])
            if refused:
                first = refused[0]
                raise DeployError(
                    f"could not delete {len(refused)} objects from {self.target}, e.g. "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                )
            yield from batch

    @contextmanager
    def _failing(self, action: str) -> Iterator[None]:
        """boto3's exceptions as one DeployError line (it says nothing of the secret)."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            yield
        except (NoCredentialsError, PartialCredentialsError):
            raise DeployError(
                f"could not {action} {self.target}: no credentials; set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY in the environment"
            ) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "")) or str(
                exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
            )
            if code in CREDENTIAL_CODES or code == "403":
                reason = f"refused the credentials ({code}); {CHECK_CREDENTIALS}"
                if code in ("AccessDenied", "403"):
                    reason += ", and that they may list, write and delete in the bucket"
            elif code in ("NoSuchBucket", "404"):
                reason = "no such bucket"
            else:
                reason = f"{code}: {error.get('Message') or exc}"
            raise DeployError(f"could not {action} {self.target}: {reason}") from None
        except BotoCoreError as exc:
            raise DeployError(f"could not {action} {self.target}: {exc}") from None
        except OSError as exc:  # the file in site/ (boto3 wraps its network errors)
            raise DeployError(
                f"could not {action} {self.target}: {exc.filename}: {exc.strerror}"
            ) from None
