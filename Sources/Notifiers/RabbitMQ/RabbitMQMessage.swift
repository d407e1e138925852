import Monitor

/// The RabbitMQ message of one result, following Clowder's event-sink convention: one JSON
/// object whose first members are `category` (`"healthmonitor"`) and `type` (the check type),
/// then the whole result: `id`, `status`, `check`, `label`, `message`, `measurement`, `created`
/// (ISO-8601 UTC), `elapsed` (seconds), `config` (secrets masked), `host`.
///
/// ```json
/// {"category":"healthmonitor","type":"ping","id":"019ac0e4-…","status":"success","check":"ping",
///  "label":"clowder","message":"5/5 packets, avg 0.051 ms","measurement":{"loss":0.0,…},
///  "created":"2026-11-25T13:05:09.042Z","elapsed":4.01,"config":{…},"host":"monitor-1"}
/// ```
enum RabbitMQMessage {
    /// The `category` of every healthmonitor event.
    static let category = "healthmonitor"

    /// The message body.
    static func body(_ result: CheckResult) -> String {
        result.json(extra: [("category", .string(category)), ("type", .string(result.check))])
    }

    /// The AMQP `timestamp` property: the result's creation time in whole Unix seconds.
    static func timestamp(_ result: CheckResult) -> UInt64 {
        UInt64(max(0, result.createdMillis / 1000))
    }
}
