#!/usr/bin/env python3
"""Makes the known-answer vectors of the senders added after the first seven, with each sender's
official library where one exists, and judges every vector with that library at the vector's `now`.

Usage: make_vectors.py > Sources/RelayTestSupport/Resources/sender-signatures-2.json

The libraries are pinned in requirements-vectors.txt. A vector has the fields of
sender-signatures.json (secret, headers, body, body_utf8_length, body_sha256, now, valid, reason,
library, library_result) and, for senders that sign them, the `method` and `url` the sender called.
The output is committed; the tests read it, never this script.
"""
import base64
import datetime
import hashlib
import hmac
import json
import sys
from importlib.metadata import version
from unittest import mock

import hubspot.utils.signature as hubspot_signature
from hubspot.utils.signature import Signature as HubSpotSignature


def vector(name, secret, headers, body, now, valid, reason, library, library_result, **extra):
    encoded = body.encode("utf-8")
    entry = {
        "name": name,
        "secret": secret,
        "headers": {key.lower(): value for key, value in headers.items()},
        "body": body,
        "body_utf8_length": len(encoded),
        "body_sha256": hashlib.sha256(encoded).hexdigest(),
        "now": now,
        "valid": valid,
        "reason": reason,
        "library": library,
        "library_result": library_result,
    }
    entry.update(extra)
    return entry


class FixedClock(datetime.datetime):
    """datetime with now() pinned, so a library that reads the clock judges at the vector's time."""

    moment = None

    @classmethod
    def now(cls, tz=None):
        return cls.moment


