import AITIPCore
import Foundation
import Synchronization

/// Delivers domain events to subscribers. The in-process bus serves one replica; a PostgreSQL LISTEN/NOTIFY bus
/// takes its place when several replicas run (ARCHITECTURE §1).
public protocol EventBus: Sendable {
    func publish(_ event: DomainEvent) async
    /// Events whose type starts with `prefix` ("" for all), from now on, until the stream is dropped.
    func subscribe(prefix: String) -> AsyncStream<DomainEvent>
}

public final class InProcessEventBus: EventBus {
    private struct Subscriber {
        var prefix: String
        var continuation: AsyncStream<DomainEvent>.Continuation
    }

    private let subscribers = Mutex<[UUID: Subscriber]>([:])
    /// A slow subscriber loses its oldest events rather than growing memory without bound.
    private let bufferSize: Int

    public init(bufferSize: Int = 1_024) {
        self.bufferSize = bufferSize
    }

    public func publish(_ event: DomainEvent) async {
        let targets = subscribers.withLock { $0.values.filter { event.type.hasPrefix($0.prefix) } }
        for target in targets { target.continuation.yield(event) }
    }

    public func subscribe(prefix: String) -> AsyncStream<DomainEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<DomainEvent>.makeStream(bufferingPolicy: .bufferingNewest(bufferSize))
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = Subscriber(prefix: prefix, continuation: continuation) }
        return stream
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }
}
