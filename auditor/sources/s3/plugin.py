"""The S3 source's registration (`auditor.sources`, scheme `s3`): its command-line options and
the schema of its config section. Light on purpose: boto3 is imported only when an s3://
target is scanned."""

from __future__ import annotations

import json

from auditor.resources import schema_path
from auditor.sources.base import SourceOption, SourceSpec

SOURCE = SourceSpec(
    factory="auditor.sources.s3.source:S3Source",
    description="Amazon S3 and S3-compatible object stores (s3://bucket[/prefix], s3:// for every bucket)",
    options=(
        SourceOption(
            "profile", "--profile", "AWS profile for s3:// targets (default: the standard credential chain)."
        ),
        SourceOption(
            "region", "--region", "AWS region for s3:// targets (default: the profile's or AWS_REGION)."
        ),
        SourceOption(
            "endpoint_url",
            "--endpoint-url",
            "S3-compatible endpoint (path-style addressing); without it AWS_ENDPOINT_URL_S3 applies as boto3 reads it.",
            metavar="URL",
        ),
        SourceOption(
            "role_arns",
            "--role-arn",
            "Assume this IAM role for s3:// targets (repeatable: one per account; all go into one report).",
            metavar="ARN",
            multiple=True,
        ),
    ),
    config_schema=json.loads(schema_path("source-s3").read_text(encoding="utf-8")),
)
