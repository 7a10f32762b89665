import Dispatch
import Foundation
import Logging
import Metrics
import ServiceSupport
import TradingWire

/// Runs a worker process: the MDP socket thread, an optional health server, and a clean stop on
/// SIGTERM or SIGINT (DISCONNECT to the broker, then exit).
public enum WorkerProcess {
    /// Blocks until the process is told to stop. The health server (when `HEALTH_PORT` is set)
    /// answers `/health` (the given route, or a default one) and `/metrics`. `subscriptions`:
    /// topics of the control endpoint the worker also listens to (the market channel).
    public static func run(
        service: String,
        configuration: WorkerConfiguration,
        handler: any RequestHandler,
        control: ControlView,
        link: BrokerLink = BrokerLink(),
        waitForControlState: Bool = false,
        offloadRequests: Bool = false,
        subscriptions: [MDPWorker.Subscription] = [],
        healthRoutes: [String: HealthServer.Route] = [:],
        metrics: ProcessMetrics? = nil,
        onReload: (@Sendable () -> Void)? = nil,
        logger: Logger
    ) throws -> Never {
        var healthRoutes = healthRoutes
        let brokerWindow = configuration.heartbeatIntervalMilliseconds * configuration.heartbeatLiveness
        healthRoutes.merge(WorkerProbes.routes(service: service, link: link, control: control, brokerWindow: brokerWindow)) { given, _ in given }
        if healthRoutes["/health"] == nil {
            healthRoutes["/health"] = {
                let connected = link.isConnected(within: brokerWindow)
                let body = WorkerHealth(ok: connected, service: service, broker_connected: connected, control_known: control.current() != nil)
                return HealthServer.Reply(status: connected ? 200 : 503, body: (try? WireCodec.encode(body)) ?? [])
            }
        }
        if let metrics {
            let connected = Gauge(label: "worker_broker_connected", dimensions: [("service", service)])
            let known = Gauge(label: "control_state_known", dimensions: [("service", service)])
            let halted = Gauge(label: "control_halted", dimensions: [("service", service)])
            let locked = Gauge(label: "control_risk_locked", dimensions: [("service", service)])
            healthRoutes["/metrics"] = {
                let state = control.current()
                connected.record(link.isConnected(within: brokerWindow) ? 1 : 0)
                known.record(state == nil ? 0 : 1)
                halted.record(state?.halted == true ? 1 : 0)
                locked.record(state?.riskLocked == true ? 1 : 0)
                return HealthServer.Reply(status: 200, body: metrics.render(), contentType: "text/plain; version=0.0.4")
            }
        }
        let worker = try MDPWorker(
            service: service,
            configuration: configuration,
            handler: handler,
            control: control,
            link: link,
            waitForControlState: waitForControlState,
            offloadRequests: offloadRequests,
            subscriptions: subscriptions,
            logger: logger
        )
        var health: HealthServer?
        if configuration.healthPort > 0 {
            health = try HealthServer(
                host: configuration.healthHost,
                port: configuration.healthPort,
                routes: healthRoutes,
                idleTimeout: .milliseconds(Int64(configuration.httpIdleTimeoutMilliseconds))
            )
            logger.info("health server listening", metadata: ["port": "\(configuration.healthPort)"])
        }
        let finished = DispatchSemaphore(value: 0)
        worker.start(finished: finished)
        let stopped = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.info("stop signal received", metadata: ["signal": "\(signalNumber)"])
                stopped.signal()
            }
            source.resume()
            sources.append(source)
        }
        if let onReload {
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
            source.setEventHandler {
                logger.info("SIGHUP: reloading")
                onReload()
            }
            source.resume()
            sources.append(source)
        }
        stopped.wait()
        worker.stop()
        _ = finished.wait(timeout: .now() + 2)
        health?.shutdown()
        _ = sources
        exit(0)
    }
}

/// A worker's default `/health` answer.
struct WorkerHealth: Codable, Sendable {
    var ok: Bool
    var service: String
    var broker_connected: Bool
    var control_known: Bool
}

/// Turns a typed handler into a body handler: decodes the request, encodes the reply or error.
public struct JSONRequestHandler<Payload: Codable & Sendable, Result: Codable & Sendable>: RequestHandler {
    public let handler: @Sendable (WireRequest<Payload>) throws(WireError) -> Result

    public init(_ handler: @escaping @Sendable (WireRequest<Payload>) throws(WireError) -> Result) {
        self.handler = handler
    }

    public func handle(body: [UInt8]) -> [UInt8] {
        handle(body: body, expectedOp: nil)
    }

    /// Handles a body; when `expectedOp` is given, a request naming another op is refused.
    func handle(body: [UInt8], expectedOp: String?) -> [UInt8] {
        let reply: WireReply<Result>
        do {
            let request = try WireCodec.decodeRequest(Payload.self, from: body)
            if let expectedOp, request.op != expectedOp {
                throw WireError(code: "unknown_operation", detail: "this worker has no operation \"\(request.op)\"", status: 502)
            }
            reply = WireReply(result: try handler(request))
        } catch let error as WireError {
            reply = WireReply(error: error)
        } catch {
            reply = WireReply(error: WireError(code: "bad_request_body", detail: "\(error)", status: 502))
        }
        return (try? WireCodec.encode(reply))
            ?? Array(#"{"v":1,"error":{"code":"encode_failed","detail":"reply could not be encoded","status":500}}"#.utf8)
    }
}
