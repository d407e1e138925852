/// Results in a file spool: one JSON object per line, the result's own JSON plus `created_ms`
/// (the exact Unix milliseconds, so `created` needs no parsing back).
extension CheckResult: SpoolRecord {
    /// Why a spooled line is not a result.
    public struct DecodingError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { "not a spooled result: \(reason)" }
    }

    public var spoolID: String { id }

    public var spoolLine: String { json(extra: [("created_ms", .int(Int(createdMillis)))]) }

    public init(spoolLine: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(spoolLine)
        } catch {
            throw DecodingError(reason: error.description)
        }
        guard let object = value.objectValue else { throw DecodingError(reason: "not a JSON object") }
        try self.init(spoolObject: object)
    }

    /// A result from the members of a spooled line (or a message in the same shape: an agent's).
    public init(spoolObject object: [String: JSONValue]) throws {
        func text(_ name: String) throws -> String {
            guard let s = object[name]?.stringValue else { throw DecodingError(reason: "no text member \(name)") }
            return s
        }
        guard let status = Status(rawValue: try text("status")) else { throw DecodingError(reason: "unknown status") }
        guard let created = object["created_ms"]?.intValue else { throw DecodingError(reason: "no created_ms") }
        self.init(
            id: try text("id"), status: status, check: try text("check"), label: try text("label"),
            message: try text("message"), measurement: object["measurement"]?.objectValue ?? [:],
            createdMillis: Int64(created), elapsed: object["elapsed"]?.doubleValue ?? 0,
            config: object["config"]?.objectValue ?? [:], host: try text("host"))
        uptime = object["uptime"]?.doubleValue
        location = object["location"]?.stringValue
        agent = object["agent"]?.stringValue
    }
}
