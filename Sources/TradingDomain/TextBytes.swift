import Foundation
import TradingWire

/// Numbers and times written as ASCII bytes, for the backtest's files: the same text as
/// `String(format: "%.Nf")` and `ISO8601Millis.format`, without Foundation's formatter (which
/// costs microseconds a call, and the equity CSV has a line per candle).
struct TextBytes {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    /// `value` in decimal, at least `width` digits (zero-padded).
    mutating func append(_ value: UInt64, width: Int = 1) {
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            while count < min(width, 20) {
                buffer[count] = UInt8(ascii: "0")
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// `value` in decimal, with a minus sign when negative.
    mutating func append(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        append(value.magnitude)
    }

    /// `String(format: "%.<places>f", value)`, byte for byte: the exact binary value rounded half
    /// to even at `places` (0...9) decimals, as glibc's printf does; a minus sign whenever the sign
    /// bit is set (`-0.00` for -0.001 at 2 places). Values beyond 2^60 and non-finite ones go
    /// through `String(format:)`.
    mutating func appendFixed(_ value: Double, places: Int) {
        guard value.isFinite, value.magnitude < 0x1p60, (0...9).contains(places) else {
            append(String(format: "%.\(places)f", value))
            return
        }
        if value.sign == .minus { bytes.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var power: UInt64 = 1
        for _ in 0..<places { power *= 10 }
        // magnitude = significand × 2^exponent exactly, significand < 2^53.
        let significand = UInt128(magnitude.significandBitPattern | (magnitude.isNormal ? 1 << 52 : 0))
        let exponent = Int(magnitude.isNormal ? magnitude.exponent : Double.leastNormalMagnitude.exponent) - 52
        let scaled = significand * UInt128(power)  // < 2^53 × 10^9 < 2^83
        let rounded: UInt128
        if exponent >= 0 {
            rounded = scaled << exponent  // magnitude < 2^60: exponent ≤ 7, < 2^90
        } else if -exponent >= 100 {
            rounded = 0  // below 2^-17 × 10^9 / 2^100: far under one half
        } else {
            let shift = -exponent
            let quotient = scaled >> shift
            let remainder = scaled - (quotient << shift)
            let half = UInt128(1) << (shift - 1)
            rounded = remainder > half || (remainder == half && quotient & 1 == 1) ? quotient + 1 : quotient
        }
        append(UInt64(rounded / UInt128(power)))
        if places > 0 {
            bytes.append(UInt8(ascii: "."))
            append(UInt64(rounded % UInt128(power)), width: places)
        }
    }

    /// `ISO8601Millis.format(milliseconds)`: `2026-01-02T03:04:05.678Z`; `characters` keeps only
    /// the first ones (16: up to the minutes).
    mutating func appendISO8601(_ milliseconds: Int64, characters: Int = 24) {
        guard characters >= 24 else {
            append(String(ISO8601Millis.format(milliseconds).prefix(characters)))
            return
        }
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let rest = milliseconds - days * 86_400_000
        let (year, month, day) = ISO8601Millis.civil(days: Int(days))
        guard (0...9_999).contains(year) else {
            append(ISO8601Millis.format(milliseconds))
            return
        }
        let seconds = rest / 1_000
        append(UInt64(year), width: 4)
        bytes.append(UInt8(ascii: "-"))
        append(UInt64(month), width: 2)
        bytes.append(UInt8(ascii: "-"))
        append(UInt64(day), width: 2)
        bytes.append(UInt8(ascii: "T"))
        append(UInt64(seconds / 3_600), width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(UInt64(seconds / 60 % 60), width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(UInt64(seconds % 60), width: 2)
        bytes.append(UInt8(ascii: "."))
        append(UInt64(rest % 1_000), width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }
}
