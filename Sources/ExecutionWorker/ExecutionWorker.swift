import Logging
import Metrics
import ServiceSupport
import TradingDomain
import TradingWire
import WorkerRuntime

/// The execution worker: paper fills (simulated at the mark price with slippage and fees) and,
/// in live mode, the exchange adapter. It never fills while the control state says halted or
/// locked, or while it has not heard the control state recently (fail closed).
public enum ExecutionWorker {
    public static func handler(control: ControlView, logger: Logger) -> OperationHandler {
        var handler = OperationHandler()
        let paperFills = Counter(label: "execution_fills_total", dimensions: [("mode", "paper")])
        let refusals = Counter(label: "execution_refusals_total", dimensions: [])
        handler.on("execute") { (request: WireRequest<ExecuteRequest>) throws(WireError) -> Fill in
            let execution = request.payload
            let order = execution.order
            if let refusal = control.tradingRefusal() {
                logger.warning(
                    "order refused by control state",
                    metadata: ["request.id": "\(request.requestId)", "order": "\(order.intent.clientOrderId)", "error": "\(refusal.code)"])
                refusals.increment()
                throw refusal
            }
            guard let state = control.current(), state.tradingMode == order.mode else {
                throw WireError(code: "mode_mismatch", detail: "order is for \(order.mode.rawValue) mode but the control state says otherwise", status: 409)
            }
            switch order.mode {
            case .paper:
                guard let terms = order.terms, terms.markPrice > 0 else {
                    throw WireError(code: "no_price", detail: "the order carries no usable mark price", status: 409)
                }
                let fill = RiskEngine.paperFill(order, terms: terms)
                paperFills.increment()
                logger.debug("paper fill", metadata: ["request.id": "\(request.requestId)", "order": "\(order.intent.clientOrderId)"])
                return fill
            case .live:
                throw WireError(code: "live_unavailable", detail: "no exchange adapter is configured in this execution worker", status: 503)
            }
        }
        return handler
    }

    public static func run(reader: EnvironmentReader = EnvironmentReader(), metrics: ProcessMetrics? = nil) throws -> Never {
        let logger = Logger(label: "execution-worker")
        let configuration = try WorkerConfiguration(reader: reader)
        let control = ControlView(staleMilliseconds: configuration.controlStaleMilliseconds)
        try WorkerProcess.run(
            service: ServiceName.execution, configuration: configuration, handler: handler(control: control, logger: logger),
            control: control, waitForControlState: true, metrics: metrics, logger: logger)
    }
}
