#!/usr/bin/env python3
"""Sends several requests over one keep-alive TCP connection (a raw socket) and reports each answer.

Usage: keep_alive_session.py PORT < STEPS

STEPS is a JSON list; each step is {"pause": seconds to wait before sending, "request": the whole
request in base64, "trickle": seconds between single bytes, or 0 to send it at once}. Prints a JSON
list with one object per step sent: status (null when the relay closed the connection instead of
answering), closed, and seconds from the step's first byte to its answer or to the close. Stops
after the first close.
"""
import base64
import json
import select
import socket
import sys
import time


def read_answer(sock, pending):
    """Reads one answer (head and Content-Length body); returns (status, rest) or (None, b"") on close."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return status, rest[length:]


def send(sock, request, trickle):
    """Writes the request; returns False as soon as the relay closes the connection meanwhile.

    Between trickled bytes it waits on the socket, so a close is seen when it happens, not at the
    next write (the first write after a close still succeeds). Stops writing if an answer arrives.
    """
    try:
        if trickle <= 0:
            sock.sendall(request)
            return True
        for index in range(len(request)):
            sock.sendall(request[index:index + 1])
            readable, _, _ = select.select([sock], [], [], trickle)
            if readable:
                return bool(sock.recv(1, socket.MSG_PEEK))
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def main():
    port = int(sys.argv[1])
    steps = json.load(sys.stdin)
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    results = []
    pending = b""
    for step in steps:
        time.sleep(step["pause"])
        started = time.monotonic()
        status = None
        if send(sock, base64.b64decode(step["request"]), step["trickle"]):
            try:
                status, pending = read_answer(sock, pending)
            except ConnectionResetError:
                status = None
        results.append({"status": status, "closed": status is None, "seconds": time.monotonic() - started})
        if status is None:
            break
    sock.close()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
