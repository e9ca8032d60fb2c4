#!/usr/bin/env python3
"""Cold start and idle memory of `aitip serve`: time from exec to the first 200 from /healthz, and RSS after idling.

Usage: bench/cold_start.py BINARY DATABASE_URL [--runs N]
Run 1 starts on an empty database (migrations and the bootstrap admin included); later runs restart on it.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request


def wait_healthy(url, deadline):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=0.2) as response:
                if response.status == 200:
                    return True
        except Exception:
            time.sleep(0.002)
    return False


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("database_url")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--port", type=int, default=18181)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="aitip-bench-")
    url = f"http://127.0.0.1:{args.port}/healthz"
    env = dict(os.environ, AITIP_ADMIN_PASSWORD="bench-password-1", AITIP_LOG_LEVEL="warning")
    starts, rss = [], []
    try:
        for run in range(args.runs):
            begin = time.monotonic()
            server = subprocess.Popen([args.binary, "serve", "--listen", f"127.0.0.1:{args.port}", "--data-dir", data,
                                       "--database-url", args.database_url.replace("DATA", data)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not wait_healthy(url, begin + 30):
                server.kill()
                sys.exit("server did not become healthy")
            starts.append(time.monotonic() - begin)
            time.sleep(3)
            rss.append(rss_mib(server.pid))
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        print(f"first_start_s={starts[0]:.3f}")
        print(f"restart_s_median={statistics.median(starts[1:]):.3f} restart_s_max={max(starts[1:]):.3f} runs={len(starts) - 1}")
        print(f"idle_rss_mib_median={statistics.median(rss):.1f} idle_rss_mib_max={max(rss):.1f}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
