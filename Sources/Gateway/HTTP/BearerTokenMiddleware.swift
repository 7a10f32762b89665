import Hummingbird

/// Guards the state-changing routes of its group: with `API_TOKEN` set, a request without
/// `Authorization: Bearer <token>` is answered 401 `unauthorized` before its body is read.
/// Without a token (a paper stack on loopback) it lets every request through.
struct BearerTokenMiddleware: RouterMiddleware {
    private let token: [UInt8]?
    /// A second token this group also takes (`MARKET_FEED_TOKEN` on the candle route only).
    private let alternate: [UInt8]?

    init(token: String?, alternate: String? = nil) {
        self.token = token.map { Array($0.utf8) }
        self.alternate = alternate.map { Array($0.utf8) }
    }

    func handle(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async throws -> Response {
        if let token {
            guard let given = Self.bearerToken(request.headers[.authorization] ?? ""),
                Self.constantTimeEqual(given, token) || alternate.map({ Self.constantTimeEqual(given, $0) }) == true
            else {
                throw APIError(.unauthorized, "unauthorized", "this call needs Authorization: Bearer <API_TOKEN>")
            }
        }
        return try await next(request, context)
    }

    /// The credentials of `Bearer <token>`, the scheme's name in any case (RFC 9110 11.1), one
    /// space after it; nil for any other scheme.
    static func bearerToken(_ header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count + 1, bytes[scheme.count] == UInt8(ascii: " ") else { return nil }
        // Setting bit 5 lower-cases an ASCII letter, and makes no other byte a letter of "bearer".
        for (byte, expected) in zip(bytes, scheme) where byte | 0x20 != expected {
            return nil
        }
        return Array(bytes[(scheme.count + 1)...])
    }

    /// Compares secrets without an early exit on the first differing byte.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<max(lhs.count, rhs.count) {
            let a = index < lhs.count ? lhs[index] : 0
            let b = index < rhs.count ? rhs[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
