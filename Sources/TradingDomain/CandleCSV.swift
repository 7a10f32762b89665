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

    /// 10^0 ... 10^22: the powers of ten a `Double` holds exactly.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `strtod`'s value for a plain decimal (`-12.5`: a sign, digits, a point, digits; no
    /// exponent) of at most 15 significant digits and 22 decimals: its digits as an integer
    /// divided by a power of ten, both exact in a `Double`, so one correctly rounded division
    /// gives the correctly rounded value (Clinger's fast path, as `strtod` itself takes). Nil for
    /// any other text, which `strtod` reads.
    static func plainDecimal(_ buffer: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Double? {
        var index = from
        var negative = false
        if buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
            negative = buffer[index] == UInt8(ascii: "-")
            index += 1
        }
        var significand: UInt64 = 0
        var significantDigits = 0
        var integerDigits = 0
        var fractionDigits = 0
        var point = false
        while index < to {
            let byte = buffer[index]
            if byte == UInt8(ascii: ".") {
                guard !point else { return nil }
                point = true
            } else {
                let digit = byte &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                if point { fractionDigits += 1 } else { integerDigits += 1 }
                if significand > 0 || digit > 0 { significantDigits += 1 }
                guard significantDigits <= 15 else { return nil }
                significand = significand * 10 + UInt64(digit)
            }
            index += 1
        }
        // `5.` and `.5` are numbers to strtod too; they are left to it.
        guard integerDigits > 0, !point || fractionDigits > 0, fractionDigits <= 22 else { return nil }
        let magnitude = Double(significand) / powersOfTen[fractionDigits]
        return negative ? -magnitude : magnitude
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
        if let exact = plainDecimal(buffer, from, to) { return exact }
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
