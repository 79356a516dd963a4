#!/usr/bin/env python3
"""Signs one delivery per sender with that sender's own Python library and posts it to a relay.

Usage: send_with_sender_libraries.py BASE_URL NOW SECRETS_JSON

BASE_URL is the relay's listener (http://127.0.0.1:PORT), NOW the Unix time to sign with, and
SECRETS_JSON maps a source name to its secret (and `hubspot_url`, `twilio_url` to the URLs those
senders sign). Each delivery is sent three times with a different client: urllib (Connection:
close, whole body before reading) first, then http.client on a kept-alive connection, then curl;
the relay must answer the retries as duplicates. Prints one JSON line per delivery: source, id, the
three statuses and answers, and the record value and topic expected.
"""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import subprocess
import sys
import urllib.parse
import urllib.request

import standardwebhooks
import stripe
import svix.webhooks
from githubkit.webhooks import sign as github_sign
from hubspot.utils.signature import Signature as HubSpotSignature
from Adyen.util import generate_notification_sig
from slack_sdk.signature import SignatureVerifier
from paddle_billing.Notifications import Secret as PaddleSecret, Verifier as PaddleVerifier
from square.utils.webhooks_helper import verify_signature as square_verify_signature
from twilio.request_validator import RequestValidator


def deliveries(now, secrets):
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)

    body = '{"type":"invoice.paid","data":{"id":"in_lib_1","amount_due":4200,"currency":"eur"}}'
    signature = standardwebhooks.Webhook(secrets["standard-webhooks"]).sign("msg_lib_std_1", moment, body)
    yield "standard-webhooks", "msg_lib_std_1", body, {
        "webhook-id": "msg_lib_std_1",
        "webhook-timestamp": str(now),
        "webhook-signature": signature,
    }

    body = '{"type":"user.created","data":{"id":"user_lib_1","name":"Zoë"}}'
    signature = svix.webhooks.Webhook(secrets["standard-webhooks"]).sign("msg_lib_svix_1", moment, body)
    yield "standard-webhooks", "msg_lib_svix_1", body, {
        "svix-id": "msg_lib_svix_1",
        "svix-timestamp": str(now),
        "svix-signature": signature,
    }

    body = '{"id":"evt_lib_1","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_lib_1"}}}'
    header = stripe.WebhookSignature.generate_signature_header(body, secrets["stripe"], timestamp=now)
    yield "stripe", "evt_lib_1", body, {"Stripe-Signature": header}

    body = '{"type":"event_callback","event_id":"Ev0LIB0001","event":{"type":"message","channel":"C0LIB","text":"hé"}}'
    signature = SignatureVerifier(secrets["slack"]).generate_signature(timestamp=str(now), body=body)
    yield "slack", "Ev0LIB0001", body, {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": signature}

    body = '{"ref":"refs/heads/main","repository":{"full_name":"octo/lib"},"pusher":{"name":"Zoë"}}'
    yield "github", "lib-delivery-1", body, {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "lib-delivery-1",
        "X-Hub-Signature-256": github_sign(secrets["github"], body, method="sha256"),
    }

    # HubSpot posts a list of events, each published as a record of its own (value: the item).
    item = '{"eventId":77,"subscriptionId":2001,"portalId":62515,"subscriptionType":"contact.creation","objectId":9,"propertyValue":"Zoë"}'
    body = f"[{item}]"
    millis = str(now * 1000)
    signature = HubSpotSignature.get_signature(
        secrets["hubspot"], body, "v3", http_uri=secrets["hubspot_url"], http_method="POST", timestamp=millis
    )
    yield "hubspot", "62515-2001-77", body, {
        "X-HubSpot-Signature-Version": "v3",
        "X-HubSpot-Request-Timestamp": millis,
        "X-HubSpot-Signature-v3": signature,
    }, item

    # Twilio posts form fields, signed over the URL and the sorted fields.
    fields = {"MessageSid": "SMlib0001", "SmsStatus": "received", "From": "+14155550100", "Body": "Grüße ☕ & more"}
    body = urllib.parse.urlencode(fields)
    signature = RequestValidator(secrets["twilio"]).compute_signature(secrets["twilio_url"], fields)
    yield "twilio", "twilio-lib-1", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "I-Twilio-Idempotency-Token": "twilio-lib-1",
        "X-Twilio-Signature": signature,
    }

    # Square's and Paddle's libraries only verify: the signature is made as their documentation
    # says, and each library must accept it before it is sent.
    body = ('{"merchant_id":"M1","type":"payment.updated","event_id":"sq-lib-1","created_at":"2026-01-01T00:00:00Z",'
            '"data":{"type":"payment","id":"PAY-lib-1","object":{"note":"Grüße"}}}')
    code = hmac.new(secrets["square"].encode(), (secrets["square_url"] + body).encode(), hashlib.sha256).digest()
    signature = base64.b64encode(code).decode()
    assert square_verify_signature(request_body=body, signature_header=signature, signature_key=secrets["square"],
                                   notification_url=secrets["square_url"])
    yield "square", "sq-lib-1", body, {"x-square-hmacsha256-signature": signature}

    body = '{"event_id":"evt_lib_paddle_1","event_type":"subscription.created","data":{"id":"sub_lib_1","note":"Grüße"}}'
    h1 = hmac.new(secrets["paddle"].encode(), f"{now}:{body}".encode(), hashlib.sha256).hexdigest()
    header = f"ts={now};h1={h1}"

    class Request:
        headers = {"Paddle-Signature": header}
        content = body.encode()
    # The SDK checks the time against the machine's clock; the relay under test runs at NOW.
    assert PaddleVerifier().verify(Request(), PaddleSecret(secrets["paddle"]), verify_time_drift=False)
    yield "paddle", "evt_lib_paddle_1", body, {"Paddle-Signature": header}

    # Adyen signs each notification item inside the body; the relay answers [accepted].
    item = {"amount": {"currency": "EUR", "value": 4200}, "eventCode": "AUTHORISATION",
            "merchantAccountCode": "AcmeECOM", "merchantReference": "order-lib-1", "originalReference": "",
            "pspReference": "LIBPSP0000000001", "success": "true"}
    item["additionalData"] = {"hmacSignature": generate_notification_sig(item, secrets["adyen"]).decode()}
    element = json.dumps({"NotificationRequestItem": item}, ensure_ascii=False, separators=(",", ":"))
    body = f'{{"live":"false","notificationItems":[{element}]}}'
    yield "adyen", "LIBPSP0000000001:AUTHORISATION:true", body, {}, element


def post_urllib(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post_http_client(connection, path, body, headers):
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


def post_curl(url, body, headers):
    arguments = ["curl", "-sS", "-X", "POST", "--data-binary", "@-", "-w", "\n%{http_code}", url]
    for name, value in headers.items():
        arguments += ["-H", f"{name}: {value}"]
    run = subprocess.run(arguments, input=body, capture_output=True, timeout=30, check=True)
    answer, _, status = run.stdout.decode().rpartition("\n")
    return int(status), answer


def main():
    base, now, secrets = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    parsed = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=20)
    for source, delivery_id, body, headers, *value in deliveries(now, secrets):
        headers = {"Content-Type": "application/json", **headers}
        data = body.encode()
        path = f"/webhooks/{source}"
        first = post_urllib(base + path, data, headers)
        second = post_http_client(connection, path, data, headers)
        third = post_curl(base + path, data, headers)
        print(json.dumps({
            "source": source, "id": delivery_id, "body": body, "value": value[0] if value else body,
            "first": first[0], "first_answer": first[1], "second": second[0], "second_answer": second[1],
            "third": third[0], "third_answer": third[1],
        }), flush=True)
    connection.close()


if __name__ == "__main__":
    main()
