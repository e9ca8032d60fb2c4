import Foundation
import Hummingbird
import Prometheus

/// Request counts and latency histograms by route template, method and status, for `/metrics`.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let registry: PrometheusCollectorRegistry

    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    // Computed: MetricNameDescriptor is not Sendable, so it cannot be a stored static.
    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "aitip", subsystem: "http", metricName: "requests", unitName: "total",
            helpText: "HTTP requests by route template, method and status")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "aitip", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "HTTP request latency by route template, method and status")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let labels = [
            ("route", context.endpointPath ?? "unmatched"), ("method", request.method.rawValue),
            ("status", String(response.status.code)),
        ]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
            .record(ContinuousClock.now - started)
        return response
    }
}
