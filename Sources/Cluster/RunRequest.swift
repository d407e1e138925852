import Monitor

/// One run of one check, asked of the agents of a location: the message body on the request
/// exchange.
///
/// ```json
/// {"v":1,"id":"…","check":"hostport","label":"web","options":{"host":"10.0.0.5","port":443},
///  "location":"eu","due":1764598000123,"controller":"ctl-1"}
/// ```
///
/// `options` are the check's options as the controller's config has them (after `${VAR}`
/// substitution, secrets included: the agent needs them; broker permissions keep the queue
/// private). `due` is the planned start, Unix milliseconds.
public struct RunRequest: Sendable, Hashable {
    public static let version = 1

    public var id: String
    public var check: String
    public var label: String
    /// The check's options: a JSON object's text, as the request carries it. An agent compares
    /// it with the text a built check came from and reads it only to build a check, so two
    /// requests with the same options written differently (spacing, member order) are not `==`.
    public var optionsJSON: String
    public var location: String
    public var dueMillis: Int64
    public var controller: String

    /// A request with the options written as JSON text (`JSONValue.json()` of an object): a
    /// check's options are the same every period, so a controller writes them once.
    public init(
        id: String = ResultID.next(), check: String, label: String, optionsJSON: String, location: String,
        dueMillis: Int64, controller: String
    ) {
        self.id = id
        self.check = check
        self.label = label
        self.optionsJSON = optionsJSON
        self.location = location
        self.dueMillis = dueMillis
        self.controller = controller
    }

    public init(
        id: String = ResultID.next(), check: String, label: String, options: [String: JSONValue], location: String,
        dueMillis: Int64, controller: String
    ) {
        self.init(
            id: id, check: check, label: label, optionsJSON: JSONValue.object(options).json(), location: location, dueMillis: dueMillis,
            controller: controller)
    }

    /// The options read from `optionsJSON` (empty if it is not an object, which a request read
    /// by `init(json:)` never is).
    public var options: [String: JSONValue] { (try? JSONValue.parse(optionsJSON))?.objectValue ?? [:] }

    /// `check/label`.
    public var key: String { CheckConfig.key(type: check, label: label, location: nil) }

    /// Why a message is not a run request this agent can read.
    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The message body.
    public func json() -> String {
        // The members in sorted order, as `JSONValue` writes an object.
        var out = "{\"check\":"
        out.reserveCapacity(160 + optionsJSON.utf8.count)
        JSONValue.writeString(check, into: &out)
        out += ",\"controller\":"
        JSONValue.writeString(controller, into: &out)
        out += ",\"due\":" + String(dueMillis) + ",\"id\":"
        JSONValue.writeString(id, into: &out)
        out += ",\"label\":"
        JSONValue.writeString(label, into: &out)
        out += ",\"location\":"
        JSONValue.writeString(location, into: &out)
        out += ",\"options\":" + optionsJSON + ",\"v\":" + String(Self.version) + "}"
        return out
    }

    /// Reads a message body; what is missing or of the wrong type is named. The members are
    /// read as they come (an agent reads thousands a second), the options kept as their text;
    /// the whole is checked as JSON all the same.
    public init(json body: [UInt8]) throws(Invalid) {
        var version, id, check, label, location, due, controller: JSONValue?
        var options: String?
        let isObject: Bool
        do {
            isObject = try JSONValue.read(body) { reader throws(JSONValue.ParseError) -> Bool in
                try reader.membersIfObject { name, reader throws(JSONValue.ParseError) in
                    switch name {
                    case "v": version = try reader.value()
                    case "id": id = try reader.value()
                    case "check": check = try reader.value()
                    case "label": label = try reader.value()
                    case "location": location = try reader.value()
                    case "due": due = try reader.value()
                    case "controller": controller = try reader.value()
                    case "options":
                        if reader.isAtObject {
                            options = try reader.text()
                        } else {
                            options = nil
                            try reader.skip()
                        }
                    default: try reader.skip()
                    }
                }
            }
        } catch {
            throw Invalid(description: "not a run request: \(error)")
        }
        guard isObject else { throw Invalid(description: "not a run request: expected a JSON object") }
        guard version?.intValue == Self.version else {
            // As JSON: a version written as a string ("1") must not read as the number it holds.
            throw Invalid(description: "run request version \(version?.json() ?? "missing"); this agent reads version \(Self.version), an integer")
        }
        func text(_ value: JSONValue?, _ name: String) throws(Invalid) -> String {
            guard let value = value?.stringValue, !value.isEmpty else {
                throw Invalid(description: "run request: \"\(name)\" missing or not a string")
            }
            return value
        }
        guard let options else { throw Invalid(description: "run request: \"options\" missing or not an object") }
        guard let due = due?.intValue else { throw Invalid(description: "run request: \"due\" missing or not an integer") }
        self.init(
            id: try text(id, "id"), check: try text(check, "check"), label: try text(label, "label"), optionsJSON: options,
            location: try text(location, "location"), dueMillis: Int64(due), controller: try text(controller, "controller"))
    }
}
