// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "healthmonitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "healthmonitor", targets: ["healthmonitor"]),
        .library(name: "Monitor", targets: ["Monitor"]),
        .library(name: "Notifiers", targets: ["Notifiers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.9.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        // C system libraries: module map + shim header, nothing else.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev", "libssl-dev"])]
        ),
        .systemLibrary(
            name: "CAMQP",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CMongo",
            // libbson only: libmongoc's headers are included by path and the library is opened
            // with dlopen when first needed (CMongo/shim.h says why).
            pkgConfig: "libbson-1.0",
            providers: [.apt(["libmongoc-dev"])]
        ),
        // Linux socket headers Glibc does not import (epoll, eventfd, ICMP filters, CMSG macros).
        .systemLibrary(name: "CLinux"),
        // SQLite 3 from Debian (the history store): one C library, no package to resolve.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "Monitor",
            dependencies: [
                "CCurl", "CLinux",
                .product(name: "Logging", package: "swift-log"),
                // For its libyaml (CYaml): Config/YAMLComposer.swift reads the events itself.
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The API only: the executable chooses the backend (Prometheus).
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // One AMQP 0-9-1 connection over librabbitmq: the rabbitmq notifier and the cluster.
        .target(name: "AMQPClient", dependencies: ["Monitor", "CAMQP", "CLinux"]),
        .target(
            name: "Notifiers",
            dependencies: [
                "Monitor", "AMQPClient", "CAMQP", "CMongo", "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Distributed checks over RabbitMQ: run requests, results, heartbeats; the agent.
        .target(
            name: "Cluster",
            dependencies: [
                "Monitor", "AMQPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The embedded history store (SQLite).
        .target(name: "HistorySQLite", dependencies: ["Monitor", "CSQLite"]),
        // Reports from the history: pure functions of data into table, JSON, CSV.
        .target(name: "Report", dependencies: ["Monitor"]),
        // The HTTP face: status page, JSON API, badges, /metrics, health (Hummingbird).
        .target(
            name: "HTTPFace",
            dependencies: [
                "Monitor", "Report",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "healthmonitor",
            dependencies: [
                "Monitor", "Notifiers", "HistorySQLite", "Report", "HTTPFace", "Cluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // Linked by lld with packed relative relocations (RELR: 22 KB where 2.8 MB of
            // `.rela.dyn` was read at every start and stayed resident) and without exporting
            // the executable's 32,000 symbols to the dynamic linker (1.7 MB of `.dynsym`,
            // `.dynstr` and `.gnu.hash`, also resident; nothing looks them up: crash backtraces
            // read `.symtab`). Measured with one check: RSS 39.0–39.4 → 36.2–36.7 MB.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
                    .when(platforms: [.linux]))
            ]
        ),
        // Scale benchmark (scripts/bench-hostport.sh); not part of the test run.
        .executableTarget(
            name: "HostPortBenchmark",
            dependencies: ["Monitor", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/HostPortBenchmark"
        ),
        // Benchmark of the spooling notifiers (scripts/bench-sinks.sh); not part of the tests.
        .executableTarget(
            name: "sink-bench",
            dependencies: ["Monitor", "Notifiers", "CAMQP", "CMongo"],
            path: "Benchmarks/SinkBenchmark",
            // It calls libmongoc directly (the floor of the mongo sink).
            linkerSettings: [.linkedLibrary("mongoc-1.0")]
        ),
        // Writes a large generated history (scripts/bench-report.sh); not part of the tests.
        .executableTarget(
            name: "history-gen",
            dependencies: ["Monitor", "HistorySQLite", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/HistoryGenerator"
        ),
        .testTarget(name: "MonitorTests", dependencies: ["Monitor"]),
        .testTarget(name: "NotifiersTests", dependencies: ["Notifiers", "Monitor"]),
        .testTarget(name: "AMQPClientTests", dependencies: ["AMQPClient"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Monitor"]),
        // CSQLite: a test writes a history file as an older version did.
        .testTarget(name: "HistoryTests", dependencies: ["Monitor", "HistorySQLite", "Report", "CSQLite"]),
        // HistorySQLite: the status page read from a real store.
        .testTarget(
            name: "HTTPFaceTests",
            dependencies: [
                "HTTPFace", "Monitor", "Report", "HistorySQLite", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // CAMQP: the tests consume what the rabbitmq notifier published (basic.get).
        // CSQLite: a test holds the history locked as another process would.
        // Yams: a test reads docs/openapi.yaml to check the API's responses against it.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Notifiers", "Monitor", "CAMQP", "CSQLite", "HistorySQLite", "Report", "AMQPClient", "Cluster", .product(name: "Yams", package: "Yams"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
