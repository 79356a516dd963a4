#!/usr/bin/env python3
"""Consume webhook-relay's CloudEvents from Kafka.

For every event it:
- reads the CloudEvents attributes from the Kafka headers (binary content mode);
- verifies both Docutray signatures again from the forwarded headers (the value is the raw body,
  byte for byte, so the body HMAC can be recomputed) and skips events that fail;
- drops duplicates by ce_id (delivery is at-least-once);
- follows multi-step workflows from STEP_* events (progress per step, as in Docutray's guide);
- routes STEP_COMPLETED validation results: errors -> manual review, warnings -> logged, else proceed;
- with the relay's tracing on, reads the W3C `traceparent` header: the trace the event belongs to
  and the relay's span a consumer's own span would be the child of (OpenTelemetry's
  `opentelemetry.propagate.extract` reads the same header).

Usage:
  pip install -r requirements.txt
  python3 consumer.py --bootstrap localhost:9092 --secret "$RELAY_DOCUTRAY_SECRETS" \
      --webhook-url "$RELAY_DOCUTRAY_WEBHOOK_URL"
"""

import argparse
import hashlib
import hmac
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError


def header(message, name):
    """The first header called `name`, as text (None if absent)."""
    for key, value in message.headers() or []:
        if key == name:
            return value.decode("utf-8") if value is not None else None
    return None


def trace_of(message):
    """The trace id and the relay's span id from the W3C traceparent header, or None."""
    parent = header(message, "traceparent")
    parts = parent.split("-") if parent else []
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    return {"trace_id": parts[1], "parent_span_id": parts[2], "sampled": parts[3] == "01"}


def signature_matches(expected, message_bytes, secrets):
    """Whether `expected` ('sha256=<hex>') is the HMAC-SHA256 of the bytes under any secret."""
    if not expected or not expected.startswith("sha256="):
        return False
    for secret in secrets:
        digest = hmac.new(secret.encode("utf-8"), message_bytes, hashlib.sha256).hexdigest()
        if hmac.compare_digest("sha256=" + digest, expected):
            return True
    return False


def verify(message, secrets, webhook_url):
    """Re-verifies Docutray's body and auth signatures from the forwarded headers."""
    body_ok = signature_matches(header(message, "x-docutray-signature"), message.value() or b"", secrets)
    auth_message = "{}|{}|{}|{}".format(
        header(message, "x-docutray-request-id"),
        header(message, "x-docutray-timestamp"),
        webhook_url,
        header(message, "x-docutray-event"),
    ).encode("utf-8")
    auth_ok = signature_matches(header(message, "x-docutray-auth-signature"), auth_message, secrets)
    return body_ok and auth_ok


class WorkflowProgress:
    """Progress of a multi-step workflow, from STEP_* events (Docutray's 'monitoring complex workflows')."""

    def __init__(self):
        self.step_states = {}
        self.total_steps = 0
        self.completed_steps = 0

    def handle(self, event_type, data):
        step_id = data.get("step_id")
        if event_type == "com.docutray.step.started":
            self.step_states[step_id] = "processing"
            self.total_steps += 1
        elif event_type == "com.docutray.step.completed":
            self.step_states[step_id] = "completed"
            self.completed_steps += 1
        elif event_type == "com.docutray.step.failed":
            self.step_states[step_id] = "failed"
        return self.percent()

    def percent(self):
        return 100.0 * self.completed_steps / self.total_steps if self.total_steps else 0.0


def quality_control(validation):
    """Docutray's 'validation and quality control': errors block, warnings are logged."""
    if not validation:
        return None
    if validation.get("errors", {}).get("count", 0) > 0:
        return "manual_review"
    if validation.get("warnings", {}).get("count", 0) > 0:
        return "warnings_logged"
    return "proceed"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--secret", action="append", required=True, help="Docutray secret (repeat for rotation; commas allowed)")
    parser.add_argument("--webhook-url", required=True, help="the relay's URL as registered in Docutray")
    parser.add_argument("--topics", default="^docutray\\..*", help="topic or ^regex to subscribe to")
    parser.add_argument("--group", default="docutray-workflows", help="consumer group id")
    parser.add_argument("--max-messages", type=int, default=0, help="stop after this many events (0: never)")
    parser.add_argument("--idle-timeout", type=float, default=0, help="stop after this many idle seconds, counted once partitions are assigned (0: never)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per event")
    args = parser.parse_args()
    secrets = [s.strip() for value in args.secret for s in value.split(",") if s.strip()]

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    consumer.subscribe([args.topics])
    progress = WorkflowProgress()
    seen = set()
    handled = 0
    last_message = time.monotonic()
    try:
        while args.max_messages == 0 or handled < args.max_messages:
            message = consumer.poll(0.5)
            if message is None:
                # Idle time counts from when the group gave this consumer its partitions: joining
                # the group can take a while on a busy machine, and nothing can arrive before it.
                if not consumer.assignment():
                    last_message = time.monotonic()
                    continue
                if args.idle_timeout and time.monotonic() - last_message > args.idle_timeout:
                    break
                continue
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    print("kafka error: {}".format(message.error()), file=sys.stderr)
                continue
            last_message = time.monotonic()
            handled += 1
            ce_id = header(message, "ce_id")
            ce_type = header(message, "ce_type")
            outcome = {
                "ce_id": ce_id,
                "ce_type": ce_type,
                "topic": message.topic(),
                "key": message.key().decode("utf-8") if message.key() else None,
                "verified": verify(message, secrets, args.webhook_url),
                "duplicate": ce_id in seen,
                "replayed": header(message, "ce_relayreplay") is not None,
                "progress": None,
                "routing": None,
                "trace": trace_of(message),
            }
            if outcome["verified"] and not outcome["duplicate"]:
                seen.add(ce_id)
                data = json.loads(message.value())
                if ce_type and ce_type.startswith("com.docutray.step."):
                    outcome["progress"] = progress.handle(ce_type, data)
                    outcome["routing"] = quality_control(data.get("validation"))
            if args.json:
                print(json.dumps(outcome), flush=True)
            else:
                state = "ok" if outcome["verified"] else "SIGNATURE MISMATCH, skipped"
                print("{ce_type} {ce_id} [{state}] progress={progress} routing={routing}".format(state=state, **outcome), flush=True)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
