/// A benchmark: what an evaluation measures and how (design: evaluation service, "standard benchmarks"). The
/// catalog is versioned: a benchmark's version changes whenever what its metrics mean or how they are computed
/// changes, so results recorded under one version stay comparable with each other.
package struct Benchmark: Sendable, Equatable {
    package var name: String
    package var version: Int
    package var title: String
    package var task: String
    package var description: String
    package var metrics: [MetricSpec]

    package struct MetricSpec: Sendable, Equatable {
        package var name: String
        package var greaterIsBetter: Bool
        package var description: String
    }

    package func metric(_ name: String) -> MetricSpec? { metrics.first { $0.name == name } }

    /// Labels are compared as text, except that two numbers are equal when their values are (`1` and `1.0`).
    package static let classification = Benchmark(
        name: "classification", version: 1, title: "Classification", task: "classification",
        description:
            "Predicted labels of a model against a label column of a csv dataset version. The label column never reaches the model: aitip keeps it and scores the predictions. Intervals: 95 % percentile bootstrap.",
        metrics: [
            MetricSpec(name: "accuracy", greaterIsBetter: true, description: "share of rows whose predicted label is the true one"),
            MetricSpec(name: "precision_macro", greaterIsBetter: true, description: "precision per class, averaged over the classes"),
            MetricSpec(name: "recall_macro", greaterIsBetter: true, description: "recall per class, averaged over the classes"),
            MetricSpec(name: "f1_macro", greaterIsBetter: true, description: "F1 per class, averaged over the classes"),
        ])

    package static let regression = Benchmark(
        name: "regression", version: 1, title: "Regression", task: "regression",
        description:
            "Predicted numbers of a model against a numeric target column of a csv dataset version, kept by aitip. Intervals: 95 % percentile bootstrap.",
        metrics: [
            MetricSpec(name: "mae", greaterIsBetter: false, description: "mean absolute error"),
            MetricSpec(name: "rmse", greaterIsBetter: false, description: "root mean squared error"),
            MetricSpec(name: "r2", greaterIsBetter: true, description: "coefficient of determination (1 − SSE / SST)"),
        ])

    package static let catalog: [Benchmark] = [classification, regression]

    package static func named(_ name: String) -> Benchmark? { catalog.first { $0.name == name } }
}
