"""REST API auth and hostile input over real sockets against a real `tiercel serve`: missing and wrong tokens, the
dashboard login (cookie attributes, CSRF on mutations, logout), the failed-login rate limit, a daemon bound to a
non-loopback address (everything but login, session and the dashboard's files needs credentials), malformed JSON,
oversized bodies and headers, unknown routes and methods, path traversal in static serving, and the header timeout.
Every error must be JSON {"error": {"code", "message"}}."""
import json
import socket
import time

from api_testlib import BrowserSession, error_code, raw_exchange
from tiercel_testlib import Daemon, check, finish, free_port

MUTATIONS = ["/api/v1/config/reload", "/api/v1/plans/1/approve", "/api/v1/plans/1/reject", "/api/v1/pool/jobs",
             "/api/v1/pool/jobs/1/cancel", "/api/v1/disks/disk0/acknowledge", "/api/v1/hsm/stub",
             "/api/v1/hsm/recall", "/api/v1/hsm/pin", "/api/v1/hsm/unpin"]


def check_json_error(status, headers, body, want_status, want_code, what):
    code = error_code(body)
    check(status == want_status and code == want_code,
          f"{what}: want {want_status} {want_code}, got {status} {body[:120]!r}")
    check(headers.get("Content-Type") == "application/json", f"{what}: the error is JSON")


def test_tokens(daemon):
    token = daemon.token()
    for path in MUTATIONS:
        status, headers, body = daemon.request("POST", path, body={})
        check_json_error(status, headers, body, 401, "unauthorized", f"POST {path} without a token")
        status, headers, body = daemon.request("POST", path, body={}, token="x" * 64)
        check_json_error(status, headers, body, 401, "unauthorized", f"POST {path} with a wrong token")
    status, _, _ = daemon.request("POST", "/api/v1/config/reload", token=token)
    check(status == 200, f"the right token may mutate: {status}")
    status, _, _ = daemon.request("POST", "/api/v1/config/reload", headers={"Authorization": f"Basic {token}"})
    check(status == 401, f"a token in another scheme is not accepted: {status}")
    status, _, _ = daemon.request("GET", "/api/v1/status")
    check(status == 200, f"on loopback reads are open: {status}")


def test_login_and_csrf(daemon):
    token = daemon.token()
    browser = BrowserSession(daemon)
    status, headers, body = browser.login("wrong-" + token[6:])
    check_json_error(status, headers, body, 401, "unauthorized", "login with a wrong token")
    status, headers, body = daemon.request("POST", "/api/v1/login", body="{not json",
                                           headers={"Content-Type": "application/json"})
    check_json_error(status, headers, body, 400, "invalid_input", "login with malformed JSON")
    status, headers, body = daemon.request("POST", "/api/v1/login", body={"password": token})
    check_json_error(status, headers, body, 400, "invalid_input", "login without a token field")

    status, headers, body = browser.login(token)
    check(status == 200, f"login with the token: {status} {body!r}")
    cookie = headers.get("Set-Cookie", "")
    attributes = [part.strip() for part in cookie.split(";")]
    check(attributes[0].startswith("tiercel_session=") and len(attributes[0]) == len("tiercel_session=") + 64,
          f"a 256-bit session id: {attributes[0]!r}")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        check(attribute in attributes, f"the cookie has {attribute}: {cookie!r}")
    check(len(browser.csrf or "") == 64, "login returns a csrf_token")

    status, _, body = browser.request("GET", "/api/v1/session")
    session = json.loads(body)
    check(status == 200 and session == {"authenticated": True, "csrf_token": browser.csrf,
                                        "mutations_need_login": False, "reads_need_login": False},
          f"session with the cookie: {session}")
    status, _, body = daemon.request("GET", "/api/v1/session")
    session = json.loads(body)
    check(session["authenticated"] is False and session["csrf_token"] is None and session["mutations_need_login"],
          f"session without a cookie: {session}")

    status, headers, body = browser.request("POST", "/api/v1/config/reload", csrf=False)
    check_json_error(status, headers, body, 403, "csrf", "a cookie mutation without X-CSRF-Token")
    status, headers, body = daemon.request("POST", "/api/v1/config/reload",
                                           headers={"Cookie": browser.cookie, "X-CSRF-Token": "0" * 64})
    check_json_error(status, headers, body, 403, "csrf", "a cookie mutation with a wrong X-CSRF-Token")
    status, _, body = browser.request("POST", "/api/v1/config/reload")
    check(status == 200, f"a cookie mutation with the CSRF token: {status} {body!r}")
    status, headers, body = daemon.request("POST", "/api/v1/config/reload",
                                           headers={"Cookie": "tiercel_session=" + "f" * 64, "X-CSRF-Token": "x"})
    check_json_error(status, headers, body, 401, "unauthorized", "an unknown session cookie")

    status, headers, _ = browser.request("POST", "/api/v1/logout")
    check(status == 200 and "Max-Age=0" in headers.get("Set-Cookie", ""), "logout clears the cookie")
    status, headers, body = browser.request("POST", "/api/v1/config/reload")
    check_json_error(status, headers, body, 401, "unauthorized", "the session is gone after logout")


