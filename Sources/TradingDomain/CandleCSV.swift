import Foundation
import TradingWire

/// Reads a candle CSV (`open_time,open,high,low,close,volume`, a header line first) from its bytes,
/// without building a `String` per line or field: the backtest reads tens of thousands of lines.
/// Numbers are read by the C library's `strtod`, correctly rounded as `Double(String)` is, so
/// the candles are the same, bit for bit.
public enum CandleCSV {
    /// A line that is not `open_time,open,high,low,close,volume`.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// 1-based, counting the header.
        public var line: Int
        public var description: String { "line \(line) is not open_time,open,high,low,close,volume" }
    }

    /// Every line after the first non-empty one (the header); empty lines (`\n`, `\r\n`) are skipped.
    /// Extra fields after the sixth are ignored.
    public static func parse(_ bytes: some ContiguousBytes) throws(ParseError) -> [Candle] {
        let result: Result<[Candle], ParseError> = bytes.withUnsafeBytes { buffer in
            var candles: [Candle] = []
            candles.reserveCapacity(buffer.count / 48)
            var lineNumber = 0
            var headerSeen = false
            var start = 0
            let end = buffer.count
            while start < end {
                var stop = start
                while stop < end, buffer[stop] != UInt8(ascii: "\n"), buffer[stop] != UInt8(ascii: "\r") { stop += 1 }
                if stop > start {
                    lineNumber += 1
                    if headerSeen {
                        guard let candle = line(buffer, start, stop) else { return .failure(ParseError(line: lineNumber)) }
                        candles.append(candle)
                    }
                    headerSeen = true
                }
                start = stop + 1
            }
            return .success(candles)
        }
        return try result.get()
    }

    /// One line's six fields, or nil.
    private static func line(_ buffer: UnsafeRawBufferPointer, _ start: Int, _ stop: Int) -> Candle? {
        var from = start
        /// The next field's bounds; nil past the line's end.
        func next() -> (Int, Int)? {
            guard from <= stop else { return nil }
            var to = from
            while to < stop, buffer[to] != UInt8(ascii: ",") { to += 1 }
            defer { from = to + 1 }
            return (from, to)
        }
        guard let time = next().flatMap({ integer(buffer, $0.0, $0.1) }),
            let open = next().flatMap({ double(buffer, $0.0, $0.1) }),
            let high = next().flatMap({ double(buffer, $0.0, $0.1) }),
            let low = next().flatMap({ double(buffer, $0.0, $0.1) }),
            let close = next().flatMap({ double(buffer, $0.0, $0.1) }),
            let volume = next().flatMap({ double(buffer, $0.0, $0.1) })
        else { return nil }
        return Candle(openTime: time, open: open, high: high, low: low, close: close, volume: volume)
    }

    /// `Int64(text)`: an optional sign, then 1 or more decimal digits, no overflow.
    static func integer(_ buffer: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int64? {
        var index = from
        var negative = false
        if index < to, buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
            negative = buffer[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < to else { return nil }
        var value: Int64 = 0
        while index < to {
            let digit = buffer[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// A decimal number (`-12.5`, `1e-3`): only digits, signs, a point and an exponent mark, at most
    /// 63 bytes, read whole by `strtod`; nil for anything else.
    static func double(_ buffer: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Double? {
        let count = to - from
        guard count > 0, count < 64 else { return nil }
        var digits = false
        for index in from..<to {
            switch buffer[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits = true
            case UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "e"), UInt8(ascii: "E"): break
            default: return nil
            }
        }
        guard digits else { return nil }
        if let exact = PlainDouble.read(buffer, from, to) { return exact }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { text -> Double? in
            for offset in 0..<count { text[offset] = CChar(bitPattern: buffer[from + offset]) }
            text[count] = 0
            guard let base = text.baseAddress else { return nil }
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &end)
            guard let end, end == base + count else { return nil }
            return value
        }
    }
}
