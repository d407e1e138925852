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
    public var options: [String: JSONValue]
    public var location: String
    public var dueMillis: Int64
    public var controller: String

    public init(
        id: String = ResultID.next(), check: String, label: String, options: [String: JSONValue], location: String,
        dueMillis: Int64, controller: String
    ) {
        self.id = id
        self.check = check
        self.label = label
        self.options = options
        self.location = location
        self.dueMillis = dueMillis
        self.controller = controller
    }

    /// `check/label`.
    public var key: String { CheckConfig.key(type: check, label: label, location: nil) }

    /// Why a message is not a run request this agent can read.
    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The message body.
    public func json() -> String {
        json(optionsJSON: JSONValue.object(options).json())
    }

    /// The message body with `options` already written as JSON (`JSONValue.json()` of them): a
    /// check's options are the same every period, so a controller writes them once.
    public func json(optionsJSON: String) -> String {
        // The members in sorted order, as `JSONValue` writes an object.
        var out = "{\"check\":"
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

    /// Reads a message body; what is missing or of the wrong type is named.
    public init(json body: [UInt8]) throws(Invalid) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(String(decoding: body, as: UTF8.self))
        } catch {
            throw Invalid(description: "not a run request: \(error)")
        }
        guard let object = value.objectValue else { throw Invalid(description: "not a run request: expected a JSON object") }
        guard object["v"]?.intValue == Self.version else {
            throw Invalid(description: "run request version \(object["v"]?.displayText ?? "missing"); this agent reads version \(Self.version)")
        }
        func text(_ name: String) throws(Invalid) -> String {
            guard let value = object[name]?.stringValue, !value.isEmpty else {
                throw Invalid(description: "run request: \"\(name)\" missing or not a string")
            }
            return value
        }
        guard let options = object["options"]?.objectValue else { throw Invalid(description: "run request: \"options\" missing or not an object") }
        guard let due = object["due"]?.intValue else { throw Invalid(description: "run request: \"due\" missing or not an integer") }
        self.init(
            id: try text("id"), check: try text("check"), label: try text("label"), options: options, location: try text("location"),
            dueMillis: Int64(due), controller: try text("controller"))
    }
}