def test_bad_input(daemon):
    token = daemon.token()
    status, headers, body = daemon.request("POST", "/api/v1/plans/1/approve", body="{bad", token=token,
                                           headers={"Content-Type": "application/json"})
    check(status in (400, 404) and error_code(body) in ("invalid_input", "no_planner"),
          f"malformed JSON to approve: {status} {body!r}")
    status, headers, body = daemon.request("POST", "/api/v1/pool/jobs", body="[1,2", token=token)
    check(status in (400, 404) and error_code(body) is not None, f"malformed JSON job: {status} {body!r}")
    status, headers, body = daemon.request("GET", "/api/v1/nothing-here")
    check_json_error(status, headers, body, 404, "not_found", "an unknown route")
    status, headers, body = daemon.request("DELETE", "/api/v1/status", token=token)
    check_json_error(status, headers, body, 405, "method_not_allowed", "a wrong method")
    check(headers.get("Allow") == "GET", f"405 names the allowed method: {headers.get('Allow')}")
    status, headers, body = daemon.request("GET", "/api/v1/events?limit=9999")
    check_json_error(status, headers, body, 400, "invalid_input", "an out-of-range limit")

    big = b"{" + b" " * (2 << 20) + b"}"
    head = f"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n"
    reply = raw_exchange(daemon.port, head.encode() + big)
    check(reply.startswith(b"HTTP/1.1 413") and b'"body_too_large"' in reply, f"oversized body: {reply[:80]!r}")
    reply = raw_exchange(daemon.port, b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 20000 + b"\r\n\r\n")
    check(reply.startswith(b"HTTP/1.1 431") and b'"header_too_large"' in reply, f"oversized header: {reply[:80]!r}")
    # Found by the fuzzer: a path that is not UTF-8, echoed in the 404 message, used to drop the connection unanswered.
    reply = raw_exchange(daemon.port, b"GET /api/v1/appr\x94ve HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(reply.startswith(b"HTTP/1.1 404") and b'"not_found"' in reply, f"a non-UTF-8 path: {reply[:80]!r}")
    check(daemon.process.poll() is None, "the daemon survives a non-UTF-8 path")
    reply = raw_exchange(daemon.port, b"\x16\x03\x01 not http at all\r\n\r\n")
    check(reply.startswith(b"HTTP/1.1 400") and b'"bad_request"' in reply, f"garbage: {reply[:80]!r}")


def test_traversal(daemon):
    for target in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html/../../../etc/passwd",
                   "/..%2f..%2fetc%2fpasswd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/app.js%00.html",
                   "/static/../../../../etc/shadow", "//etc/passwd", "/.%2e/.%2e/etc/passwd", "/%252e%252e/etc/passwd"]:
        reply = raw_exchange(daemon.port, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head, _, body = reply.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
        check(status in (400, 404) and error_code(body) is not None, f"traversal {target}: {reply[:80]!r}")
        check(b"root:" not in reply and b"daemon:" not in reply, f"traversal {target} leaked a system file")


def test_header_timeout(daemon):
    # request_timeout is 1 s in this config: a client that stops mid-header is cut off.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            data = s.recv(1024)
        except ConnectionResetError:
            data = b""
        elapsed = time.monotonic() - started
    check(data == b"" and 0.5 < elapsed < 5, f"a stalled header is closed after the timeout: {elapsed:.1f}s {data!r}")
    status, _, _ = daemon.request("GET", "/api/v1/health")
    check(status == 200, "still serving after hostile input")


def test_login_rate_limit(daemon):
    wrong = {"token": "0" * 64}
    statuses = [daemon.request("POST", "/api/v1/login", body=wrong)[0] for _ in range(5)]
    check(statuses == [401] * 5, f"five wrong logins are 401: {statuses}")
    status, headers, body = daemon.request("POST", "/api/v1/login", body={"token": daemon.token()})
    check_json_error(status, headers, body, 429, "too_many_logins", "the sixth login within a minute")
    retry = int(headers.get("Retry-After", "0"))
    check(1 <= retry <= 60, f"Retry-After in seconds: {headers.get('Retry-After')}")
    status, _, _ = daemon.request("POST", "/api/v1/config/reload", token=daemon.token())
    check(status == 200, "the bearer token still works while logins are limited")
    _, _, metrics = daemon.request("GET", "/metrics")
    check(b"tiercel_http_login_failures_total " in metrics, "failed logins are counted in /metrics")


def test_not_loopback():
    port = free_port()
    with Daemon(http_config='request_timeout = "1s"\n', port=port) as daemon:
        daemon.write_config(http_config=f'listen = "0.0.0.0:{port}"\n')
        # write_config appended a second listen; keep only ours.
        with open(daemon.config_path) as f:
            text = f.read().replace(f'listen = "127.0.0.1:{port}"\n', "", 1)
        with open(daemon.config_path, "w") as f:
            f.write(text)
        daemon.start(wait=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if daemon.request("GET", "/api/v1/session", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        token = daemon.token()
        for path in ["/api/v1/status", "/api/v1/health", "/api/v1/events", "/api/v1/config", "/api/v1/ha",
                     "/metrics", "/api/v1/openapi.yaml", "/api/v1/events/stream"]:
            status, headers, body = daemon.request("GET", path)
            check_json_error(status, headers, body, 401, "unauthorized", f"off loopback, GET {path} without a token")
        status, _, _ = daemon.request("GET", "/api/v1/status", token=token)
        check(status == 200, f"off loopback, reads work with the token: {status}")
        status, _, body = daemon.request("GET", "/api/v1/session")
        check(status == 200 and json.loads(body)["reads_need_login"] is True, f"session is open: {body!r}")
        status, _, body = daemon.request("GET", "/")
        check(status == 200 and b"<html" in body.lower(), f"the dashboard shell is open: {status}")
        browser = BrowserSession(daemon)
        status, _, _ = browser.login(token)
        check(status == 200, "login is open off loopback")
        status, _, _ = browser.request("GET", "/api/v1/status")
        check(status == 200, f"the session cookie authorizes reads: {status}")
        daemon.stop()


def main():
    with Daemon(http_config='request_timeout = "1s"\n') as daemon:
        daemon.start()
        test_tokens(daemon)
        test_login_and_csrf(daemon)
        test_bad_input(daemon)
        test_traversal(daemon)
        test_header_timeout(daemon)
        check(daemon.stop() == 0, "clean shutdown")
    with Daemon() as daemon:  # its own daemon: no earlier failed login counts, and 127.0.0.1 ends up locked out
        daemon.start()
        test_login_rate_limit(daemon)
        daemon.stop()
    test_not_loopback()
    finish()


if __name__ == "__main__":
    main()
