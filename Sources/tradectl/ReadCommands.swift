import ArgumentParser
import Foundation

/// GETs `path` and prints it: the API's JSON with `--json`, else the lines `text` makes of it.
/// A non-2xx answer prints the error and exits non-zero.
func show(_ stack: StackOptions, _ path: String, text: ([String: Any]) -> [String]) async throws {
    let answer = try await stack.client.get(path)
    guard (200..<300).contains(answer.status) else {
        print(stack.json ? answer.text : "HTTP \(answer.status): \(answer.text)")
        throw ExitCode.failure
    }
    if stack.json {
        print(answer.text)
    } else {
        for line in text(answer.json) { print(line) }
    }
}

/// Fixed-width columns for text output.
func table(_ header: [String], _ rows: [[String]]) -> [String] {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }
}

/// A JSON scalar as plain text ("" for null or missing).
func plain(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return ""
    case let text as String: return text
    default: return compact(value)
    }
}

struct Positions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The account: cash, equity, drawdown, and every position with its PnL.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        try await show(stack, "/api/positions") { account in
            var lines = [
                "equity \(plain(account["equity"]))  cash \(plain(account["cash"]))  peak \(plain(account["peakEquity"]))  drawdown \(plain(account["drawdown"]))  pending \(plain(account["pendingOrders"]))"
            ]
            let positions = account["positions"] as? [[String: Any]] ?? []
            lines += table(
                ["SYMBOL", "QUANTITY", "AVG PRICE", "MARK", "UNREALIZED", "REALIZED"],
                positions.map { p in ["symbol", "quantity", "averagePrice", "markPrice", "unrealizedPnl", "realizedPnl"].map { plain(p[$0]) } }
            )
            return lines
        }
    }
}

struct Orders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The latest orders, newest first.")
    @OptionGroup var stack: StackOptions
    @Option(help: "Only orders with this status: pending, filled or rejected.") var status: String?
    @Option(help: "How many (1 to 1000).") var limit = 20

    func validate() throws {
        if let status, !["pending", "filled", "rejected"].contains(status) { throw ValidationError("--status must be pending, filled or rejected") }
        guard (1...1_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000") }
    }

    func run() async throws {
        let query = "limit=\(limit)" + (status.map { "&status=\($0)" } ?? "")
        try await show(stack, "/api/orders?\(query)") { list in
            let orders = list["orders"] as? [[String: Any]] ?? []
            return table(
                ["CREATED", "CLIENT ORDER ID", "SYMBOL", "SIDE", "USD", "STATUS", "PRICE", "REASON"],
                orders.map { order in
                    let intent = order["intent"] as? [String: Any] ?? [:]
                    let fill = order["fill"] as? [String: Any]
                    let created =
                        (order["createdAt"] as? Double).map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0 / 1000)) } ?? ""
                    return [
                        created, plain(intent["clientOrderId"]), plain(intent["symbol"]), plain(intent["side"]), plain(intent["qtyUsd"]),
                        plain(order["status"]), plain(fill?["price"]), plain(order["rejectReason"]),
                    ]
                }
            )
        }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per model id: versions, canary routing and shadow agreement.")
    @OptionGroup var stack: StackOptions

    func run() async throws {
        try await show(stack, "/api/models") { list in
            let models = list["models"] as? [[String: Any]] ?? []
            return table(
                ["MODEL", "INCUMBENT", "CANARY", "ROUTING", "SHARE", "COMPARED", "AGREEMENT"],
                models.map { m in
                    let routing = m["canary"] as? [String: Any] ?? [:]
                    return [
                        plain(m["modelId"]), plain(m["incumbentVersion"]), plain(m["canaryVersion"]), plain(routing["mode"]), plain(routing["share"]),
                        plain(m["shadowCompared"]), plain(m["agreement"]),
                    ]
                }
            )
        }
    }
}

struct Model: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Route a model's canary: canary (off, shadow, split), promote, rollback.",
        subcommands: [CanaryRoute.self, Promote.self, Rollback.self]
    )

    struct CanaryRoute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "canary",
            abstract: "How the canary.<id> worker takes part: off, shadow or split."
        )
        @OptionGroup var stack: StackOptions
        @Argument(help: "The model id.") var id: String
        @Option(help: "off, shadow or split.") var mode = "shadow"
        @Option(help: "With split: the share of votes the canary casts (0 to 1).") var share: Double?

        func run() async throws {
            var body: [String: Any] = ["mode": mode]
            if let share { body["share"] = share }
            try await operatorAction(stack, "/api/models/\(id)/canary", body)
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The canary votes instead of the incumbent.")
        @OptionGroup var stack: StackOptions
        @Argument(help: "The model id.") var id: String

        func run() async throws { try await operatorAction(stack, "/api/models/\(id)/promote", [:]) }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Back to the incumbent.")
        @OptionGroup var stack: StackOptions
        @Argument(help: "The model id.") var id: String

        func run() async throws { try await operatorAction(stack, "/api/models/\(id)/rollback", [:]) }
    }
}

struct Equity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The equity history: a point per fill and at least one a minute.")
    @OptionGroup var stack: StackOptions
    @Option(help: "Only points of the last this many minutes.") var minutes = 60 * 24
    @Option(help: "At most this many points (the newest).") var limit = 50

    func run() async throws {
        let since = Int64(Date().timeIntervalSince1970 * 1000) - Int64(max(0, minutes)) * 60_000
        try await show(stack, "/api/equity?since=\(max(0, since))&limit=\(limit)") { history in
            let points = history["points"] as? [[String: Any]] ?? []
            return table(
                ["TIME", "EQUITY", "CASH", "PEAK", "DRAWDOWN"],
                points.map { p in
                    let time = (p["ts"] as? Double).map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0 / 1000)) } ?? ""
                    return [time, plain(p["equity"]), plain(p["cash"]), plain(p["peakEquity"]), plain(p["drawdown"])]
                }
            )
        }
    }
}
