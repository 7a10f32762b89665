import DequeModule
import Metrics

/// What the broker thread keeps per request and per worker: where an outcome goes, a request
/// in flight or waiting, a worker and the requests it holds, and each service's queue.
extension BrokerLoop {
    /// Collects the outcomes of a batch and hands them on once, when the last one is in.
    final class Batch {
        private var results: [Result<[UInt8], BrokerError>?]
        private var remaining: Int
        private let done: ([Result<[UInt8], BrokerError>]) -> Void

        init(count: Int, done: @escaping ([Result<[UInt8], BrokerError>]) -> Void) {
            results = Array(repeating: nil, count: count)
            remaining = count
            self.done = done
        }

        func complete(_ index: Int, with result: Result<[UInt8], BrokerError>) {
            guard results[index] == nil else { return }
            results[index] = result
            remaining -= 1
            if remaining == 0 { done(results.map { $0 ?? .failure(.stopped) }) }
        }
    }

    /// A first request whose outcome becomes the next batch, on this thread.
    final class Chain {
        let next: @Sendable (Result<[UInt8], BrokerError>) -> [Broker.BatchItem]
        let reply: Broker.ChainReply

        init(next: @escaping @Sendable (Result<[UInt8], BrokerError>) -> [Broker.BatchItem], reply: Broker.ChainReply) {
            self.next = next
            self.reply = reply
        }
    }

    /// Where a request's outcome goes.
    enum Completion {
        case single(Broker.Reply)
        case batch(Batch, Int)
        case chain(Chain)
    }

    struct Pending {
        let key: UInt64
        let service: String
        let body: [UInt8]
        let timeoutMilliseconds: Int
        let deadline: Int
        let noWorkerDeadline: Int
        let reply: Completion
        /// Goes ahead of the ordinary requests waiting for the service.
        var priority = false
        var retried = false
    }

    final class Worker {
        let identity: [UInt8]
        let service: String
        var expiry: Int
        /// The requests in hand, in the order of the body frames sent; empty when idle.
        var holding: [UInt64] = []

        init(identity: [UInt8], service: String, expiry: Int) {
            self.identity = identity
            self.service = service
            self.expiry = expiry
        }
    }

    /// Per service: idle workers, least recently used first, and requests waiting for one.
    /// A class, so that the hot path mutates in place instead of copying the queues.
    final class ServiceQueue {
        var idle = Deque<[UInt8]>()
        var waiting = Deque<Pending>()
        var workerCount = 0
        /// REQUESTs sent and the requests they carried: their ratio is the mean pack size.
        let dispatches: Counter
        let dispatchedRequests: Counter

        init(service: String) {
            dispatches = Counter(label: "broker_dispatches_total", dimensions: [("service", service)])
            dispatchedRequests = Counter(label: "broker_dispatched_requests_total", dimensions: [("service", service)])
        }
    }
}

extension BrokerLoop.ServiceQueue {
    /// Takes out the waiting requests whose deadline has passed, and, while the service has no
    /// worker at all, those whose wait for one has: each with the error to answer. They never
    /// reached a worker, so none of them ran.
    func expireWaiting(service: String, now: Int) -> [(BrokerLoop.Pending, BrokerError)] {
        var expired: [(BrokerLoop.Pending, BrokerError)] = []
        var kept = Deque<BrokerLoop.Pending>()
        for pending in waiting {
            if pending.deadline <= now {
                expired.append((pending, .timeout(service: service, milliseconds: pending.timeoutMilliseconds, delivered: false)))
            } else if workerCount == 0 && pending.noWorkerDeadline <= now {
                expired.append((pending, .noWorker(service: service)))
            } else {
                kept.append(pending)
            }
        }
        waiting = kept
        return expired
    }
}
