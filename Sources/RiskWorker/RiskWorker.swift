import Foundation
import Logging
import ServiceSupport
import Synchronization
import TradingDomain
import TradingWire
import WorkerRuntime

/// The risk worker: the single owner of the risk rules, the paper account, the order ledger and
/// the halt and lock flags. Exactly one runs.
public final class RiskWorker: Sendable {
    private let engine: Mutex<RiskEngine>
    private let logger: Logger

    public init(limits: RiskLimits, logger: Logger) {
        self.engine = Mutex(RiskEngine(limits: limits))
        self.logger = logger
    }

    public func handler() -> OperationHandler {
        var handler = OperationHandler()
        handler.on("status") { [self] (_: WireRequest<Empty>) throws(WireError) -> RiskStatus in
            engine.withLock { $0.status }
        }
        handler.on("gate") { [self] (request: WireRequest<GateRequest>) throws(WireError) -> GateResult in
            engine.withLock { $0.gate(request.payload) }
        }
        handler.on("reserve") { [self] (request: WireRequest<ReserveRequest>) throws(WireError) -> ReserveResult in
            try engine.withLock { (engine: inout RiskEngine) throws(WireError) -> ReserveResult in
                try engine.reserve(request.payload, now: unixMilliseconds())
            }
        }
        handler.on("settle") { [self] (request: WireRequest<SettleRequest>) throws(WireError) -> SettleResult in
            let result = try engine.withLock { (engine: inout RiskEngine) throws(WireError) -> SettleResult in
                let wasLocked = engine.flags.riskLocked
                let result = try engine.settle(request.payload)
                if !wasLocked && engine.flags.riskLocked { logTrip(engine.flags, requestID: request.requestId) }
                return result
            }
            return result
        }
        handler.on("mark") { [self] (request: WireRequest<MarkRequest>) throws(WireError) -> RiskStatus in
            guard request.payload.price > 0 else { throw WireError(code: "invalid_price", detail: "price must be positive", status: 422) }
            return engine.withLock { engine in
                if engine.mark(symbol: request.payload.symbol, price: request.payload.price) {
                    logTrip(engine.flags, requestID: request.requestId)
                }
                return engine.status
            }
        }
        handler.on("reset") { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            engine.withLock { engine in
                logger.warning("risk lock reset", metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)", "was": "\(engine.flags.lockReason ?? "not locked")"])
                engine.resetLock()
                return engine.status
            }
        }
        handler.on("halt") { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            engine.withLock { engine in
                let reason = request.payload.reason ?? "halted by \(request.payload.requestedBy)"
                logger.warning("trading halted", metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)", "reason": "\(reason)"])
                engine.halt(reason: reason)
                return engine.status
            }
        }
        handler.on("resume") { [self] (request: WireRequest<OperatorAction>) throws(WireError) -> RiskStatus in
            engine.withLock { engine in
                logger.warning("trading resumed", metadata: ["request.id": "\(request.requestId)", "requestedBy": "\(request.payload.requestedBy)"])
                engine.resume()
                return engine.status
            }
        }
        return handler
    }

    private func logTrip(_ flags: RiskFlags, requestID: String) {
        logger.warning("risk_locked: drawdown brake tripped", metadata: ["request.id": "\(requestID)", "reason": "\(flags.lockReason ?? "")"])
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader()) throws -> Never {
        let logger = Logger(label: "risk-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let limits = try RiskConfiguration.limits(reader: reader)
        let worker = RiskWorker(limits: limits, logger: logger)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        try WorkerProcess.run(service: ServiceName.risk, configuration: configuration, handler: worker.handler(), control: control, logger: logger)
    }
}