def hubspot_vectors():
    library = f"hubspot-api-client {version('hubspot-api-client')} (PyPI; hubspot.utils.signature.Signature, v3)"
    secret = "3f5b2f4e-8a6c-4a51-b4c2-6d0c9a1e7f21"
    url = "https://hooks.example.com/webhooks/hubspot"
    ts_ms = 1767225600123
    now = ts_ms // 1000
    body = json.dumps(
        [
            {"eventId": 1001, "subscriptionId": 2001, "portalId": 62515, "appId": 1160452, "occurredAt": ts_ms - 500,
             "subscriptionType": "contact.creation", "attemptNumber": 0, "objectId": 123, "changeFlag": "CREATED",
             "changeSource": "CRM"},
            {"eventId": 1002, "subscriptionId": 2002, "portalId": 62515, "appId": 1160452, "occurredAt": ts_ms - 400,
             "subscriptionType": "contact.propertyChange", "attemptNumber": 0, "objectId": 123,
             "propertyName": "firstname", "propertyValue": "Zoë", "changeSource": "CRM"},
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )

    def sign(secret, method, uri, body, timestamp):
        return HubSpotSignature.get_signature(secret, body, "v3", http_uri=uri, http_method=method, timestamp=timestamp)

    def judge(signature, secret, method, uri, body, timestamp, at):
        FixedClock.moment = datetime.datetime.fromtimestamp(at, tz=datetime.timezone.utc)
        with mock.patch.object(hubspot_signature, "datetime", FixedClock):
            try:
                ok = HubSpotSignature.is_valid(signature, secret, body, http_uri=uri, http_method=method,
                                               signature_version="v3", timestamp=timestamp)
                return ok, "accepted (returned True)" if ok else "refused (returned False)"
            except Exception as error:  # the library raises for a stale timestamp
                return False, f"refused ({type(error).__name__})"

    def make(name, reason, *, signed_body=body, sent_body=body, signed_url=url, called_url=url, signed_secret=secret,
             ts=str(ts_ms), at=now, method="POST"):
        signature = sign(signed_secret, method, signed_url, signed_body, ts)
        ok, result = judge(signature, secret, method, called_url, sent_body, ts, at)
        headers = {"Content-Type": "application/json", "X-HubSpot-Signature-Version": "v3",
                   "X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": ts}
        return vector(name, secret, headers, sent_body, at, ok, reason, library, result, method=method, url=called_url)

    query_url = url + "?portal=62515&app=hub%20app"
    return {
        "spec": "https://developers.hubspot.com/docs/api/webhooks/validating-requests",
        "summary": "X-HubSpot-Signature-v3: base64 HMAC-SHA256(key = UTF-8 client secret, msg = method + URI + body + "
                   "X-HubSpot-Request-Timestamp), the timestamp in milliseconds; the library refuses one older than "
                   "300 s. The body is an array of events.",
        "vectors": [
            make("pos-batch-of-two", "Two events signed by the library for the target URL."),
            make("pos-url-with-query", "The URL HubSpot called carried a query; it is signed as called.",
                 signed_url=query_url, called_url=query_url),
            make("pos-299s-old", "Within the library's 300 s window.", at=now + 299),
            make("neg-stale", "Older than 300 s: the library raises InvalidSignatureTimestampError.", at=now + 301),
            make("neg-tampered-body", "One byte of the body changed after signing.",
                 sent_body=body.replace("Zoë", "Zoe")),
            make("neg-wrong-secret", "Signed with another app's client secret.",
                 signed_secret="0f5b2f4e-8a6c-4a51-b4c2-6d0c9a1e7f21"),
            make("neg-other-url", "Signed for another target URL (http instead of https).",
                 signed_url=url.replace("https:", "http:")),
            make("neg-query-dropped", "Signed with a query the request no longer carries.", signed_url=query_url),
        ],
    }


def reference_hex(secret, message):
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def zoom_vectors():
    library = "reference verifier in make_vectors.py (CPython hmac/hashlib), as Zoom's documentation and its Node sample verify; Zoom ships no Python verifier"
    secret = "Gq4xvR1_fKs0b2WUZc9s3A"
    now = 1767225600
    body = json.dumps({"event": "meeting.started", "event_ts": now * 1000, "payload": {
        "account_id": "AAAAAAAAAAAAAAAAAAAAAA", "object": {"id": "85743902736", "uuid": "4444AAAiAAAAAiAiAiiAii==",
                                                             "topic": "Réunion"}}}, ensure_ascii=False,
                      separators=(",", ":"))
    validation = '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1767225600000,"event":"endpoint.url_validation"}'

    def judge(signature, timestamp, sent, at):
        expected = "v0=" + reference_hex(secret, f"v0:{timestamp}:{sent}")
        fresh = abs(at - int(timestamp)) <= 300
        ok = hmac.compare_digest(expected, signature) and fresh
        return ok, "accepted" if ok else ("refused (stale)" if not fresh else "refused (signature differs)")

    def make(name, reason, *, signed=body, sent=body, signed_secret=secret, ts=now, at=now, form="v0={}", upper=False,
             **extra):
        digest = reference_hex(signed_secret, f"v0:{ts}:{signed}")
        signature = form.format(digest.upper() if upper else digest)
        ok, result = judge(signature, str(ts), sent, at)
        headers = {"Content-Type": "application/json; charset=utf-8", "x-zm-request-timestamp": str(ts),
                   "x-zm-signature": signature, "x-zm-trackingid": "v=2.0&s=1767225600&c=us05"}
        return vector(name, secret, headers, sent, at, ok, reason, library, result, **extra)

    return {
        "spec": "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
        "summary": "x-zm-signature: 'v0=' + hex HMAC-SHA256(key = UTF-8 secret token, msg = 'v0:' + "
                   "x-zm-request-timestamp + ':' + body). endpoint.url_validation is answered with plainToken and "
                   "encryptedToken = hex HMAC-SHA256(secret token, plainToken).",
        "vectors": [
            make("pos-meeting-started", "A signed event."),
            make("pos-url-validation", "Zoom's endpoint check; the answer's encryptedToken is given.", signed=validation,
                 sent=validation, encrypted_token=reference_hex(secret, "qgg8vlvZRS6UYooatFL8Aw")),
            make("neg-tampered-body", "The body changed after signing.", sent=body.replace("Réunion", "Reunion")),
            make("neg-wrong-secret", "Signed with another app's secret token.", signed_secret="Hq4xvR1_fKs0b2WUZc9s3A"),
            make("neg-stale", "Signed 301 s before now.", at=now + 301),
            make("neg-uppercase-hex", "Zoom writes lowercase hex; the reference compares text.", upper=True),
            make("neg-no-prefix", "The hex without 'v0='.", form="{}"),
        ],
    }


def main():
    output = {
        "description": "Known-answer vectors of the senders added after the first seven, in the format of "
                       "sender-signatures.json plus the `method` and `url` the sender called where it signs them. "
                       "`library_result` is what the sender's official library did with exactly these inputs at "
                       "`now`. Regenerate with Tests/SenderLibraries/make_vectors.py.",
        "generator": "Tests/SenderLibraries/make_vectors.py",
        "python": sys.version.split()[0],
        "libraries": {
            "hubspot-api-client": version("hubspot-api-client"),
        },
        "schemes": {
            "hubspot": hubspot_vectors(),
            "zoom": zoom_vectors(),
        },
    }
    json.dump(output, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
