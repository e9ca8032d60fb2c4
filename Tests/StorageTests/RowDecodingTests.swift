import AITIPCore
import AITIPTestSupport
import Foundation
import SQLKit
import Storage
import Testing

@Suite("Row decoding and binds on SQLite and PostgreSQL")
struct RowDecodingTests {
    struct Gadget: Codable, Equatable {
        enum Shape: String, Codable { case round, square }
        var id: UUID
        var name: String
        var nickname: String?
        var count: Int
        var total: Int64
        var ratio: Double
        var ok: Bool
        var madeAt: Date
        var blob: Data
        var shape: Shape
        var note: String?

        enum CodingKeys: String, CodingKey {
            case id, name, nickname, count, total, ratio, ok, blob, shape, note
            case madeAt = "made_at"
        }
    }

    static let schema = Migration(1, "create_gadgets") { t in
        [
            """
            CREATE TABLE gadgets (id \(t.uuid) PRIMARY KEY, name \(t.text) NOT NULL, nickname \(t.text), count \(t.integer) NOT NULL,
                total \(t.bigint) NOT NULL, ratio \(t.double) NOT NULL, ok \(t.bool) NOT NULL, made_at \(t.legacyTimestamp) NOT NULL,
                blob \(t.blob) NOT NULL, shape \(t.text) NOT NULL, note \(t.text))
            """
        ]
    }

    @Test(
        "every column type round-trips through Codable rows, optional binds and NULLs, and a wrong type is an error",
        arguments: DatabaseKind.available)
    func roundTrip(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await Migrator(database: database, migrations: [Self.schema], logger: TestEnvironment.logger).migrate()
            let madeAt = Date(timeIntervalSince1970: 1_700_000_000.25)
            let gadgets = [
                Gadget(
                    id: UUID(), name: "alpha", nickname: "a", count: -3, total: Int64.max, ratio: 0.1, ok: true, madeAt: madeAt,
                    blob: Data([0, 1, 2, 255]), shape: .round, note: nil),
                Gadget(
                    id: UUID(), name: "beta", nickname: nil, count: 7, total: -1, ratio: -2.5e-300, ok: false, madeAt: madeAt,
                    blob: Data(), shape: .square, note: "n"),
            ]
            try await database.transaction { sql in
                for gadget in gadgets { try await sql.insert(gadget, into: "gadgets") }
            }
            let read = try await database.read { sql in
                try await sql.select().column("*").from("gadgets").orderBy("name").rows(Gadget.self)
            }
            #expect(read.count == 2)
            for (expected, actual) in zip(gadgets, read) {
                #expect(actual.id == expected.id && actual.name == expected.name && actual.nickname == expected.nickname)
                #expect(actual.count == expected.count && actual.total == expected.total && actual.ratio == expected.ratio)
                #expect(actual.ok == expected.ok && actual.blob == expected.blob && actual.shape == expected.shape && actual.note == expected.note)
                #expect(abs(actual.madeAt.timeIntervalSince(expected.madeAt)) < 0.001)
            }

            // Optional binds: a value matches, nil writes NULL.
            let nickname: String? = "a", none: String? = nil
            let matched = try await database.read { sql in
                try await sql.raw("SELECT name FROM gadgets WHERE nickname = \(bind: nickname)").all().map {
                    try $0.decode(column: "name", as: String.self)
                }
            }
            #expect(matched == ["alpha"])
            try await database.transaction { sql in
                try await sql.raw("UPDATE gadgets SET nickname = \(bind: none) WHERE name = 'alpha'").run()
            }
            let row = try #require(
                try await database.read { sql in try await sql.raw("SELECT nickname, count, ratio FROM gadgets WHERE name = 'alpha'").first() })
            #expect(try row.decodeNil(column: "nickname"))
            #expect(try row.decode(column: "nickname", as: String?.self) == nil)
            #expect(try row.decode(column: "count", as: Int?.self) == -3)
            #expect(throws: (any Error).self) { try row.decode(column: "ratio", as: UUID.self) }
            #expect(throws: (any Error).self) { try row.decode(column: "missing", as: String.self) }

            // A computed NUMERIC (PostgreSQL's SUM of BIGINT) still reads as a Double.
            let sum = try #require(
                try await database.read { sql in try await sql.raw("SELECT SUM(CAST(count AS BIGINT)) AS total FROM gadgets").first() })
            #expect(try sum.decode(column: "total", as: Double.self) == 4)
        }
    }

    /// On SQLite a write transaction runs on the writer's own connection, through SQLite's C API rather than SQLiteNIO:
    /// what it reads must decode exactly as the pool's reads do.
    @Test("rows read inside a write transaction decode as reads do", arguments: DatabaseKind.available)
    func readsInsideTransactions(kind: DatabaseKind) async throws {
        try await withDatabase(kind) { database in
            try await Migrator(database: database, migrations: [Self.schema], logger: TestEnvironment.logger).migrate()
            let gadget = Gadget(
                id: UUID(), name: "gamma é✓", nickname: nil, count: Int(Int32.min), total: Int64.min, ratio: .pi, ok: true,
                madeAt: Date(timeIntervalSince1970: 1_700_000_001.5), blob: Data((0...255).map(UInt8.init)), shape: .square, note: "")
            let insideTransaction = try await database.transaction { sql in
                try await sql.insert(gadget, into: "gadgets")
                return try await sql.select().column("*").from("gadgets").rows(Gadget.self)
            }
            let outside = try await database.read { sql in try await sql.select().column("*").from("gadgets").rows(Gadget.self) }
            #expect(insideTransaction.count == 1 && outside.count == 1)
            for actual in insideTransaction + outside {
                #expect(actual.id == gadget.id && actual.name == gadget.name && actual.nickname == nil && actual.note == "")
                #expect(actual.count == gadget.count && actual.total == gadget.total && actual.ratio == gadget.ratio && actual.ok)
                #expect(actual.blob == gadget.blob && actual.shape == .square)
                #expect(abs(actual.madeAt.timeIntervalSince(gadget.madeAt)) < 0.001)
            }
            try await database.transaction { sql in
                let row = try #require(try await sql.raw("SELECT nickname AS same, count AS same, note FROM gadgets").first())
                #expect(row.allColumns == ["same", "same", "note"])
                if kind == .sqlite { #expect(try row.decodeNil(column: "same")) } // the first of two with one name, as SQLiteNIO reads
                #expect(try row.decode(column: "note", as: String.self) == "")
                #expect(throws: (any Error).self) { try row.decode(column: "missing", as: String.self) }
                #expect(throws: (any Error).self) { try row.decode(column: "note", as: UUID.self) }
            }
        }
    }

    @Test("UUIDs kept as text parse in either case and nothing else parses")
    func uuidText() {
        for _ in 0..<100 {
            let id = UUID()
            #expect(UUID(canonical: id.lowercasedString) == id && UUID(canonical: id.uuidString) == id)
            #expect(id.uppercasedString == id.uuidString) // how SQLite binds keep ids, as SQLiteKit's encoder did
        }
        let good = "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"
        #expect(UUID(canonical: good)?.lowercasedString == good)
        for bad in [
            "", String(good.dropLast()), good + "0", "0190a5b27-c3d-7e4f-8a9b-0c1d2e3f4a5b", "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5g",
            "{190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "0190a5b2-7c3d-7e4f-8a9b0-c1d2e3f4a5b", "0190a5b2+7c3d-7e4f-8a9b-0c1d2e3f4a5b",
            "0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5é",
        ] {
            #expect(UUID(canonical: bad) == nil, "\(bad)")
        }
    }
}
