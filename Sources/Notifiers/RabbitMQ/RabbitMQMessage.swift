import Monitor

/// The RabbitMQ message of one result, in one of two formats (option `format`).
///
/// **`clowder`** (default): one flat JSON object of scalars, the event Clowder's event-sink
/// consumers read (their InfluxDB consumer takes tags `type`, `category`, `healthy` and fields
/// `service_name`, `response_time_*`, `uptime`; `created` must be an integer):
///
/// ```json
/// {"created":1764594309042,"category":"service_status","type":"up","service_name":"clowder",
///  "healthy":true,"response_time_avg":0.051,"response_time_min":0.042,"response_time_max":0.063,
///  "response_time_loss":0.0,"uptime":0.998,"id":"019ac0e4-…","check":"ping","label":"clowder",
///  "status":"success","message":"Host is reachable (…)","host":"monitor-1","elapsed":4.01,
///  "measurement_packets":5,"measurement_loss":0.0,…}
/// ```
///
/// Times are always JSON numbers with a fraction (`12.0`, never `12`), so InfluxDB never sees an
/// integer where it stored a float. No `config`.
///
/// **`full`**: the nested result as every other notifier sees it, after `category`
/// (`"healthmonitor"`) and `type` (the check type): `id`, `status`, `check`, `label`, `message`,
/// `measurement`, `created` (ISO-8601), `elapsed`, `config` (secrets masked), `host`, `uptime`.
enum RabbitMQMessage {
    enum Format: String, Sendable {
        case clowder, full
    }

    /// The `category` of `full` messages.
    static let category = "healthmonitor"
    /// The `category` of `clowder` messages: Clowder's own health events use it.
    static let clowderCategory = "service_status"

    /// The message body of one result alone (`created` is the run's start).
    static func body(_ result: CheckResult, format: Format) -> String {
        var times = ClowderTimes()
        return body(result, format: format, times: &times)
    }

    /// The message body; `times` makes the `clowder` format's `created` unique per kind.
    static func body(_ result: CheckResult, format: Format, times: inout ClowderTimes) -> String {
        switch format {
        case .full: result.json(extra: [("category", .string(category)), ("type", .string(result.check))])
        case .clowder: clowder(result, created: times.created(for: result))
        }
    }

    /// The flat Clowder event's JSON text, members in a fixed order; `created` (Unix ms) defaults
    /// to the run's start. Written straight into bytes: building the members as (name, value)
    /// pairs first was half of the event's cost (an array of twenty pairs and its copies).
    static func clowder(_ result: CheckResult, created: Int64? = nil) -> String {
        var event = EventWriter(capacity: 512 + result.message.utf8.count)
        event.member("created", .int(Int(created ?? result.createdMillis)))
        event.member("category", .string(clowderCategory))
        event.member("type", .string(result.status == .success ? "up" : "down"))
        event.member("service_name", .string(result.label))
        event.member("healthy", .bool(result.status == .success))
        if let times = ResponseTime.of(result) {
            event.member("response_time_avg", .double(times.avg))
            event.member("response_time_min", .double(times.min))
            event.member("response_time_max", .double(times.max))
        }
        if result.check == "ping" {
            // A ping that failed without a loss figure (its lookup failed) lost everything.
            event.member("response_time_loss", .double(result.measurement["loss"]?.doubleValue ?? 100))
        }
        if let uptime = result.uptime { event.member("uptime", .double(uptime)) }
        event.member("id", .string(result.id))
        event.member("check", .string(result.check))
        event.member("label", .string(result.label))
        event.member("status", .string(result.status.rawValue))
        event.member("message", .string(result.message))
        event.member("host", .string(result.host))
        event.member("elapsed", .double(result.elapsed))
        for (name, value) in result.measurement.sorted(by: { $0.key < $1.key }) {
            event.member(prefixed: "measurement_", name, flat(value))
        }
        return event.finish()
    }

    /// Measurements are scalars; anything else is written as its JSON text.
    private static func flat(_ value: JSONValue) -> JSONValue {
        switch value {
        case .array, .object: .string(value.json())
        default: value
        }
    }

