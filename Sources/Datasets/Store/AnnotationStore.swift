import AITIPCore
import Foundation
import SQLKit
import Storage

/// SQL for annotation tasks. Callers authorize first; everything here trusts its arguments.
enum AnnotationStore {
    /// The task, only if it belongs to `dataset`: an id from another dataset's URL finds nothing.
    static func annotation(_ id: UUID, dataset: UUID, on sql: any SQLDatabase) async throws -> Annotation? {
        try await sql.select().column("*").from("data_annotations").where("id", .equal, id).where("dataset_id", .equal, dataset)
            .first(decoding: Annotation.self)
    }

    /// Oldest first, optionally only those with this status or assignee.
    static func annotations(
        of dataset: UUID, status: Annotation.Status?, assignee: UUID?, page: PageRequest, on sql: any SQLDatabase
    ) async throws -> Page<Annotation> {
        let select = sql.select().column("*").from("data_annotations").where("dataset_id", .equal, dataset)
        if let status { select.where("status", .equal, status.rawValue) }
        if let assignee { select.where("assignee_id", .equal, assignee) }
        if let after = page.after { select.where("id", .greaterThan, after) }
        let rows = try await select.orderBy("id").limit(page.limit + 1).all(decoding: Annotation.self)
        return Page(fetched: rows, limit: page.limit, id: \.id)
    }

    /// Every completed task of the dataset, oldest first: what an export writes, in a stable order.
    static func completed(of dataset: UUID, on sql: any SQLDatabase) async throws -> [Annotation] {
        try await sql.select().column("*").from("data_annotations").where("dataset_id", .equal, dataset)
            .where("status", .equal, Annotation.Status.completed.rawValue).orderBy("id").all(decoding: Annotation.self)
    }

    static func insert(_ annotation: Annotation, on sql: any SQLDatabase) async throws {
        try await sql.insert(annotation, into: "data_annotations")
    }

    static func update(_ annotation: Annotation, on sql: any SQLDatabase) async throws {
        try await sql.updateRow(annotation, in: "data_annotations", id: annotation.id)
    }
}
