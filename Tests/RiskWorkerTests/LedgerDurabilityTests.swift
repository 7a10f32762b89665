import Foundation
import GRDB
import Testing
import TradingDomain
import TradingWire

@testable import RiskWorker

@Suite("ledger durability")
struct LedgerDurabilityTests {
    func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("PRAGMA synchronous read back from the writing connection is FULL (2)")
    func synchronousFull() throws {
        let store = try LedgerStore(directory: try directory())
        #expect(try store.writerPragma("synchronous") == 2)
    }

    @Test("another connection holding the write lock makes a save wait, not fail")
    func busyWaits() throws {
        let path = try directory()
        let store = try LedgerStore(directory: path)
        let limits = RiskLimits(
            confidenceThreshold: 0.5,
            maxOrderNotionalUsd: 1,
            maxPositionUsd: 1,
            maxDrawdown: 0.5,
            startingEquityUsd: 100,
            slippageBps: 0,
            feeBps: 0
        )
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let operatorSession = try DatabaseQueue(path: (path as NSString).appendingPathComponent("ledger.sqlite"), configuration: configuration)
        try operatorSession.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.7)
            try? operatorSession.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
            released.signal()
        }
        try store.save(RiskEngine(limits: limits))
        released.wait()
        #expect(try store.load(limits: limits, recentOrders: 10).portfolio.cash == 100)
    }
}
