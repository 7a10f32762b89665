/// `execution` / `clock`: the execution worker's measurement of the exchange's clock.
public struct ExchangeClockStatus: Codable, Sendable, Equatable {
    /// The exchange's time minus the host's, ms; nil until one measurement succeeded.
    public var offsetMs: Int64?
    /// Age of that measurement when answered, ms.
    public var ageMs: Int64?
    /// Round trip of the measuring `GET /api/v3/time`, ms.
    public var roundTripMs: Int64?
    /// How often the worker measures (`EXCHANGE_TIME_SYNC_MS`).
    public var syncIntervalMs: Int
    /// The last failed measurement since the last good one.
    public var lastFailure: String?
    /// The replica's rate budget (absent from workers that predate it).
    public var rate: ExchangeRateStatus?

    public init(
        offsetMs: Int64?,
        ageMs: Int64?,
        roundTripMs: Int64?,
        syncIntervalMs: Int,
        lastFailure: String?,
        rate: ExchangeRateStatus? = nil
    ) {
        self.rate = rate
        self.offsetMs = offsetMs
        self.ageMs = ageMs
        self.roundTripMs = roundTripMs
        self.syncIntervalMs = syncIntervalMs
        self.lastFailure = lastFailure
    }
}

/// `risk` / `resolve_order`: an audited settlement of a live order from outside the execute path.
///
/// `operator`: a pending order the reconciler could not resolve, settled by an operator who names
/// the evidence. `late_fill`: an order booked rejected that the exchange shows filled after all;
/// the one transition from rejected to filled, its money booked once.
public struct ResolveOrderRequest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case `operator`
        case lateFill = "late_fill"
    }

    public var clientOrderId: String
    public var kind: Kind
    /// The fill; nil settles the order rejected (operator only).
    public var fill: Fill?
    public var rejectReason: String?
    public var requestedBy: String
    /// What proves the outcome (an exchange answer, a support ticket): written to the audit trail.
    public var evidence: String

    public init(clientOrderId: String, kind: Kind, fill: Fill?, rejectReason: String?, requestedBy: String, evidence: String) {
        self.clientOrderId = clientOrderId
        self.kind = kind
        self.fill = fill
        self.rejectReason = rejectReason
        self.requestedBy = requestedBy
        self.evidence = evidence
    }
}
