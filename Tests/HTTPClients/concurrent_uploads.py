#!/usr/bin/env python3
"""Holds many large unsigned uploads in flight at once, as an attacker would, with http.client.

Usage: concurrent_uploads.py PORT PATH COUNT SIZE READY_FILE RELEASE_FILE

Each of COUNT threads opens a connection, sends the head and all of a SIZE-byte body but its last
byte, then waits: once every thread has got that far (or has its answer already) it creates
READY_FILE and waits for RELEASE_FILE to appear before sending the last byte. So all the bodies the
relay keeps are in its memory at the same moment. Prints one JSON object: the count of each status,
and any exceptions.
"""
import collections
import http.client
import json
import os
import sys
import threading
import time


def main():
    port, path, count, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ready_file, release_file = sys.argv[5], sys.argv[6]
    body = b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'
    barrier = threading.Barrier(count + 1)
    statuses = collections.Counter()
    errors = []
    lock = threading.Lock()

    def upload():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
            conn.putheader("X-Hub-Signature-256", "sha256=" + "0" * 64)
            conn.putheader("X-GitHub-Event", "push")
            conn.putheader("X-GitHub-Delivery", "attack")
            conn.endheaders()
            conn.send(body[:-1])
        except Exception as error:
            with lock:
                errors.append(f"{type(error).__name__}: {error}")
            barrier.wait()
            return
        barrier.wait()
        while not os.path.exists(release_file):
            time.sleep(0.05)
        try:
            conn.send(body[-1:])
        except Exception:
            pass  # answered early and closed: the answer is still there to read
        try:
            response = conn.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        except Exception as error:
            with lock:
                errors.append(f"{type(error).__name__}: {error}")
        conn.close()

    threads = [threading.Thread(target=upload) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    open(ready_file, "w").close()
    for thread in threads:
        thread.join()
    print(json.dumps({"statuses": {str(k): v for k, v in statuses.items()}, "errors": errors[:5]}))


if __name__ == "__main__":
    main()
