import AITIPCore
import Foundation
import Tracking
import Workloads

/// The `serving` benchmark: each model is served the way an `mlflow` inference replica serves it (MLflow's scoring
/// server on uvicorn, on a Unix socket inside the job's sandbox) and loaded with rows of the dataset as requests, at a
/// fixed concurrency, the baseline first and then the candidate on the same node, so that the two compare fairly and
/// the live service is not disturbed. The load generator is aitip's script; its result is the custom format.
extension EvaluationService {
    /// How a serving evaluation loads each model.
    package struct ServingOptions: Sendable, Equatable, Encodable {
        package var requests: Int
        package var concurrency: Int
        /// Dataset rows per request (`dataframe_split` with this many rows).
        package var batchRows: Int
        /// Requests sent one at a time before the measured ones (not counted).
        package var warmup: Int

        package init(requests: Int? = nil, concurrency: Int? = nil, batchRows: Int? = nil, warmup: Int? = nil) {
            self.requests = requests ?? 500
            self.concurrency = concurrency ?? 4
            self.batchRows = batchRows ?? 1
            self.warmup = warmup ?? 20
        }

        enum CodingKeys: String, CodingKey {
            case requests, concurrency, warmup
            case batchRows = "batch_rows"
        }

        func check(_ validator: inout Validator) {
            validator.check((1...100_000).contains(requests), "serving.requests", "must be between 1 and 100,000")
            validator.check((1...64).contains(concurrency), "serving.concurrency", "must be between 1 and 64")
            validator.check((1...10_000).contains(batchRows), "serving.batch_rows", "must be between 1 and 10,000")
            validator.check((0...10_000).contains(warmup), "serving.warmup", "must be between 0 and 10,000")
        }
    }

    static let servingScript = ".aitip-serving.py"

    /// The files a serving job's package holds besides the models' and the features.
    static var servingFiles: [String: Data] {
        [servingScript: Data(servingSource.utf8), MLflowScoringServer.script: Data(MLflowScoringServer.source.utf8)]
    }

    /// Each model in turn, the baseline first; each result printed for aitip.
    static func servingEntrypoint(python: String, options: ServingOptions, roles: [String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Only numbers and keys of aitip's: nothing in it a shell would read inside single quotes.
        let settings = String(decoding: try encoder.encode(options), as: UTF8.self)
        return roles.map { role in
            """
            \(python) \(servingScript) \(role) '\(settings)' || exit $?
            \(LogFiles.printing(resultName(role), at: resultFile(role)))

            """
        }.joined()
    }

    static let servingSource = """
        # Written by aitip for a serving evaluation: serves one model folder with MLflow's scoring server (as an mlflow
        # inference replica does) on a Unix socket, sends rows of ./features.csv to /invocations, and writes latency
        # and throughput in aitip's result format.
        import http.client
        import json
        import os
        import socket
        import subprocess
        import sys
        import tempfile
        import threading
        import time

        import numpy as np
        import pandas as pd

        role, options = sys.argv[1], json.loads(sys.argv[2])
        here = os.path.dirname(os.path.abspath(__file__))
        features = pd.read_csv(os.path.join(here, "features.csv"))
        size, count = options["batch_rows"], options["requests"]
        bodies = []
        for start in range(0, len(features), size):
            frame = features.iloc[start:start + size].to_json(orient="split", index=False)
            bodies.append(('{"dataframe_split": ' + frame + "}").encode())
            if len(bodies) == count:
                break

        address = os.path.join(tempfile.mkdtemp(), "serve.sock")
        server = subprocess.Popen(
            [sys.executable, os.path.join(here, ".aitip-mlflow-serve.py")],
            env=dict(os.environ, AITIP_SERVE_SOCKET=address, AITIP_SERVE_MODEL_DIR=os.path.join(here, role)))


        class UnixConnection(http.client.HTTPConnection):
            def __init__(self):
                super().__init__("localhost", timeout=60)

            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(self.timeout)
                self.sock.connect(address)


        def call(connection, body=None):
            if body is None:
                connection.request("GET", "/ping")
            else:
                connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status


        began = time.monotonic()
        while True:
            if server.poll() is not None:
                raise SystemExit(f"aitip: the {role} model's server exited ({server.returncode}) before it was ready")
            try:
                if call(UnixConnection()) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - began > 600:
                server.kill()
                raise SystemExit(f"aitip: the {role} model's server was not ready after 600 s")
            time.sleep(0.05)
        startup = time.monotonic() - began

        warm = UnixConnection()
        for index in range(options["warmup"]):
            call(warm, bodies[index % len(bodies)])
        warm.close()

        latencies = [0.0] * count
        failed = [False] * count
        pending = iter(range(count))
        lock = threading.Lock()


        def worker():
            connection = UnixConnection()
            while True:
                with lock:
                    index = next(pending, None)
                if index is None:
                    connection.close()
                    return
                sent = time.perf_counter()
                try:
                    ok = call(connection, bodies[index % len(bodies)]) == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    connection.close()
                    connection = UnixConnection()
                latencies[index] = (time.perf_counter() - sent) * 1000
                failed[index] = not ok


        threads = [threading.Thread(target=worker) for _ in range(options["concurrency"])]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        server.terminate()
        server.wait(timeout=30)

        answered = np.array([latency for latency, bad in zip(latencies, failed) if not bad])
        random = np.random.default_rng(7)


        def interval(statistic):
            resamples = [statistic(random.choice(answered, size=len(answered))) for _ in range(200)]
            low, high = np.percentile(resamples, [2.5, 97.5])
            return {"value": float(statistic(answered)), "ci_low": float(low), "ci_high": float(high)}


        metrics = {
            "throughput_rps": len(answered) / wall,
            "error_rate": sum(failed) / count,
            "startup_seconds": startup,
        }
        if len(answered):
            for name, share in (("latency_p50_ms", 50), ("latency_p95_ms", 95), ("latency_p99_ms", 99)):
                metrics[name] = interval(lambda sample, share=share: np.percentile(sample, share))
            metrics["latency_mean_ms"] = interval(np.mean)
        with open(os.path.join(here, f".aitip-result-{role}.json"), "w") as out:
            json.dump({"rows": count, "metrics": metrics}, out)
        print(f"aitip: {role}: {count} requests at concurrency {options['concurrency']}, "
              f"{metrics['throughput_rps']:.1f} requests/s, {sum(failed)} failed", flush=True)

        """
}
