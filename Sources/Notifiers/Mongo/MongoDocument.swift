import Monitor

/// The MongoDB document of one result: the fields of the RabbitMQ message, typed.
///
/// `_id` is the result id (so a retried insert cannot store a result twice), `created` a BSON
/// date, measurement and config values keep their JSON types (integers as 64-bit integers,
/// fractions as doubles, booleans as booleans):
/// ```
/// { _id: "019ac0e4-…", category: "healthmonitor", type: "ping", check: "ping", label: "clowder",
///   status: "success", message: "5/5 packets, avg 0.051 ms", measurement: { loss: 0.0, sent: 5 },
///   created: ISODate("2026-11-25T13:05:09.042Z"), elapsed: 4.01, config: { … }, host: "monitor-1" }
/// ```
enum MongoDocument {
    static func make(_ result: CheckResult) -> BSONDocument {
        let document = BSONDocument()
        document.append("_id", string: result.id)
        document.append("category", string: RabbitMQMessage.category)
        document.append("type", string: result.check)
        document.append("check", string: result.check)
        document.append("label", string: result.label)
        document.append("status", string: result.status.rawValue)
        document.append("message", string: result.message)
        document.append("measurement", .object(result.measurement))
        document.append("created", dateMillis: result.createdMillis)
        document.append("elapsed", .double(result.elapsed))
        document.append("config", .object(result.config))
        document.append("host", string: result.host)
        return document
    }
}

extension MongoNotifier {
    /// The size in bytes of the document this notifier inserts for `result`: for benchmarks,
    /// whose floors insert documents of the same size.
    public static func documentSize(_ result: CheckResult) -> Int {
        MongoDocument.make(result).byteCount
    }
}
