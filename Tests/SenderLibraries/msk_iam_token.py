#!/usr/bin/env python3
"""Prints the Amazon MSK IAM tokens that AWS's aws-msk-iam-sasl-signer-python makes for fixed
example credentials at 2026-01-01T00:00:00Z in us-east-1: the known answers MSKIAMTokenTests
compares the relay's tokens with. Pinned in requirements-vectors.txt.

Usage: msk_iam_token.py
"""
import datetime
from unittest import mock

import botocore.auth
from botocore.credentials import Credentials
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

SIGNED_AT = datetime.datetime(2026, 1, 1, 0, 0, 0)
CREDENTIALS = [
    Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    Credentials("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/="),
]

construct = MSKAuthTokenProvider.__dict__["__construct_auth_token"]
for credentials in CREDENTIALS:
    # The signer reads the clock through botocore; pin it to the known answer's time.
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda: SIGNED_AT):
        token, expires_ms = construct(region="us-east-1", aws_credentials=credentials)
    print(token, expires_ms)
