#if canImport(Glibc)
import Glibc
#endif

/// One run of one check, as every notifier receives it.
public struct CheckResult: Sendable, Hashable {
    /// Unique, time-sortable identifier (UUIDv7 text); sinks de-duplicate on it.
    public var id: String
    /// `success` or `failure`.
    public var status: Status
    /// The check type, e.g. `ping`.
    public var check: String
    /// The check's label from the config, e.g. `clowder`.
    public var label: String
    /// A one-line human summary, e.g. `5/5 packets, avg 0.051 ms`.
    public var message: String
    /// Typed values the check measured (numbers, strings, booleans), e.g. `["loss": 0.0]`.
    public var measurement: [String: JSONValue]
    /// When the run started, Unix time in milliseconds (UTC).
    public var createdMillis: Int64
    /// How long the run took, in seconds.
    public var elapsed: Double
    /// The check's options with their defaults, secrets masked, as one dictionary. Setting it
    /// replaces both layers of `layeredConfig`.
    public var config: [String: JSONValue] {
        get { layeredConfig.merged }
        set { layeredConfig.merged = newValue }
    }
    /// The same, in the two layers the check's config keeps (`CheckConfig.maskedConfig`): a
    /// result holds two shared references and copies nothing. One option: `layeredConfig["port"]`.
    public var layeredConfig: LayeredValues
    /// The host name of the monitor that ran the check.
    public var host: String
    /// The check's uptime (0…1) over a notifier's window, when a notifier that reports it (the
    /// `rabbitmq` notifier) set it before spooling; `nil` otherwise.
    public var uptime: Double?
    /// Where the check ran, when an agent of a distributed monitor ran it (`nil`: in this
    /// process, the `local` location).
    public var location: String?
    /// The agent that ran it (with `location`).
    public var agent: String?

    public init(
        id: String = ResultID.next(), status: Status, check: String, label: String, message: String,
        measurement: [String: JSONValue] = [:], createdMillis: Int64 = Int64(WallClock.nowMillis()),
        elapsed: Double = 0, config: LayeredValues = [:],
        host: String = HostName.current
    ) {
        self.id = id
        self.status = status
        self.check = check
        self.label = label
        self.message = message
        self.measurement = measurement
        self.createdMillis = createdMillis
        self.elapsed = elapsed
        self.layeredConfig = config
        self.host = host
    }

    /// `created` as ISO-8601 UTC with milliseconds.
    public var created: String { WallClock.iso8601(millis: createdMillis) }

    /// `check/label` (`check/label@location` when an agent ran it), the key that identifies the
    /// check across runs.
    public var key: String { CheckConfig.key(type: check, label: label, location: location) }

    /// Every field as one JSON object, in a fixed field order:
    /// `{"id":…,"status":…,"check":…,"label":…,"message":…,"measurement":{…},"created":…,
    /// "elapsed":…,"config":{…},"host":…}`, then `uptime`, `location` and `agent` when set.
    /// `extra` members (e.g. a notifier's `category`) come first. `configJSON`: `config` as
    /// `JSONValue.object(config).json()` wrote it once, for a writer of many results of one check
    /// (its config is the same every run; an agent writes thousands of results a second).
    public func json(extra: [(String, JSONValue)] = [], configJSON: String? = nil) -> String {
        // Bytes, one `String` at the end (see `JSONValue.write(into:)`).
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(512 + message.utf8.count)
        for (name, value) in extra {
            JSONValue.writeString(name, into: &out)
            out.append(contentsOf: ":".utf8)
            value.write(into: &out)
            out.append(contentsOf: ",".utf8)
        }
        writeMembers(into: &out, configJSON: configJSON)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the members of `json()`, from `"id"` on, without the braces.
    func writeMembers(into out: inout [UInt8], configJSON: String? = nil) {
        // The names need no escaping: written as they are.
        out.append(contentsOf: "\"id\":".utf8)
        JSONValue.writeString(id, into: &out)
        out.append(contentsOf: ",\"status\":\"".utf8)
        out.append(contentsOf: status.rawValue.utf8)
        out.append(contentsOf: "\",\"check\":".utf8)
        JSONValue.writeString(check, into: &out)
        out.append(contentsOf: ",\"label\":".utf8)
        JSONValue.writeString(label, into: &out)
        out.append(contentsOf: ",\"message\":".utf8)
        JSONValue.writeString(message, into: &out)
        out.append(contentsOf: ",\"measurement\":".utf8)
        JSONValue.object(measurement).write(into: &out)
        out.append(contentsOf: ",\"created\":\"".utf8)
        WallClock.writeISO8601(millis: createdMillis, into: &out)
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: ",\"elapsed\":".utf8)
        JSONValue.double(elapsed).write(into: &out)
        out.append(contentsOf: ",\"config\":".utf8)
        if let configJSON {
            out.append(contentsOf: configJSON.utf8)
        } else {
            layeredConfig.write(into: &out)
        }
        out.append(contentsOf: ",\"host\":".utf8)
        JSONValue.writeString(host, into: &out)
        if let uptime {
            out.append(contentsOf: ",\"uptime\":".utf8)
            JSONValue.double(uptime).write(into: &out)
        }
        if let location {
            out.append(contentsOf: ",\"location\":".utf8)
            JSONValue.writeString(location, into: &out)
        }
        if let agent {
            out.append(contentsOf: ",\"agent\":".utf8)
            JSONValue.writeString(agent, into: &out)
        }
    }
}

/// The name of the machine the monitor runs on, read once.
public enum HostName {
    /// `gethostname(2)`, or `localhost` when it fails.
    public static let current: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
