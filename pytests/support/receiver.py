"""A webhook receiver for the tests."""


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; paths under /flaky/ answer 503 to their first two (or
    `status_for(path, body)` says what each answers: a status, or a status and an object sent as JSON)."""

    def __init__(self, status_for=None):
        import http.server
        import threading
        self.requests = []
        failures = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                failures[self.path] = failures.get(self.path, 0) + 1
                answer = status_for(self.path, body) if status_for is not None else (
                    503 if self.path.startswith("/flaky/") and failures[self.path] <= 2 else 200)
                status, content = answer if isinstance(answer, tuple) else (answer, None)
                self.send_response(status)
                if content is None:
                    self.end_headers()
                    return
                import json
                data = json.dumps(content).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def wait_for(self, path, count=1, timeout=30):
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.requests if r[0] == path]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len([r for r in self.requests if r[0] == path])} of {count} requests after {timeout} s")


def signature(secret, headers, body):
    """What X-MLflow-Signature must be: v1,base64(HMAC-SHA256(secret, \"<delivery id>.<timestamp>.<body>\"))."""
    import base64
    import hashlib
    import hmac
    signed = f"{headers['x-mlflow-delivery-id']}.{headers['x-mlflow-timestamp']}.{body.decode()}".encode()
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
