"""Serves the logistic regression that train.py trains, as an aitip inference replica.

It loads the weights train.py checkpointed (`logreg.npz`, shipped next to this file in the code package) and answers
HTTP on the Unix socket aitip gives it (AITIP_SERVE_SOCKET): `GET /health`, and `POST /predict` with
`{"inputs": [[x1, …, x20], …]}` → `{"probabilities": […], "labels": […], "model": "models:/…"}`.

    aitip inference deploy --project P --name logreg --model models:/logreg/1 --code serving --command "python3 serve.py"
"""
import http.server
import json
import os
import socketserver

import numpy as np

saved = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "logreg.npz"))
weights, bias = saved["weights"], float(saved["bias"])
SOCKET = os.environ["AITIP_SERVE_SOCKET"]
MODEL = os.environ.get("AITIP_MODEL_URI", "")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.answer(200, {"status": "ready", "features": len(weights)})
        self.answer(404, {"error": "GET /health or POST /predict"})

    def do_POST(self):
        if self.path != "/predict":
            return self.answer(404, {"error": "POST /predict"})
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            inputs = np.asarray(request["inputs"], dtype=float)
            if inputs.ndim != 2 or inputs.shape[1] != len(weights):
                raise ValueError(f"inputs must be rows of {len(weights)} numbers")
        except (ValueError, KeyError, TypeError) as error:
            return self.answer(400, {"error": str(error)})
        probabilities = 1.0 / (1.0 + np.exp(-(inputs @ weights + bias)))
        self.answer(200, {"probabilities": probabilities.tolist(), "labels": (probabilities > 0.5).astype(int).tolist(), "model": MODEL})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        connection, _ = self.socket.accept()
        return connection, ("gateway", 0)


if os.path.exists(SOCKET):
    os.unlink(SOCKET)
Server(SOCKET, Handler).serve_forever()
