"""Starts a real `aitip serve` for the Python test suites (browser, MLflow) and stops it afterwards."""
import contextlib
import os
import pathlib
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(admin_password, extra_env=None, extra_args=()):
    """Yields (base_url, data_directory) of a fresh server on a free port; its stderr is shown if it fails to start."""
    binary = os.environ.get("AITIP_BIN", str(ROOT / ".build" / "debug" / "aitip"))
    port = free_port()
    data = tempfile.mkdtemp(prefix="aitip-test-")
    env = dict(os.environ, AITIP_ADMIN_PASSWORD=admin_password, AITIP_LOG_LEVEL="warning", **(extra_env or {}))
    env.pop("AITIP_TOKEN", None)
    process = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data, *extra_args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=0.5)
            break
        except Exception:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("aitip did not start: " + process.stderr.read().decode())
    try:
        yield base, pathlib.Path(data)
    finally:
        process.terminate()
        process.wait(timeout=30)
