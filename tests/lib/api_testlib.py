"""Helpers for the REST API tests (stdlib only): raw socket exchanges, a dashboard-like cookie session, and a
Server-Sent Events reader that parses the stream as a browser's EventSource does."""
import http.client
import json
import socket
import threading
import time


def raw_exchange(port, payload, timeout=5):
    """Send raw bytes, return everything the server answers until it closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and stop reading before the whole body is sent
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def error_code(body):
    """The stable code of a JSON error body, or None when the body is not one."""
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


class BrowserSession:
    """What the dashboard does: log in with the token, keep the cookie, send X-CSRF-Token on mutations."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.cookie = None
        self.csrf = None

    def login(self, token):
        status, headers, body = self.daemon.request("POST", "/api/v1/login", body={"token": token})
        if status == 200:
            set_cookie = headers.get("Set-Cookie", "")
            self.cookie = set_cookie.split(";")[0]
            self.csrf = json.loads(body)["csrf_token"]
        return status, headers, body

    def request(self, method, path, body=None, csrf=True):
        headers = {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.daemon.request(method, path, body=body, headers=headers)


class SseClient:
    """Reads GET /api/v1/events/stream on a thread; events and comments are collected as they arrive."""

    def __init__(self, port, last_event_id=None, headers=None, path="/api/v1/events/stream"):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        all_headers = dict(headers or {})
        if last_event_id is not None:
            all_headers["Last-Event-ID"] = str(last_event_id)
        self.connection.request("GET", path, headers=all_headers)
        self.sock = self.connection.sock  # http.client lets go of it once the response says Connection: close
        self.response = self.connection.getresponse()
        self.events = []      # (id, event name, parsed data)
        self.comments = []    # (monotonic time, text)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        if self.response.status == 200:
            self.thread.start()

    def _read(self):
        fields = {}
        try:
            while True:
                raw = self.response.fp.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if "data" in fields:
                        with self.lock:
                            self.events.append((int(fields.get("id", "0")), fields.get("event", "message"),
                                                json.loads(fields["data"])))
                    fields = {}
                elif line.startswith(":"):
                    with self.lock:
                        self.comments.append((time.monotonic(), line[1:].strip()))
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
        except (OSError, ValueError):
            return

    def wait_for(self, predicate, timeout=30):
        """The first event (id, kind, data) that predicate accepts, or None after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for event in self.events:
                    if predicate(event):
                        return event
            time.sleep(0.05)
        return None

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
        except OSError:
            pass
        self.response.close()
        self.sock.close()