    /// The AMQP `timestamp` property: the result's creation time in whole Unix seconds.
    static func timestamp(_ result: CheckResult) -> UInt64 {
        UInt64(max(0, result.createdMillis / 1000))
    }
}

/// Writes one JSON object, members in the order given, as UTF-8 bytes; one `String` at the end
/// (see `JSONValue.write(into:)`). The caller gives each name once.
struct EventWriter {
    private var out: [UInt8]

    init(capacity: Int) {
        out = [UInt8(ascii: "{")]
        out.reserveCapacity(capacity)
    }

    /// A member whose name is a plain ASCII literal (no escaping needed).
    mutating func member(_ name: StaticString, _ value: JSONValue) {
        if out.count > 1 { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: "\":".utf8)
        value.write(into: &out)
    }

    /// A member named `prefix` + `name`; `name` is escaped as JSON needs.
    mutating func member(prefixed prefix: StaticString, _ name: String, _ value: JSONValue) {
        if out.count > 1 { out.append(UInt8(ascii: ",")) }
        let start = out.count
        JSONValue.writeString(name, into: &out)
        // The opening quote moves in front of the prefix.
        prefix.withUTF8Buffer { out.insert(contentsOf: $0, at: start + 1) }
        out.append(UInt8(ascii: ":"))
        value.write(into: &out)
    }

    consuming func finish() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension RabbitMQNotifier {
    /// The body this notifier publishes for `result` in its default format (the Clowder event):
    /// for benchmarks, whose floors publish messages of the same size.
    public static func messageBody(_ result: CheckResult) -> String {
        RabbitMQMessage.body(result, format: .clowder)
    }
}

/// The `created` of `clowder` events, unique per kind (up, down).
///
/// Clowder's event sink stores an event as an InfluxDB point keyed by its time (`created`, in
/// milliseconds) and its tags (`type`, `healthy`): two events of one millisecond and one kind are
/// one point there, the later overwriting the earlier. Runs that share a wake-up of the scheduler
/// (timer slack) start within a millisecond, so two checks failing together would leave one
/// event. An event whose millisecond its kind already used moves to the next free one, at most
/// 1 s after its run's start; past that (over 1,000 events of one kind a second) it keeps its
/// own. The milliseconds used in the last minute before the newest are remembered.
struct ClowderTimes {
    /// The milliseconds used, per kind, as a "next free" forest: following `next[t]` from `t`
    /// leads to the first free millisecond at or after `t` (a free one has no entry), and each
    /// claim shortens the paths it walked. A claim costs about one lookup however many events
    /// share a millisecond: probing one millisecond at a time cost up to 1,001 lookups per event
    /// once a second was full (a fifth of the notifier's CPU in a burst of 60,000 results).
    private var up: [Int64: Int64] = [:]
    private var down: [Int64: Int64] = [:]
    private var newest = Int64.min
    private var inserts = 0

    /// At most this many milliseconds after the run's start.
    static let maximumShift: Int64 = 1000
    /// Milliseconds before the newest that are forgotten.
    static let memory: Int64 = 60_000

    mutating func created(for result: CheckResult) -> Int64 {
        let start = result.createdMillis
        let created: Int64 =
            result.status == .success ? Self.claim(from: start, in: &up) : Self.claim(from: start, in: &down)
        newest = max(newest, created)
        inserts += 1
        if inserts >= 4096 {
            inserts = 0
            // Links point forward only, so what is kept never leads into what is forgotten.
            let horizon = newest - Self.memory
            up = up.filter { $0.key >= horizon }
            down = down.filter { $0.key >= horizon }
        }
        return created
    }

    /// The first free millisecond from `start` on, at most `maximumShift` later, now used;
    /// `start` itself when there is none.
    private static func claim(from start: Int64, in next: inout [Int64: Int64]) -> Int64 {
        var free = start
        while let later = next[free] { free = later }
        var walked = start
        while let later = next[walked], later != free {
            next[walked] = free
            walked = later
        }
        guard free - start <= maximumShift else { return start }
        next[free] = free + 1
        return free
    }
}
