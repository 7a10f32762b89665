import Foundation
import TradingWire

/// What one frame of Binance's combined market streams, or one REST klines answer, says.
public enum MarketEvent: Sendable, Equatable {
    /// A kline of a subscribed symbol; only `closed` ones become candles.
    case kline(symbol: String, candle: Candle, closed: Bool)
    /// The best bid and ask of a subscribed symbol (`<symbol>@bookTicker`).
    case book(symbol: String, bid: Double, ask: Double, updateID: Int64)
    /// Binance is about to shut this server down: connect anew now.
    case serverShutdown
}

/// Why a frame was refused: counted by `reason` (`market_refused_frames_total`), never a candle.
public struct MarketRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// A short, stable label: `oversized`, `malformed`, `unknown_stream`, `unsubscribed_symbol`,
    /// `wrong_interval`, `bad_number`, `bad_range`, `future_open_time`, `misaligned_open_time`.
    public let reason: String
    public let detail: String

    public init(_ reason: String, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}

/// Reads Binance's market data strictly, with no I/O: the combined stream frames
/// (`{"stream":"btcusdt@kline_1s","data":{...}}` with a kline or a bookTicker event) and the
/// `GET /api/v3/klines` answer (an array of 12-element arrays).
///
/// Prices and volumes must be decimal strings (as Binance sends them) that read as finite numbers;
/// prices at least 1e-8 and below 1e12, volumes at least 0, high at least low and at least open and
/// close, low at most both; the open time a multiple of the interval, no later than `now` plus one
/// interval; the symbol one of `symbols` and the interval the one subscribed. Anything else is a
/// `MarketRefusal`.
public struct BinanceMarketParser: Sendable {
    /// Upper-case symbols subscribed (`BTCUSDT`).
    public let symbols: Set<String>
    public let interval: MarketInterval
    /// The largest frame read; a longer one is refused before it is parsed.
    public let maxFrameBytes: Int

    public init(symbols: Set<String>, interval: MarketInterval, maxFrameBytes: Int = 65_536) {
        self.symbols = symbols
        self.interval = interval
        self.maxFrameBytes = maxFrameBytes
    }

    private struct Envelope: Decodable {
        var stream: String
    }

    /// `{"e": "serverShutdown", "E": ...}`, bare or under `event` (as the WebSocket API sends it).
    private struct ShutdownNotice: Decodable {
        struct Event: Decodable {
            var e: String
        }

        var e: String?
        var event: Event?
        var isShutdown: Bool { e == "serverShutdown" || event?.e == "serverShutdown" }
    }

    private struct Wrapped<Payload: Decodable>: Decodable {
        var stream: String
        var data: Payload
    }

    private struct KlineEvent: Decodable {
        var e: String
        var s: String
        var k: Kline
    }

    private struct Kline: Decodable {
        var t: Int64
        var s: String
        var i: String
        var o: String
        var c: String
        var h: String
        var l: String
        var v: String
        var x: Bool
    }

    private struct BookTicker: Decodable {
        var u: Int64
        var s: String
        var b: String
        var a: String
    }

    /// One frame of the combined streams.
    public func frame(_ bytes: some Collection<UInt8>, now: Int64) throws(MarketRefusal) -> MarketEvent {
        guard bytes.count <= maxFrameBytes else { throw MarketRefusal("oversized", "a frame of \(bytes.count) bytes (at most \(maxFrameBytes))") }
        let data = Data(bytes)
        let stream: String
        do {
            stream = try JSONDecoder().decode(Envelope.self, from: data).stream
        } catch {
            if (try? JSONDecoder().decode(ShutdownNotice.self, from: data))?.isShutdown == true { return .serverShutdown }
            throw MarketRefusal("malformed", "not a combined-stream frame {\"stream\":..., \"data\":...}")
        }
        guard let at = stream.firstIndex(of: "@") else { throw MarketRefusal("unknown_stream", "stream \(stream.prefix(64))") }
        let name = stream[stream.index(after: at)...]
        if name == "bookTicker" {
            let ticker = try decode(Wrapped<BookTicker>.self, data).data
            let symbol = try subscribed(ticker.s, stream: stream)
            let bid = try number(ticker.b, "b")
            let ask = try number(ticker.a, "a")
            guard bid > 0, ask > 0, bid.isFinite, ask.isFinite, bid <= ask, ask < 1e12 else {
                throw MarketRefusal("bad_range", "\(symbol) book bid \(ticker.b) ask \(ticker.a): positive, bid at most ask")
            }
            return .book(symbol: symbol, bid: bid, ask: ask, updateID: ticker.u)
        }
        guard name == "kline_\(interval.name)" else { throw MarketRefusal("unknown_stream", "stream \(stream.prefix(64))") }
        let event = try decode(Wrapped<KlineEvent>.self, data).data
        guard event.e == "kline" else { throw MarketRefusal("malformed", "event type \(event.e.prefix(32)) on a kline stream") }
        let symbol = try subscribed(event.k.s, stream: stream)
        guard event.s == event.k.s else { throw MarketRefusal("malformed", "event symbol \(event.s.prefix(32)) differs from the kline's") }
        guard event.k.i == interval.name else {
            throw MarketRefusal("wrong_interval", "interval \(event.k.i.prefix(8)), subscribed \(interval.name)")
        }
        let k = event.k
        let candle = try candle(openTime: k.t, open: k.o, high: k.h, low: k.l, close: k.c, volume: k.v, symbol: symbol, now: now)
        return .kline(symbol: symbol, candle: candle, closed: k.x)
    }

