import AITIPCore
import Foundation
import SQLKit

/// A kind of run-to-completion workload (a training job; later evaluation, test and simulation runs), declared by the
/// module that owns it and registered with `WorkloadService`: what it is called, which permissions read, change and
/// delete one, and what of its own that module removes when one is deleted. The lifecycle (queue, scheduling, logs,
/// stop, delete) is the same for every kind.
package struct WorkloadKind: Sendable {
    /// Stored with each workload and used in audit actions (`training.submit`).
    package let name: String
    /// How answers name one ("Training job").
    package let title: String
    package let read: Permission
    package let write: Permission
    package let delete: Permission
    /// Removes the owning module's own record of a workload being deleted, in the delete's transaction.
    package let onDelete: @Sendable (UUID, any SQLDatabase) async throws -> Void

    package init(
        name: String, title: String, read: Permission, write: Permission, delete: Permission,
        onDelete: @escaping @Sendable (UUID, any SQLDatabase) async throws -> Void = { _, _ in }
    ) {
        self.name = name
        self.title = title
        self.read = read
        self.write = write
        self.delete = delete
        self.onDelete = onDelete
    }
}
