/// Storage's own tables. Numbers are global across modules (App assembles one ordered list); never edit a shipped one.
package enum StorageMigrations {
    package static let all: [Migration] = [
        // The lease that made one server the workload engine (Workloads' migration 21) is now the general
        // `LeaderLease`, one row per purpose (the engine, maintenance, later reconcilers): renamed to say so.
        Migration(25, "rename_engine_leases_to_leader_leases") { _ in
            [
                "ALTER TABLE engine_leases RENAME TO leader_leases"
            ]
        }
    ]
}