    /// A `GET /api/v3/klines` answer for `symbol`: every row must be valid, else the whole answer
    /// is refused. Rows come oldest first; the last one may still be open (its close time, the
    /// seventh element, after `now`), and it is left out.
    public func klines(_ bytes: some Collection<UInt8>, symbol: String, now: Int64) throws(MarketRefusal) -> [Candle] {
        let rows = try decode([[RESTField]].self, Data(bytes))
        var candles: [Candle] = []
        candles.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard row.count >= 7, case .integer(let openTime) = row[0], case .integer(let closeTime) = row[6],
                case .text(let open) = row[1], case .text(let high) = row[2], case .text(let low) = row[3],
                case .text(let close) = row[4], case .text(let volume) = row[5]
            else {
                throw MarketRefusal(
                    "malformed",
                    "klines row \(index): [openTime, \"open\", \"high\", \"low\", \"close\", \"volume\", closeTime, ...]"
                )
            }
            if closeTime >= now { continue }
            let candle = try candle(openTime: openTime, open: open, high: high, low: low, close: close, volume: volume, symbol: symbol, now: now)
            if let last = candles.last, candle.openTime <= last.openTime {
                throw MarketRefusal("malformed", "klines row \(index): open times do not increase")
            }
            candles.append(candle)
        }
        return candles
    }

    /// One element of a klines row: an integer (times, trade count), a string (prices, volumes).
    private enum RESTField: Decodable {
        case integer(Int64)
        case text(String)
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(String.self) {
                self = .text(value)
            } else {
                self = .other
            }
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(MarketRefusal) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw MarketRefusal("malformed", "fields missing or of the wrong type")
        }
    }

    private func subscribed(_ symbol: String, stream: String) throws(MarketRefusal) -> String {
        guard symbols.contains(symbol), stream.hasPrefix(symbol.lowercased() + "@") else {
            throw MarketRefusal("unsubscribed_symbol", "symbol \(symbol.prefix(32)) on stream \(stream.prefix(64)) is not subscribed")
        }
        return symbol
    }

    private func number(_ text: String, _ field: String) throws(MarketRefusal) -> Double {
        // Digits and one point only: no sign, exponent, "nan" or "inf", at most 40 characters.
        let bytes = text.utf8
        guard (1...40).contains(bytes.count), bytes.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 }),
            bytes.filter({ $0 == 46 }).count <= 1, let value = Double(text), value.isFinite
        else { throw MarketRefusal("bad_number", "\(field) \(text.prefix(40)) is not a decimal number") }
        return value
    }

    private func candle(
        openTime: Int64,
        open: String,
        high: String,
        low: String,
        close: String,
        volume: String,
        symbol: String,
        now: Int64
    ) throws(MarketRefusal) -> Candle {
        let o = try number(open, "open")
        let h = try number(high, "high")
        let l = try number(low, "low")
        let c = try number(close, "close")
        let v = try number(volume, "volume")
        guard [o, h, l, c].allSatisfy({ $0 >= 1e-8 && $0 < 1e12 }), v >= 0, h >= max(o, c, l), l <= min(o, c) else {
            throw MarketRefusal("bad_range", "\(symbol) kline \(openTime): prices 1e-8 to 1e12, high >= open, close, low; volume >= 0")
        }
        guard openTime > 0 else { throw MarketRefusal("bad_range", "\(symbol) kline open time \(openTime)") }
        guard interval.isAligned(openTime) else {
            throw MarketRefusal("misaligned_open_time", "\(symbol) kline \(openTime) is not a multiple of \(interval.name)")
        }
        guard openTime <= now + interval.milliseconds else {
            throw MarketRefusal("future_open_time", "\(symbol) kline \(openTime) opens after now (\(now)) plus one interval")
        }
        return Candle(openTime: openTime, open: o, high: h, low: l, close: c, volume: v)
    }
}
