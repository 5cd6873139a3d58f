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
        SourceOption(
            "inventory",
            "--inventory",
            "Read the bucket's latest S3 Inventory instead of listing it: s3://DEST-BUCKET/PREFIX/ "
            "(the inventory's destination), or 'auto' for the bucket's own inventory configuration (docs/scale.md).",
            metavar="S3URL|auto",
        ),
        SourceOption(
            "inventory_list_pages",
            "--inventory-list-pages",
            "With --inventory: list up to N pages (N x 1,000 keys) for objects newer than the inventory "
            "(default 0: none; the coverage then says they were not seen).",
            metavar="N",
        ),
    ),
    config_schema=json.loads(schema_path("source-s3").read_text(encoding="utf-8")),
)
