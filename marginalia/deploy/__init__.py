"""deploy: publish site/ to an S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2,
MinIO) for archives that outgrow GitHub Pages, so that a rerun always finishes the job.

- headers.py: how each file is stored: Content-Type, Cache-Control and its upload phase;
- plan.py: what differs between site/ and the bucket, by MD5 (the ETag of a one-part PUT);
- bucket.py: the bucket through boto3 (the one module that imports it), and its failures
  as one line naming the bucket and endpoint;
- run.py: the order: every changed file up, phase by phase, then the stale ones deleted.
"""

from .bucket import DeployError
from .run import DeployOptions, DeployReport, deploy, describe

__all__ = ["DeployError", "DeployOptions", "DeployReport", "deploy", "describe"]
