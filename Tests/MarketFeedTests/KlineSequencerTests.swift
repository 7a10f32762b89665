import MarketFeed
import Testing
import TradingWire

@Suite struct KlineSequencerTests {
    func candle(_ minute: Int64) -> Candle { Candle(openTime: minute * 60_000, open: 1, high: 1, low: 1, close: 1, volume: 0) }

    @Test func gapsRepeatsAndReorders() {
        var sequencer = KlineSequencer(intervalMilliseconds: 60_000)
        #expect(sequencer.judge(symbol: "A", openTime: 600_000) == .first)
        #expect(sequencer.accept(symbol: "A", [candle(10), candle(8), candle(9), candle(9)]).map(\.openTime) == [480_000, 540_000, 600_000])
        #expect(sequencer.judge(symbol: "A", openTime: 660_000) == .next)
        #expect(sequencer.judge(symbol: "A", openTime: 600_000) == .old)
        #expect(sequencer.judge(symbol: "A", openTime: 540_000) == .old)
        #expect(sequencer.judge(symbol: "A", openTime: 840_000) == .gap(from: 660_000, to: 780_000))
        #expect(sequencer.accept(symbol: "A", [candle(9), candle(10)]).isEmpty)
        #expect(sequencer.judge(symbol: "B", openTime: 600_000) == .first)
    }

    @Test func resetForgets() {
        var sequencer = KlineSequencer(intervalMilliseconds: 1_000)
        _ = sequencer.accept(symbol: "A", [Candle(openTime: 5_000, open: 1, high: 1, low: 1, close: 1, volume: 0)])
        sequencer.reset(symbol: "A", newestOpenTime: nil)
        #expect(sequencer.newestOpenTime("A") == nil)
    }
}
