import Monitor

/// `mongo`: stores every result as one MongoDB document (`MongoDocument`) with batched,
/// acknowledged inserts, and keeps what the server has not acknowledged in a spool under the
/// notifier's state directory, so no result is lost while the server is away, nor across a
/// restart of the monitor.
public final class MongoNotifier: DurableNotifier, SinkStatsReporting {
    /// The options of `mongo`.
    public static let kind = NotifierKind(
        name: "mongo",
        options: [
            OptionSpec("uri", .string, default: "mongodb://localhost:27017", help: "server URI (mongodb:// or mongodb+srv://)"),
            OptionSpec("database", .string, default: "healthmonitor", help: "database name"),
            OptionSpec("collection", .string, default: "results", help: "collection name"),
            OptionSpec("ttl_days", .number(0.0001...36500), help: "days after which documents expire (TTL index on created); unset: never"),
            OptionSpec(
                "create_indexes", .boolean, default: true,
                help: "create the label/check indexes (and the TTL index) at start-up; off when they are managed elsewhere"),
            OptionSpec("write_concern", .string, default: "1", help: "w of every insert: a number of members (at least 1) or majority"),
            OptionSpec(
                "journal", .boolean, default: true,
                help: "acknowledged only once in the server's journal (j: true), so a server crash cannot lose an acknowledged insert"),
            OptionSpec("bulk_size", .integer(1...100_000), default: 500, help: "documents per insert"),
            OptionSpec("flush_interval", .duration(minimum: 0.001), default: 0.1, help: "longest a result waits for a fuller batch"),
            OptionSpec("connect_timeout", .duration(minimum: 0.1), default: 5, help: "server selection and connect timeout, unless the URI sets them"),
            OptionSpec("socket_timeout", .duration(minimum: 0.1), default: 10, help: "bound on each reply (socketTimeoutMS), unless the URI sets it"),
        ] + SpoolOptions.specs,
        defaultReport: .always,
        make: { context in try MongoNotifier(context: context) })

    private let worker: SinkWorker<MongoSink>
    private let flushTimeout: Double

    /// Builds the notifier from validated options; a URI libmongoc refuses or a bad write
    /// concern is a config error. `clock` times the flush interval, backoff and shutdown.
    public init(context: NotifierContext, clock: any ThreadClock = MonotonicClock()) throws {
        let options = context.options
        let uri = options.string("uri") ?? "mongodb://localhost:27017"
        if case .failure(let failure) = LibMongoc.shared {
            throw options.problem("", "the mongo notifier needs libmongoc: \(failure.message)")
        }
        if let problem = MongoConnection.validate(uri: uri) {
            // The URI itself is not repeated: one that failed to parse may not mask cleanly.
            throw options.problem("uri", "not a valid MongoDB URI: \(problem)")
        }
        let writeConcern = options.string("write_concern") ?? "1"
        guard writeConcern == "majority" || (Int(writeConcern).map { $0 >= 1 } ?? false) else {
            throw options.problem(
                "write_concern", "found \"\(writeConcern)\", expected a number of members (at least 1: inserts must be acknowledged) or majority")
        }
        func millis(_ name: String, _ fallback: Double) -> Int32 {
            Int32(min(Double(Int32.max), ((options.double(name) ?? fallback) * 1000).rounded()))
        }
        let settings = MongoSink.Settings(
            uri: uri, database: options.string("database") ?? "healthmonitor",
            collection: options.string("collection") ?? "results", ttlDays: options.double("ttl_days"),
            createIndexes: options.bool("create_indexes") ?? true,
            writeConcern: writeConcern, journal: options.bool("journal") ?? true, bulkSize: options.int("bulk_size") ?? 500,
            flushInterval: options.double("flush_interval") ?? 0.1,
            timeouts: .init(connectMillis: millis("connect_timeout", 5), socketMillis: millis("socket_timeout", 10)),
            deadLetterPath: context.stateDirectory + "/dead-letter.jsonl")
        worker = SpoolOptions.worker(
            MongoSink(settings: settings, logger: context.logger, clock: clock), context: context, type: "mongo", clock: clock)
        flushTimeout = SpoolOptions.flushTimeout(options)
    }

    /// Takes the results into the spool; never waits for the server, never throws.
    public func send(_ batch: [Delivery]) async throws {
        worker.accept(batch.map(\.result), intake: batch.map(\.intake).max() ?? 0)
    }

    /// Reports intake-log numbers once their results are in the spool files.
    public func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void) {
        worker.onDurable(handler)
    }

    /// Connects, inserts and reconnects until shutdown or cancellation.
    public func run() async throws {
        await worker.run()
    }

    /// Inserts what is held for at most `flush_timeout` seconds, then spills the rest.
    public func shutdown() async {
        await worker.shutdown(timeout: flushTimeout)
    }

    /// Delivery counters (acknowledged, duplicates, spooled, …).
    public var stats: SinkStats { worker.stats }
}
