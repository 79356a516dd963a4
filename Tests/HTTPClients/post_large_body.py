#!/usr/bin/env python3
"""Posts a large body the way Python clients do and reports how the relay answered.

Usage: post_large_body.py PORT PATH SIZE CLIENT CONNECTION [CONTENT_TYPE]

CLIENT is http.client or urllib; CONNECTION is close or keep-alive. Both clients write the whole
body before they read the answer. With keep-alive, a GET /healthz follows on the same connection.
Prints one JSON object: status, seconds until the answer was read, the answer's error code, the
follow-up's status (keep-alive), or the exception a client raised.
"""
import http.client
import json
import sys
import time
import urllib.error
import urllib.request


def main():
    port, path, size, client, connection = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    content_type = sys.argv[6] if len(sys.argv) > 6 else "application/json"
    body = b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'
    headers = {"Content-Type": content_type, "Connection": connection}
    result = {}
    started = time.monotonic()
    try:
        if client == "urllib":
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status, answer = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, answer = error.code, error.read()
        else:
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            status, answer = response.status, response.read()
            if connection == "keep-alive":
                conn.request("GET", "/healthz")
                follow = conn.getresponse()
                follow.read()
                result["follow_up"] = follow.status
            conn.close()
        result.update(status=status, error=json.loads(answer).get("error"))
    except Exception as error:  # the test reports what a user would see
        result["exception"] = f"{type(error).__name__}: {error}"
    result["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
