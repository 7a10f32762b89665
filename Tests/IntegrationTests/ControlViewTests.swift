import Testing
import TradingWire
import WorkerRuntime

@Suite("control view")
struct ControlViewTests {
    func state(seq: UInt64, halted: Bool) -> ControlState {
        ControlState(seq: seq, halted: halted, haltReason: halted ? "stop" : nil, riskLocked: false, lockReason: nil, tradingMode: .paper, ts: 0)
    }

    @Test("a control message older than the one held is ignored; the same seq refreshes it")
    func olderSeqIgnored() {
        let view = ControlView(staleMilliseconds: 1_000)
        view.update(state(seq: 10, halted: true), now: 0)
        #expect(view.update(state(seq: 9, halted: false), now: 100) == false)
        #expect(view.current(now: 100)?.halted == true, "a late 'resume' does not undo a newer halt")
        view.update(state(seq: 10, halted: true), now: 900)
        #expect(view.current(now: 1_800)?.halted == true, "the re-publish of the same seq keeps it fresh")
        #expect(view.update(state(seq: 11, halted: false), now: 1_900) == true)
        #expect(view.current(now: 1_900)?.halted == false)
    }
}
