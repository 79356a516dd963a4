#!/usr/bin/env python3
"""A real OTLP/HTTP trace receiver for the tracing tests.

Listens on 127.0.0.1 (port 0: one the system picks), prints `listening PORT` once it accepts,
then decodes every POST /v1/traces body as an ExportTraceServiceRequest with the
`opentelemetry-proto` package and prints each span as one JSON line:
{"trace_id", "span_id", "parent_span_id", "name", "kind", "status", "attributes", "links",
"resource", "start", "end"}. `--stall` accepts requests and never answers (a collector that hangs).
It stops by itself after `--lifetime` seconds, or on SIGTERM.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

output_lock = threading.Lock()


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(any_value, kind)
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        return str(value)
    return value


def attributes_of(key_values):
    return {item.key: value_of(item.value) for item in key_values}


def span_json(span, resource):
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "name": span.name,
        "kind": Span.SpanKind.Name(span.kind),
        "status": {"code": span.status.code, "message": span.status.message},
        "attributes": attributes_of(span.attributes),
        "links": [{"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()} for link in span.links],
        "resource": resource,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
    }


class Receiver(BaseHTTPRequestHandler):
    stall = False

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.stall:
            threading.Event().wait()
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_error(404 if self.path != "/v1/traces" else 415)
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        lines = []
        for resource_spans in request.resource_spans:
            resource = attributes_of(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps(span_json(span, resource), sort_keys=True))
        with output_lock:
            for line in lines:
                print(line)
            sys.stdout.flush()
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--lifetime", type=float, default=300)
    options = parser.parse_args()
    Receiver.stall = options.stall
    server = ThreadingHTTPServer(("127.0.0.1", options.port), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening {server.server_address[1]}", flush=True)
    threading.Event().wait(options.lifetime)


if __name__ == "__main__":
    main()
