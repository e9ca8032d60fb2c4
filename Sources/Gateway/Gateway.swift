import AITIPCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// The inference data plane: `/serve/{service}/…` goes to a ready replica of one of the service's versions. The
/// version is chosen by header rule, then by the split's percentages (per caller when sticky); the replica by least
/// outstanding requests; a replica that refuses the connection is skipped for another of the same version. The
/// request body is read whole (bounded by `maxRequestBytes`) so that it can be re-sent; the answer is streamed back
/// as it arrives (chunked, server-sent events). Inference drives it through `setSplit`, `probe` and `release`.
package final class Gateway: Sendable {
    package struct Configuration: Sendable {
        package var connectTimeout: TimeAmount
        /// The longest silence while reading a replica's answer.
        package var readTimeout: TimeAmount
        /// The longest wait for a replica's answer to begin.
        package var answerTimeout: TimeAmount
        package var maxRequestBytes: Int
        /// How long a removed replica may finish the requests it is answering before its connections are closed.
        package var drainTimeout: Duration
        /// How long a request to a version scaled to zero waits for its first replica to be ready.
        package var coldStartTimeout: Duration

        package init(
            connectTimeout: TimeAmount = .seconds(2), readTimeout: TimeAmount = .seconds(120), answerTimeout: TimeAmount = .seconds(120),
            maxRequestBytes: Int = 16 << 20, drainTimeout: Duration = .seconds(30), coldStartTimeout: Duration = .seconds(120)
        ) {
            self.coldStartTimeout = coldStartTimeout
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.answerTimeout = answerTimeout
            self.maxRequestBytes = maxRequestBytes
            self.drainTimeout = drainTimeout
        }
    }

    private struct State {
        var splits: [UUID: TrafficSplit] = [:]
        var connections: [UUID: ReplicaConnection] = [:]
        var draining: [(connection: ReplicaConnection, since: ContinuousClock.Instant)] = []
        var stats: [UUID: VersionStats] = [:]
        /// Per-service limits, made when a split with a rate is set and replaced when the rate changes.
        var limiters: [UUID: RateLimiter] = [:]
        /// Set by `shutdown`: no connection is made after it.
        var closed = false
        /// When each version (by service id) last had a request: how long it has been idle.
        var lastRequest: [UUID: ContinuousClock.Instant] = [:]
        /// Told that a version scaled to zero has a request waiting (Inference starts a replica).
        var demand: (@Sendable (UUID) -> Void)?
        /// Copies sent to shadow versions and not yet answered.
        var mirroring = 0
    }

    package let configuration: Configuration
    let metrics: PrometheusCollectorRegistry?
    let logger: Logger
    private let state = Mutex(State())

    package init(configuration: Configuration = .init(), metrics: PrometheusCollectorRegistry? = nil, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: control (Inference, Release)

    /// Replaces where `service`'s requests go (nil: nowhere). Requests that already chose a version finish there;
    /// every later one sees the new split.
    package func setSplit(_ split: TrafficSplit?, for service: UUID) {
        state.withLock { state in
            state.splits[service] = split
            if let rate = split?.requestsPerSecond, rate > 0 {
                if state.limiters[service]?.ratePerSecond != rate {
                    state.limiters[service] = RateLimiter(ratePerSecond: rate, burst: max(1, rate))
                }
            } else {
                state.limiters[service] = nil
            }
        }
    }

    package func split(for service: UUID) -> TrafficSplit? {
        state.withLock { $0.splits[service] }
    }

    /// Who starts a replica when a request waits for a version scaled to zero (the version's service id).
    package func onDemand(_ handler: @escaping @Sendable (UUID) -> Void) {
        state.withLock { $0.demand = handler }
    }

    /// When a request last went to this version; nil: none since this server started.
    package func lastRequest(to version: UUID) -> ContinuousClock.Instant? {
        state.withLock { $0.lastRequest[version] }
    }

    /// Whether the replica answers `path` with a 2xx now (its readiness and liveness check).
    package func probe(_ replica: TrafficSplit.Replica, path: String, timeout: TimeAmount = .seconds(2)) async -> Bool {
        guard let connection = try? await connection(for: replica) else { return false }
        var request = HTTPClientRequest(url: connection.url(path))
        request.method = .GET
        request.headers.add(name: "host", value: "localhost")
        do {
            let response = try await connection.client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 << 10)
            return (200..<300).contains(response.status.code)
        } catch {
            return false
        }
    }

    /// The replica is gone or going: no request chooses it any more (the caller has already left it out of every
    /// split); its connections close once it has answered what it was answering, or after the drain timeout.
    package func release(_ replicaId: UUID) {
        state.withLock { state in
            if let connection = state.connections.removeValue(forKey: replicaId) {
                state.draining.append((connection, .now))
            }
        }
    }

    /// Requests the replica is answering now (0 once its drained connections are closed).
    package func inFlight(_ replicaId: UUID) -> Int {
        state.withLock { state in
            state.connections[replicaId]?.outstanding
                ?? state.draining.filter { $0.connection.replica.id == replicaId }.reduce(0) { $0 + $1.connection.outstanding }
        }
    }

    /// Requests answered by one version (an inference service), for the API and the metrics stream.
    package func stats(of version: UUID) -> VersionStats.Snapshot {
        state.withLock { $0.stats[version] }?.snapshot() ?? VersionStats().snapshot()
    }

    /// Closes the connections of drained replicas until cancelled, then every connection (server shutdown).
    package func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let now = ContinuousClock.now
            let done = state.withLock { state in
                let (finished, waiting) = state.draining.partitioned {
                    $0.connection.outstanding == 0 || now - $0.since > configuration.drainTimeout
                }
                state.draining = waiting
                return finished.map(\.connection)
            }
            for connection in done { await connection.shutdown() }
        }
        await shutdown()
    }

    /// Closes every replica connection (the server is stopping).
    package func shutdown() async {
        let all = state.withLock { state in
            defer {
                state.connections = [:]
                state.draining = []
                state.closed = true
            }
            return Array(state.connections.values) + state.draining.map(\.connection)
        }
        for connection in all { await connection.shutdown() }
    }

    private func connection(for replica: TrafficSplit.Replica) async throws(AppError) -> ReplicaConnection {
        if let existing = state.withLock({ $0.connections[replica.id] }) { return existing }
        let made = try ReplicaConnection(replica, timeouts: configuration)
        let kept = state.withLock { state -> ReplicaConnection? in
            if state.closed { return nil }
            if let raced = state.connections[replica.id] {
                state.draining.append((made, .now))
                return raced
            }
            state.connections[replica.id] = made
            return made
        }
        guard let kept else {
            await made.shutdown()
            throw AppError(.unavailable, "The server is shutting down")
        }
        return kept
    }

    /// The version's statistics; `requested`: a request goes to it now (what tells the autoscaler it is not idle).
    private func stats(for version: UUID, requested: Bool = false) -> VersionStats {
        state.withLock { state in
            if requested { state.lastRequest[version] = .now }
            if let existing = state.stats[version] { return existing }
            let made = VersionStats()
            state.stats[version] = made
            return made
        }
    }

    // MARK: data plane

    /// A caller's request, as the HTTP layer hands it over.
    package struct Invocation: Sendable {
        package var method: HTTPMethod
        /// The path below `/serve/{service}`, with its query.
        package var pathAndQuery: String
        package var headers: HTTPHeaders
        package var body: ByteBuffer?
        /// Who is calling (API key or user id): the bucket of a sticky split.
        package var stickyKey: String?
        package var requestId: String

        package init(method: HTTPMethod, pathAndQuery: String, headers: HTTPHeaders, body: ByteBuffer?, stickyKey: String?, requestId: String) {
            self.method = method
            self.pathAndQuery = pathAndQuery
            self.headers = headers
            self.body = body
            self.stickyKey = stickyKey
            self.requestId = requestId
        }
    }

    /// The replica's answer. `body` must be read to its end or dropped; the request counts as outstanding until then.
    package struct Answer: Sendable {
        package var status: HTTPResponseStatus
        package var headers: HTTPHeaders
        package var body: ProxiedBody
        /// The version that answered.
        package var version: String
    }

    /// Headers that describe one connection, not the message (RFC 9110 §7.6.1), and the caller's credentials, which
    /// are the gateway's to check and never the replica's to see.
    static let droppedRequestHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "authorization", "cookie", "content-length",
    ]
    static let droppedAnswerHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
    ]

    package func forward(service: UUID, _ invocation: Invocation) async throws(AppError) -> Answer {
        let (split, limiter) = state.withLock { ($0.splits[service], $0.limiters[service]) }
        guard let split else {
            throw AppError(.unavailable, "Inference service \(service.lowercasedString) has no ready replica (is it started?)")
        }
        if let limiter, let wait = limiter.acquire("") {
            let rate = limiter.ratePerSecond
            let shown = rate == rate.rounded() ? String(Int(rate)) : String(rate)
            throw AppError(
                .tooManyRequests, "Inference service \(service.lowercasedString) takes at most \(shown) requests per second (rate_limit_rps)",
                retryAfterSeconds: wait)
        }
        let lowered = invocation.headers.map { ($0.name.lowercased(), $0.value) }
        guard var version = split.choose(headers: lowered, stickyKey: invocation.stickyKey, random: Double.random(in: 0..<1)) else {
            throw AppError(.unavailable, "Inference service \(service.lowercasedString) has no ready replica yet")
        }
        if version.replicas.isEmpty { version = try await coldStart(version, of: service) }
        var headers = HTTPHeaders()
        for (name, value) in invocation.headers where !Self.droppedRequestHeaders.contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        headers.replaceOrAdd(name: "x-request-id", value: invocation.requestId)
        // The socket path is no host name (servers that check Host refuse it): the caller's Host goes on, as proxies do.
        headers.replaceOrAdd(name: "host", value: invocation.headers.first(name: "host") ?? "localhost")
        if let body = invocation.body { headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes)) }
        for shadow in split.shadows where !shadow.replicas.isEmpty && Double.random(in: 0..<100) < Double(shadow.percent) {
            mirror(invocation, headers: headers, to: shadow, of: service)
        }
        let stats = stats(for: version.serviceId, requested: true)
        let started = ContinuousClock.now
        var tried: Set<UUID> = []
        var lastFailure = "no replica could be reached"
        // A replica that cannot be connected to (it just died) is skipped for another one of the same version.
        while tried.count < min(3, version.replicas.count) {
            let replica = Self.leastOutstanding(version.replicas.filter { !tried.contains($0.id) }, connections: connectionsSnapshot())
            tried.insert(replica.id)
            let connection: ReplicaConnection
            do { connection = try await self.connection(for: replica) } catch {
                lastFailure = error.detail
                continue
            }
            var request = HTTPClientRequest(url: connection.url(invocation.pathAndQuery))
            request.method = invocation.method
            request.headers = headers
            if let body = invocation.body { request.body = .bytes(body) }
            connection.begin()
            do {
                let response = try await connection.client.execute(request, timeout: configuration.answerTimeout, logger: nil)
                let elapsed = ContinuousClock.now - started
                stats.record(milliseconds: elapsed.milliseconds, failed: response.status.code >= 500)
                record(service: service, version: version, code: response.status.code, elapsed: elapsed)
                var answerHeaders = HTTPHeaders()
                for (name, value) in response.headers where !Self.droppedAnswerHeaders.contains(name.lowercased()) {
                    answerHeaders.add(name: name, value: value)
                }
                answerHeaders.replaceOrAdd(name: "x-aitip-version", value: version.name)
                let declaredLength = response.headers.first(name: "content-length")
                if let declaredLength { answerHeaders.replaceOrAdd(name: "content-length", value: declaredLength) }
                return Answer(
                    status: response.status, headers: answerHeaders, body: ProxiedBody(response.body) { connection.end() },
                    version: version.name)
            } catch {
                connection.end()
                if Self.isConnectFailure(error) {
                    lastFailure = "a replica refused the connection"
                    continue
                }
                let elapsed = ContinuousClock.now - started
                stats.record(milliseconds: elapsed.milliseconds, failed: true)
                record(service: service, version: version, code: 504, elapsed: elapsed)
                if let client = error as? HTTPClientError, client == .deadlineExceeded || client == .readTimeout {
                    throw AppError(.gatewayTimeout, "The replica did not answer in time")
                }
                logger.warning("gateway: a replica failed", metadata: ["service": "\(service)", "error": "\(error)"])
                throw AppError(.badGateway, "The replica failed to answer")
            }
        }
        stats.record(milliseconds: 0, failed: true)
        record(service: service, version: version, code: 502, elapsed: .zero)
        throw AppError(.badGateway, "No replica of version \(version.name) could be reached: \(lastFailure)")
    }

    /// A version scaled to zero: asks for a replica, then waits until the split shows one ready (polled: this is the
    /// rare first request after an idle spell, and it keeps no waiter to forget), or answers 503.
    private func coldStart(_ version: TrafficSplit.Version, of service: UUID) async throws(AppError) -> TrafficSplit.Version {
        let deadline = ContinuousClock.now + configuration.coldStartTimeout
        var asked: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            let current = state.withLock { state -> TrafficSplit.Version? in
                state.lastRequest[version.serviceId] = .now
                return state.splits[service]?.versions.first { $0.serviceId == version.serviceId }
            }
            // Starting: the version has left zero (a replica is wanted) but none is ready; gone: stopped or removed.
            guard let current else {
                throw AppError(.unavailable, "Inference service \(service.lowercasedString) was stopped while the request waited for a replica")
            }
            if !current.replicas.isEmpty { return current }
            // Asked again now and then, in case a server restart or a failed start lost the first request.
            if asked.map({ ContinuousClock.now - $0 > .seconds(5) }) ?? true {
                state.withLock { $0.demand }?(version.serviceId)
                asked = .now
            }
            do { try await Task.sleep(for: .milliseconds(50)) } catch { throw AppError(.unavailable, "The request was cancelled") }
        }
        throw AppError(
            .unavailable,
            "Inference service \(service.lowercasedString) (version \(version.name)) is scaled to zero and no replica was ready within \(configuration.coldStartTimeout); try again",
            retryAfterSeconds: 5)
    }

    /// The most copies in flight to shadow versions; beyond it a copy is not sent, so that a slow shadow cannot
    /// pile up work (and memory) on the server that the live traffic pays for.
    static let maxMirroring = 64

    /// Sends a copy of the request to a replica of a shadow version, on its own: the caller never waits for it, its
    /// answer is read and dropped, and it counts in the shadow's statistics like any request.
    private func mirror(_ invocation: Invocation, headers: HTTPHeaders, to shadow: TrafficSplit.Version, of service: UUID) {
        let admitted = state.withLock { state in
            guard state.mirroring < Self.maxMirroring else { return false }
            state.mirroring += 1
            return true
        }
        guard admitted else { return }
        var headers = headers
        headers.replaceOrAdd(name: "x-aitip-shadow", value: "true")
        Task {
            defer { state.withLock { $0.mirroring -= 1 } }
            let stats = stats(for: shadow.serviceId)
            let started = ContinuousClock.now
            let replica = Self.leastOutstanding(shadow.replicas, connections: connectionsSnapshot())
            guard let connection = try? await connection(for: replica) else {
                stats.record(milliseconds: 0, failed: true)
                return
            }
            var request = HTTPClientRequest(url: connection.url(invocation.pathAndQuery))
            request.method = invocation.method
            request.headers = headers
            if let body = invocation.body { request.body = .bytes(body) }
            connection.begin()
            defer { connection.end() }
            var code: UInt = 504
            var elapsed = Duration.zero
            do {
                let response = try await connection.client.execute(request, timeout: configuration.answerTimeout, logger: nil)
                (code, elapsed) = (response.status.code, ContinuousClock.now - started) // as for live requests: until the answer begins
                for try await _ in response.body {}
            } catch {
                elapsed = ContinuousClock.now - started
            }
            stats.record(milliseconds: elapsed.milliseconds, failed: code >= 500)
            record(service: service, version: shadow, code: code, elapsed: elapsed)
        }
    }

    private func connectionsSnapshot() -> [UUID: ReplicaConnection] { state.withLock { $0.connections } }

    static func leastOutstanding(_ replicas: [TrafficSplit.Replica], connections: [UUID: ReplicaConnection]) -> TrafficSplit.Replica {
        // Ties (the common case when idle) go to a random one, so that one replica does not take every first request.
        let counts = replicas.map { connections[$0.id]?.outstanding ?? 0 }
        let least = counts.min() ?? 0
        let candidates = replicas.indices.filter { counts[$0] == least }
        return replicas[candidates.randomElement() ?? 0]
    }

    static func isConnectFailure(_ error: any Error) -> Bool {
        if let client = error as? HTTPClientError, client == .connectTimeout || client == .alreadyShutdown { return true }
        if error is NIOConnectionError { return true }
        if let io = error as? IOError, [ECONNREFUSED, ENOENT, ECONNRESET].contains(io.errnoCode) { return true }
        if let channel = error as? ChannelError, case .connectTimeout = channel { return true }
        return false
    }

    private func record(service: UUID, version: TrafficSplit.Version, code: UInt, elapsed: Duration) {
        guard let metrics else { return }
        let labels = [("service", service.lowercasedString), ("version", version.name), ("status", String(code))]
        metrics.makeCounter(descriptor: Self.requestsMetric, labels: labels).increment()
        metrics.makeDurationHistogram(descriptor: Self.durationMetric, labels: labels, buckets: Self.buckets).record(elapsed)
    }

    static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(2.5), .seconds(5), .seconds(10),
    ]
    static var requestsMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "aitip", subsystem: "gateway", metricName: "requests", unitName: "total",
            helpText: "Inference requests by service, version and status")
    }
    static var durationMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "aitip", subsystem: "gateway", metricName: "request_duration", unitName: "seconds",
            helpText: "Time until the replica's answer began, by service, version and status")
    }
}

