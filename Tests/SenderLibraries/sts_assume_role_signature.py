#!/usr/bin/env python3
"""Prints the SigV4 headers botocore signs an STS AssumeRole request with, for fixed example
credentials at 2026-01-01T00:00:00Z in eu-west-1: the known answers AWSCredentialChainTests
compares the relay's signing with. botocore is pinned in requirements-vectors.txt.

Usage: sts_assume_role_signature.py
"""
import datetime
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNED_AT = datetime.datetime(2026, 1, 1, 0, 0, 0)
BODY = ("Action=AssumeRole&Version=2011-06-15&DurationSeconds=3600"
        "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fkafka-writer&RoleSessionName=webhook-relay")
CREDENTIALS = [
    Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    Credentials("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="),
]

for credentials in CREDENTIALS:
    request = AWSRequest(
        method="POST",
        url="https://sts.eu-west-1.amazonaws.com/",
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: SIGNED_AT):
        botocore.auth.SigV4Auth(credentials, "sts", "eu-west-1").add_auth(request)
    print(request.headers["Authorization"])
