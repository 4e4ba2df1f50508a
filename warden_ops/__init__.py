"""Operator commands for a deployed Warden stack (or the local twin): rollback, history, settings.

    python -m warden_ops history --resource 'arn:aws:s3:::ml-*' --since 7d
    python -m warden_ops rollback cloudtrail:3f2c... [--force]

They use your own AWS credentials: history reads the audit table (dynamodb:Query on its by-resource
index, BatchGetItem and Scan on the table), and rollback restores under your own identity (warden_ops.rollback).
"""

import sys
from pathlib import Path

_LAYER = Path(__file__).resolve().parent.parent / "layers" / "warden"
if str(_LAYER) not in sys.path:
    sys.path.insert(0, str(_LAYER))  # the warden library, as the Lambda layer ships it