/// A replica's answer body, passed through as it arrives; `finished` runs once, when it has been read to the end,
/// failed, or was dropped unread (the caller went away).
package struct ProxiedBody: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer
    let body: HTTPClientResponse.Body
    let completion: Completion

    init(_ body: HTTPClientResponse.Body, finished: @escaping @Sendable () -> Void) {
        self.body = body
        completion = Completion(finished)
    }

    final class Completion: Sendable {
        private let action: Mutex<(@Sendable () -> Void)?>
        init(_ action: @escaping @Sendable () -> Void) { self.action = Mutex(action) }
        func run() { action.withLock { $0.take() }?() }
        deinit { action.withLock { $0.take() }?() }
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var inner: HTTPClientResponse.Body.AsyncIterator
        let completion: Completion

        package mutating func next() async throws -> ByteBuffer? {
            do {
                let chunk = try await inner.next()
                if chunk == nil { completion.run() }
                return chunk
            } catch {
                completion.run()
                throw error
            }
        }
    }

    package func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: body.makeAsyncIterator(), completion: completion) }
}

extension Array {
    fileprivate func partitioned(_ isFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = []
        var rest: [Element] = []
        for element in self {
            if isFirst(element) { first.append(element) } else { rest.append(element) }
        }
        return (first, rest)
    }
}

extension Duration {
    /// The duration in milliseconds, fractions included.
    package var milliseconds: Double { Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15 }
}
