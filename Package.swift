// swift-tools-version:6.2
import PackageDescription

// Layers point one way (docs/ARCHITECTURE in shared/): AITIPCore ← infrastructure ← features ← HTTPServer ← App ← aitip.
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "aitip",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aitip", targets: ["aitip"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/vapor/async-kit.git", from: "1.22.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "AITIPCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "AITIPCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "AsyncKit", package: "async-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ObjectStore",
            dependencies: [
                "AITIPCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Identity",
            dependencies: [
                "AITIPCore", "Storage",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Events: webhook subscriptions, the delivery outbox and the rules for requests to user-chosen URLs (SSRF).
        .target(
            name: "Events",
            dependencies: [
                "AITIPCore", "Storage", "Identity",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Tracking",
            dependencies: ["AITIPCore", "Storage", "ObjectStore", "Identity", "Events"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Executors",
            dependencies: [
                "AITIPCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scheduler",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Workloads",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity", "Executors", "Scheduler",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Datasets",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Training",
            dependencies: ["AITIPCore", "Storage", "Identity", "Executors", "Workloads", "Datasets", "Tracking"],
            swiftSettings: swiftSettings
        ),
        // The inference data plane: `/serve/{service}/…` to a ready replica, balancing, traffic splits, per-version metrics.
        .target(
            name: "Gateway",
            dependencies: [
                "AITIPCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Inference",
            dependencies: [
                "AITIPCore", "Storage", "Identity", "Workloads", "Tracking", "Gateway",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Evaluation jobs (a workload kind): benchmarks, scoring against labels kept on the server, gates, reports.
        .target(
            name: "Evaluation",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity", "Workloads", "Tracking", "Datasets",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test plans (a workload kind for their executions): schedules, JUnit and Cobertura results, flaky cases, reports.
        // Not "Testing": that name is swift-testing's module.
        .target(
            name: "TestPlans",
            dependencies: [
                "AITIPCore", "Storage", "Identity", "Workloads", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Simulation environments and runs (a workload kind per scenario): templates, scenario suites, sandboxes
        // (bubblewrap, gVisor), safety scores and gates, reports.
        .target(
            name: "Simulation",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity", "Workloads", "Tracking", "Executors",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The runner and its adapter library, shipped inside the binary (`SimulationRunner`).
            resources: [.embedInCode("Python/aitip_sim.py"), .embedInCode("Python/sim_runner.py")],
            swiftSettings: swiftSettings
        ),
        // Releases: approvals, gates (evaluation, tests, simulation), staged canary traffic with live analysis.
        .target(
            name: "Release",
            dependencies: [
                "AITIPCore", "Storage", "Identity", "Events", "Workloads", "Datasets", "Inference", "Gateway", "Evaluation", "TestPlans",
                "Simulation", .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // The agent API: every operation of openapi.yaml as a tool, run with the caller's own credential.
        .target(
            name: "Agent",
            dependencies: [
                "AITIPCore", "Storage", "Identity", "Events", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AITIPAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")
            ],
            resources: [.embedInCode("openapi.yaml")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The generated client of the same document, for the CLI (and any Swift caller of the API).
        .target(
            name: "AITIPClient",
            dependencies: [
                "AITIPAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "HTTPServer",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity", "Tracking", "Workloads", "Training", "Datasets", "Executors", "AITIPAPI",
                "Events", "Inference", "Gateway", "Evaluation", "TestPlans", "Simulation", "Release", "Agent",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The MLflow-compatible API: MLflow's wire format, error shape and basic auth, on router groups of its own.
        .target(
            name: "MLflowServer",
            dependencies: [
                "AITIPCore", "Identity", "Tracking", "HTTPServer", "ObjectStore", "Events",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "App",
            dependencies: [
                "AITIPCore", "Storage", "ObjectStore", "Identity", "Tracking", "Workloads", "Training", "Datasets", "Executors", "HTTPServer",
                "MLflowServer", "Events", "Inference", "Gateway", "Evaluation", "TestPlans", "Simulation", "Release", "Agent", "AITIPAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "aitip",
            dependencies: [
                "App", "AITIPCore", "AITIPAPI", "AITIPClient", "Agent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // `swift run -c release scheduler-bench`: the scheduler's cycle on a simulated cluster (docs/benchmarks.md).
        .executableTarget(
            name: "scheduler-bench",
            dependencies: ["Scheduler"],
            path: "bench/scheduler",
            swiftSettings: swiftSettings
        ),
        // `bench/simulation.sh`: each sandbox's start-up and simulation steps/s against none (docs/benchmarks.md).
        .executableTarget(
            name: "sandbox-bench",
            dependencies: ["Executors", .product(name: "Logging", package: "swift-log")],
            path: "bench/sandbox",
            swiftSettings: swiftSettings
        ),
        // Shared by the test targets only: throwaway SQLite and PostgreSQL databases, a movable clock.
        .target(
            name: "AITIPTestSupport",
            dependencies: [
                "Storage", "AITIPCore",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Tests/AITIPTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "AITIPCore", "AITIPTestSupport", "ObjectStore", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatasetsTests",
            dependencies: [
                "Datasets", "ObjectStore", "AITIPCore", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: ["Identity", "Storage", "AITIPCore", "AITIPTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrackingTests",
            dependencies: ["Tracking", "AITIPCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ExecutorsTests",
            dependencies: ["Executors", "AITIPCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkloadsTests",
            dependencies: [
                "Workloads", "Identity", "Storage", "Executors", "ObjectStore", "AITIPCore", "AITIPTestSupport",
                .product(name: "SQLKit", package: "sql-kit"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "Workloads", "Tracking", "Datasets", "Identity", "Storage", "Executors", "ObjectStore", "AITIPCore",
                "AITIPTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "AITIPCore", .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Workloads", "AITIPCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Datasets", "AITIPCore"],
            // Files a test reads from its source folder (a results file written by lm-evaluation-harness).
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TestPlansTests",
            dependencies: ["TestPlans", "AITIPCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MLflowServerTests",
            dependencies: ["MLflowServer", "HTTPServer", "Tracking", "AITIPCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: [
                "App", "HTTPServer", "Identity", "Tracking", "Storage", "AITIPCore", "AITIPTestSupport", "AITIPAPI", "Workloads", "Events",
                "ObjectStore", "Inference", "Gateway",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"), "Agent",
            ],
            // Read by the tests from the source tree (the agent's phrasings).
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
