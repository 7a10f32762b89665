import ServiceSupport
import TradingWire
import ZeroMQ

/// The broker's XPUB socket: the control state, published whole on every change, at every
/// interval and to every new subscriber, and each symbol's last market update, sent again to
/// every new market subscriber. Lives on the broker thread.
final class ControlChannel {
    let socket: ZMQSocket
    /// The state to publish; nil until the gateway has one (then nothing is published, and every
    /// worker stays in its fail-closed "unknown" state).
    private var control: ControlState?
    /// The last market update of each symbol, for subscribers that join later.
    private var market: [String: [UInt8]] = [:]
    /// Control messages dropped at the high-water mark since start.
    private(set) var drops = 0

    init(context: ZMQContext, endpoint: String, curve: CurveServerSettings?) throws {
        socket = try context.socket(.extendedPublisher)
        if let curve { try socket.makeCurveServer(secretKey: curve.secretKey, zapDomain: "trading") }
        // Subscribers send nothing but (un)subscriptions.
        try socket.setMaximumMessageSize(1_024)
        try socket.setOption(ZMQOption.xpubVerbose, 1)
        try socket.setOption(ZMQOption.sendHighWaterMark, 1_000)
        try socket.bind(endpoint)
    }

    /// Publishes `state` now, and from now on at every interval.
    func publish(_ state: ControlState) {
        control = state
        republish()
    }

    /// Publishes the current control state again, with a fresh timestamp.
    func republish() {
        guard var state = control else { return }
        state.ts = unixMilliseconds()
        guard let body = try? WireCodec.encode(state) else { return }
        let sent = (try? socket.send([ControlState.topic, body], wait: false)) ?? false
        if !sent { drops += 1 }
    }

    /// Publishes a symbol's window and keeps it for later subscribers. A dropped update is made
    /// good by the next one (each carries the whole window), and a feature worker without it
    /// refuses `features_not_current`, answered from the candles.
    func publishMarket(symbol: String, body: [UInt8]) {
        market[symbol] = body
        send(market: body)
    }

    /// Reads every (un)subscription waiting: a new market subscriber gets every symbol's window,
    /// so that it answers like the others; a new control subscriber gets the state at once.
    func readSubscriptions() throws {
        while let frames = try socket.receive(wait: false) {
            // XPUB delivers [0x01 topic...] for a subscription, [0x00 topic...] for an unsubscription.
            guard let first = frames.first, first.first == 1 else { continue }
            if first.dropFirst().elementsEqual(MarketUpdate.topic) {
                for body in market.values { send(market: body) }
            } else {
                republish()
            }
        }
    }

    private func send(market body: [UInt8]) {
        _ = try? socket.send([MarketUpdate.topic, body], wait: false)
    }
}
