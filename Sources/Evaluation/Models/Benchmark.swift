/// A benchmark: what an evaluation measures and how (design: evaluation service, "standard benchmarks"). The
/// catalog is versioned: a benchmark's version changes whenever what its metrics mean or how they are computed
/// changes, so results recorded under one version stay comparable with each other.
package struct Benchmark: Sendable, Equatable {
    package var name: String
    package var version: Int
    package var title: String
    package var task: String
    package var runner: Runner
    package var description: String
    /// The metrics it computes; empty where they come from what the job reports (a script's result, lm-eval's tasks).
    package var metrics: [MetricSpec]

    /// How a benchmark's job measures.
    package enum Runner: String, Sendable {
        /// The models predict the features of a csv dataset version; aitip keeps the labels and scores.
        case predictions
        /// The user's command scores each model itself and writes a result file (`ScriptResult`).
        case script
        /// lm-evaluation-harness runs the tasks with each model and writes its results file.
        case lmEval = "lm-eval"
        /// Each model is served as an inference replica serves it, and loaded with the dataset's rows as requests.
        case serving
    }

    package struct MetricSpec: Sendable, Equatable {
        package var name: String
        package var greaterIsBetter: Bool
        package var description: String
    }

    package func metric(_ name: String) -> MetricSpec? { metrics.first { $0.name == name } }

    /// Metric → whether greater is better, for the metrics the benchmark knows.
    package var directions: [String: Bool] { Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.greaterIsBetter) }) }

    /// Labels are compared as text, except that two numbers are equal when their values are (`1` and `1.0`).
    package static let classification = Benchmark(
        name: "classification", version: 1, title: "Classification", task: "classification", runner: .predictions,
        description:
            "Predicted labels of a model against a label column of a csv dataset version. The label column never reaches the model: aitip keeps it and scores the predictions. Intervals: 95 % percentile bootstrap.",
        metrics: [
            MetricSpec(name: "accuracy", greaterIsBetter: true, description: "share of rows whose predicted label is the true one"),
            MetricSpec(name: "precision_macro", greaterIsBetter: true, description: "precision per class, averaged over the classes"),
            MetricSpec(name: "recall_macro", greaterIsBetter: true, description: "recall per class, averaged over the classes"),
            MetricSpec(name: "f1_macro", greaterIsBetter: true, description: "F1 per class, averaged over the classes"),
        ])

    package static let regression = Benchmark(
        name: "regression", version: 1, title: "Regression", task: "regression", runner: .predictions,
        description:
            "Predicted numbers of a model against a numeric target column of a csv dataset version, kept by aitip. Intervals: 95 % percentile bootstrap.",
        metrics: [
            MetricSpec(name: "mae", greaterIsBetter: false, description: "mean absolute error"),
            MetricSpec(name: "rmse", greaterIsBetter: false, description: "root mean squared error"),
            MetricSpec(name: "r2", greaterIsBetter: true, description: "coefficient of determination (1 − SSE / SST)"),
        ])

    package static let custom = Benchmark(
        name: "custom", version: 1, title: "Custom script", task: "custom", runner: .script,
        description:
            "Your command, from an uploaded code package, runs once per model (the baseline first) with AITIP_MODEL_DIR, AITIP_MODEL_ROLE, AITIP_DATASET_DIR and AITIP_RESULT_FILE set, and writes its metrics there as JSON: {\"metrics\": {\"name\": number or {\"value\", \"ci_low\", \"ci_high\", \"greater_is_better\"}}, \"rows\": n, \"slices\": [{\"column\", \"value\", \"rows\", \"metrics\"}]} (docs/evaluation.md). It sees the whole dataset version, labels included.",
        metrics: [])

    package static let lmEval = Benchmark(
        name: "lm-eval", version: 1, title: "lm-evaluation-harness", task: "language-modeling", runner: .lmEval,
        description:
            "EleutherAI's lm-evaluation-harness (lm_eval, in the job's Python) runs its tasks with each model version's Hugging Face files (a folder with config.json) on the job's GPU: a task of its catalog, or one whose YAML and data are in the dataset version (--include_path). Metrics are <task>/<metric>, with intervals of ±1.96 standard errors where lm-eval gives one; the direction is lm-eval's. It needs resources.gpu_count of 1 or more, and is refused where no node has a GPU.",
        metrics: [])

    package static let serving = Benchmark(
        name: "serving", version: 1, title: "Serving latency and throughput", task: "serving", runner: .serving,
        description:
            "Each model is served as an mlflow inference replica serves it (MLflow's scoring server on uvicorn, in the job's sandbox) and sent rows of a csv dataset version as /invocations requests (dataframe_split, serving.batch_rows rows each) by serving.concurrency clients, after serving.warmup requests: the baseline first, then the candidate, on the same node. Latencies are measured by the client, over a Unix socket; intervals: 95 % percentile bootstrap. target, if given, is left out of the requests.",
        metrics: [
            MetricSpec(
                name: "latency_p50_ms", greaterIsBetter: false, description: "median time from sending a request to reading its whole answer, ms"),
            MetricSpec(name: "latency_p95_ms", greaterIsBetter: false, description: "95th percentile latency, ms"),
            MetricSpec(name: "latency_p99_ms", greaterIsBetter: false, description: "99th percentile latency, ms"),
            MetricSpec(name: "latency_mean_ms", greaterIsBetter: false, description: "mean latency, ms"),
            MetricSpec(name: "throughput_rps", greaterIsBetter: true, description: "requests answered 200 per second of the measured run"),
            MetricSpec(name: "error_rate", greaterIsBetter: false, description: "share of requests not answered 200"),
            MetricSpec(name: "startup_seconds", greaterIsBetter: false, description: "from starting the server to its first 200 on /ping"),
        ])

    package static let catalog: [Benchmark] = [classification, regression, custom, lmEval, serving]

    package static func named(_ name: String) -> Benchmark? { catalog.first { $0.name == name } }
}
