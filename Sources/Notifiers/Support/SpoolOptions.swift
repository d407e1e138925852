import Monitor

/// The options and set-up every spooling notifier shares.
enum SpoolOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("spool_memory", .integer(1...10_000_000), default: 10000, help: "results held in memory before they spill to disk"),
        OptionSpec(
            "spool_max_bytes", .integer(1_048_576...Int.max), default: .int(1 << 30),
            help: "bytes the spool files may take; beyond it the oldest results are dropped (logged, counted)"),
        OptionSpec("flush_timeout", .duration(), default: 5, help: "at shutdown, seconds to deliver what is held before spilling it"),
    ]

    /// A worker for `sink` with its spool under the notifier's state directory, timed by `clock`
    /// (the sink's).
    static func worker<S: Sink>(_ sink: S, context: NotifierContext, type: String, clock: any ThreadClock) -> SinkWorker<S> {
        SinkWorker(
            sink: sink,
            settings: .init(
                spoolDirectory: context.stateDirectory + "/spool", memoryLimit: context.options.int("spool_memory") ?? 10000,
                maxBytes: context.options.int("spool_max_bytes") ?? 1 << 30),
            logger: context.logger, threadName: "\(type)-\(context.name)", clock: clock)
    }

    /// The `flush_timeout` option, in seconds.
    static func flushTimeout(_ options: Options) -> Double {
        options.double("flush_timeout") ?? 5
    }
}
