"""The S3 source (`s3://` targets): see source.py for the flow and docs/s3.md for the user view."""
