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
        case .clowder: clowder(result, created: times.created(for: result)).json()
        }
    }

    /// The flat Clowder event, members in a fixed order; `created` (Unix ms) defaults to the run's
    /// start.
    static func clowder(_ result: CheckResult, created: Int64? = nil) -> OrderedObject {
        var event = OrderedObject()
        event.append("created", .int(Int(created ?? result.createdMillis)))
        event.append("category", .string(clowderCategory))
        event.append("type", .string(result.status == .success ? "up" : "down"))
        event.append("service_name", .string(result.label))
        event.append("healthy", .bool(result.status == .success))
        if let times = ResponseTime.of(result) {
            event.append("response_time_avg", .double(times.avg))
            event.append("response_time_min", .double(times.min))
            event.append("response_time_max", .double(times.max))
        }
        if result.check == "ping" {
            // A ping that failed without a loss figure (its lookup failed) lost everything.
            event.append("response_time_loss", .double(result.measurement["loss"]?.doubleValue ?? 100))
        }
        if let uptime = result.uptime { event.append("uptime", .double(uptime)) }
        event.append("id", .string(result.id))
        event.append("check", .string(result.check))
        event.append("label", .string(result.label))
        event.append("status", .string(result.status.rawValue))
        event.append("message", .string(result.message))
        event.append("host", .string(result.host))
        event.append("elapsed", .double(result.elapsed))
        for (name, value) in result.measurement.sorted(by: { $0.key < $1.key }) {
            event.append("measurement_" + name, flat(value))
        }
        return event
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

/// A JSON object that keeps its members in insertion order (`JSONValue.object` sorts them).
struct OrderedObject {
    private(set) var members: [(String, JSONValue)] = []

    subscript(name: String) -> JSONValue? {
        get { members.first { $0.0 == name }?.1 }
        set {
            members.removeAll { $0.0 == name }
            if let newValue { members.append((name, newValue)) }
        }
    }

    /// Adds a member whose name is not in the object yet (no search for an earlier one, as the
    /// subscript does: an event is built from about twenty distinct names).
    mutating func append(_ name: String, _ value: JSONValue) {
        members.append((name, value))
    }

    func json() -> String {
        // Bytes, one `String` at the end (see `JSONValue.write(into:)`).
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(512)
        for (i, (name, value)) in members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
            value.write(into: &out)
        }
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
