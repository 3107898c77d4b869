"""A handler for execution environment processes: S3 writes checked by IAM, a hang past the timeout, a crash."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    action = event.get("action")
    if action == "hang":
        time.sleep(30)
    if action == "crash":
        os._exit(3)  # the process dies mid-invocation
    answers: dict[str, Any] = {"pid": os.getpid()}
    if action == "write":
        s3 = boto3.client("s3")
        for key in event["keys"]:
            try:
                s3.put_object(Bucket=event["bucket"], Key=key, Body=b"x")
                answers[key] = "written"
            except ClientError as error:
                answers[key] = error.response["Error"]["Code"]
    return answers
