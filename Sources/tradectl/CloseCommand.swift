import ArgumentParser
import Foundation

/// Flatten: close one position or every position of the traded book at market.
struct Close: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Close a position at market (POST /api/positions/SYMBOL/close), or every one with --all (needs the token).",
        discussion: """
            Sells a long's whole quantity (buys back a paper short) through the execute pipeline, every limit applying. \
            Allowed in REDUCING; while HALTED only with --force (the halt stays in force). Prints one line per symbol \
            (closed, nothing_to_close, refused with why) and exits 1 when any close was refused.
            """
    )
    @OptionGroup var stack: StackOptions
    @Argument(help: "The symbol, e.g. BTCUSDT (omit with --all).") var symbol: String?
    @Flag(help: "Close every position of the book.") var all = false
    @Option(help: "Why (required; kept in the audit trail).") var reason: String
    @Flag(help: "Close even while HALTED or risk-locked.") var force = false
    @Option(help: "With --all: paper or live (default: the trading mode's book).") var book: String?

    func validate() throws {
        guard all != (symbol != nil) else { throw ValidationError("give a SYMBOL or --all, not both nor neither") }
        if book != nil && !all { throw ValidationError("--book goes with --all") }
    }

    func run() async throws {
        let body: [String: Any] = ["reason": reason, "force": force, "requestedBy": "tradectl"]
        let path: String
        if let symbol {
            guard let escaped = symbol.addingPercentEncoding(withAllowedCharacters: .alphanumerics) else {
                throw ValidationError("the symbol is not valid text")
            }
            path = "/api/positions/\(escaped)/close"
        } else {
            path = "/api/positions/close-all" + (book.map { "?book=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? "")
        }
        let answer = try await stack.client.post(path, body)
        if stack.json { print(answer.text) }
        guard answer.status == 200 else {
            if !stack.json {
                print(
                    "close refused: HTTP \(answer.status) \(plain(answer.json["error"])): \(plain(answer.json["detail"]).isEmpty ? answer.text : plain(answer.json["detail"]))"
                )
            }
            throw ExitCode.failure
        }
        let results = symbol == nil ? (answer.json["results"] as? [[String: Any]] ?? []) : [answer.json]
        var refused = 0
        for result in results {
            let outcome = plain(result["outcome"])
            if outcome == "refused" { refused += 1 }
            guard !stack.json else { continue }
            var line = "\(plain(result["symbol"])): \(outcome)"
            if let quantity = result["quantity"], outcome != "nothing_to_close" { line += " (held \(compact(quantity)))" }
            if let order = result["order"] as? [String: Any] {
                line += ", order \(plain(order["clientOrderId"])) \(plain(order["status"]))"
                if let fill = order["fill"] as? [String: Any] { line += " at \(compact(fill["price"]))" }
            }
            if outcome == "refused" { line += ": \(plain(result["error"])): \(plain(result["detail"]))" }
            print(line)
        }
        if !stack.json && results.isEmpty { print("nothing held in the \(plain(answer.json["book"])) book") }
        if refused > 0 { throw ExitCode.failure }
    }
}
