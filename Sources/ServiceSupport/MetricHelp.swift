/// The `# HELP` text of every metric family the processes expose.
///
/// swift-metrics has no place for help text, so `ProcessMetrics.render()` adds it from here
/// beside each family's `# TYPE` line. A family missing from this table is exposed without
/// help, which `promtool check metrics` (run by the tests on every process) reports.
public enum MetricHelp {
    public static let text: [String: String] = [
        // gateway: HTTP
        "gateway_http_requests_total": "HTTP requests answered, by route, method and status code.",
        "gateway_http_request_errors_total": "HTTP requests that ended in an error response, by route, method and status code.",
        "gateway_http_request_duration_seconds": "Time to answer an HTTP request, by route, method and status code.",
        "gateway_http_active_requests": "HTTP requests in progress, by method.",
        // gateway: broker
        "broker_requests_total": "Worker calls made through the broker, by service and outcome.",
        "broker_live_workers": "Workers registered and live, by service.",
        "broker_workers_expired_total": "Workers dropped for missing heartbeats.",
        "broker_dispatches_total": "MDP REQUEST messages sent to workers, by service.",
        "broker_dispatched_requests_total": "Requests carried by MDP REQUEST messages (several per message when packed), by service.",
        "control_publish_drops_total": "Control-state messages dropped at the publisher's high-water mark.",
        "control_state_changes_total": "Control-state changes published (halt, lock or their reasons; the state's seq).",
        // gateway and market feed: market data
        "market_data_age_seconds": "Seconds since the newest candle held for the symbol opened.",
        "market_interval_seconds": "The candle interval held for the symbol, in seconds.",
        "market_reconnects_total": "Market stream connections made anew (drop, silence, the 24-hour renewal).",
        "market_gap_candles_total": "Candles backfilled through REST to close gaps in the streams.",
        "market_candles_total": "Candles the market feed handed to the gateway.",
        "market_refused_frames_total": "Market stream frames refused (never a candle), by reason.",
        // gateway: trading
        "orders_total": "Execute calls by outcome (filled, rejected, duplicate, refused, unknown).",
        "risk_locked_refusals_total": "Orders refused because trading is risk-locked.",
        "stale_data_refusals_total":
            "Consensus answers and orders refused (409) because the symbol's newest candle is older than MAX_CANDLE_AGE, by where.",
        "operator_actions_total": "Operator actions (halt, resume, reset, model routing), by action.",
        "risk_drawdown_ratio": "Drawdown from peak equity as a fraction (0.1 = 10 %), from the risk worker's latest status.",
        "risk_equity_usd": "Account equity in USD, from the risk worker's latest status.",
        "risk_drawdown_limit_ratio": "Drawdown at which trading locks (MAX_DRAWDOWN), from the risk worker's latest status.",
        "risk_status_age_seconds": "Age of the risk worker's latest status as the gateway holds it.",
        "model_canary_comparisons_total": "Shadow canary answers compared with the incumbent's, by model id and agreement.",
        "notifications_total": "Webhook notifications, by event and outcome (sent, failed, dropped).",
        "exchange_clock_offset_seconds": "The exchange's clock minus the host's (GET /api/v3/time), as the execution worker last measured it.",
        "exchange_clock_age_seconds": "Age of the execution worker's latest measurement of the exchange's clock, as the gateway holds it.",
        "live_orders_unresolved": "Live orders unknown past LIVE_UNRESOLVED_ALERT_MS (each halts its symbol).",
        "exchange_used_weight":
            "The exchange's request weight used this minute (X-MBX-USED-WEIGHT-1M), as the execution replica last polled reports it.",
        "exchange_backoff_seconds":
            "Seconds until new live orders may be sent again (the rate-limit back-off every execution replica holds; 0 for none).",
        // every process
        "control_halted": "1 while trading is halted, else 0.",
        "control_risk_locked": "1 while trading is risk-locked (drawdown limit), else 0.",
        "control_state_known": "1 while the worker holds a fresh control state, else 0.",
        "worker_broker_connected": "1 while the worker has heard the broker within its heartbeat window, else 0.",
        "worker_requests_total": "Requests handled by the worker, by service.",
        "worker_request_duration_seconds": "Time to handle one request, by service.",
        // workers
        "execution_fills_total": "Orders filled by the execution worker, by mode (paper, live).",
        "execution_refusals_total": "Orders the execution worker refused (halted, locked, control state unknown, no live keys).",
        "model_predictions_total": "Predictions made, by model id, version and role.",
        "model_up_votes_total": "Predictions that voted up, by model id, version and role.",
        "model_prediction_duration_seconds": "Time to score one prediction, by model id, version and role.",
        "risk_equity_points_total": "Equity points recorded in the ledger.",
    ]

    /// `exposition` with a `# HELP` line before each `# TYPE` line that has none.
    public static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        let typePrefix = Array("# TYPE ".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(exposition.count + 2048)
        var previousWasHelp = false
        for line in exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: typePrefix), !previousWasHelp {
                let name = line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }
                if let help = text[String(decoding: name, as: UTF8.self)] {
                    output += Array("# HELP ".utf8) + name + [UInt8(ascii: " ")] + Array(help.utf8) + [UInt8(ascii: "\n")]
                }
            }
            previousWasHelp = line.starts(with: Array("# HELP ".utf8))
            output += line
            output.append(UInt8(ascii: "\n"))
        }
        if exposition.last == UInt8(ascii: "\n") || exposition.isEmpty { output.removeLast() }
        return output
    }
}
