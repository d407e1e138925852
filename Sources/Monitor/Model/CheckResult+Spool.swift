/// Results in a file spool: one JSON object per line, the result's own JSON plus `created_ms`
/// (the exact Unix milliseconds, so `created` needs no parsing back).
extension CheckResult: SpoolRecord {
    /// Why a spooled line is not a result.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "not a spooled result: \(reason)" }
    }

    public var spoolID: String { id }

    public var spoolLine: String {
        var out: [UInt8] = []
        out.reserveCapacity(512 + message.utf8.count)
        writeSpoolLine(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `spoolLine`'s text appended to `out`: `{"created_ms":…,` and the members of `json()`.
    public func writeSpoolLine(into out: inout [UInt8]) {
        // No `reserveCapacity` here: reserving exactly what one more line needs, line after line
        // into one buffer, would copy the buffer every time instead of doubling it.
        out.append(contentsOf: #"{"created_ms":"#.utf8)
        out.append(contentsOf: String(createdMillis).utf8)
        out.append(UInt8(ascii: ","))
        writeMembers(into: &out)
        out.append(UInt8(ascii: "}"))
    }

    public init(spoolLine: String) throws {
        var text = spoolLine
        self = try text.withUTF8 { try CheckResult(spoolLine: $0) }
    }

    public init(spoolLine bytes: UnsafeBufferPointer<UInt8>) throws {
        // Member by member into the fields a result has, without a dictionary of the whole
        // line (a spool of tens of thousands of records is read back after an outage).
        var fields = SpoolFields()
        let isObject: Bool
        do {
            isObject = try JSONValue.read(buffer: bytes) { reader throws(JSONValue.ParseError) in
                try reader.membersIfObject { name, reader throws(JSONValue.ParseError) in fields.set(name, try reader.value()) }
            }
        } catch {
            throw DecodingError(reason: error.description)
        }
        guard isObject else { throw DecodingError(reason: "not a JSON object") }
        try self.init(fields)
    }

    /// A result from the members of a spooled line (or a message in the same shape: an agent's).
    public init(spoolObject object: [String: JSONValue]) throws {
        var fields = SpoolFields()
        for (name, value) in object { fields.set(name, value) }
        try self.init(fields)
    }

    private init(_ fields: SpoolFields) throws {
        func text(_ value: JSONValue?, _ name: String) throws -> String {
            guard let s = value?.stringValue else { throw DecodingError(reason: "no text member \(name)") }
            return s
        }
        guard let status = Status(rawValue: try text(fields.status, "status")) else { throw DecodingError(reason: "unknown status") }
        guard let created = fields.createdMillis?.intValue else { throw DecodingError(reason: "no created_ms") }
        self.init(
            id: try text(fields.id, "id"), status: status, check: try text(fields.check, "check"), label: try text(fields.label, "label"),
            message: try text(fields.message, "message"), measurement: fields.measurement?.objectValue ?? [:],
            createdMillis: Int64(created), elapsed: fields.elapsed?.doubleValue ?? 0,
            config: LayeredValues(fields.config?.objectValue ?? [:]), host: try text(fields.host, "host"))
        uptime = fields.uptime?.doubleValue
        location = fields.location?.stringValue
        agent = fields.agent?.stringValue
    }
}

/// The members of a spooled result that make it up; others (`created`, a notifier's extras) are
/// ignored.
private struct SpoolFields {
    var id, status, check, label, message, measurement, createdMillis, elapsed, config, host, uptime, location, agent: JSONValue?

    mutating func set(_ name: String, _ value: JSONValue) {
        switch name {
        case "id": id = value
        case "status": status = value
        case "check": check = value
        case "label": label = value
        case "message": message = value
        case "measurement": measurement = value
        case "created_ms": createdMillis = value
        case "elapsed": elapsed = value
        case "config": config = value
        case "host": host = value
        case "uptime": uptime = value
        case "location": location = value
        case "agent": agent = value
        default: break
        }
    }
}
