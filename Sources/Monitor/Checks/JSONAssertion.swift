/// A path into a JSON document, in a small subset of JSONPath (RFC 9535): the root `$`, then
/// member names (`.status`, `['a key']`, `["a key"]`) and array indices (`[0]`, `[-1]` for the
/// last). Each path names at most one value: no wildcards, slices, filters or `..`.
///
/// ```swift
/// let path = try JSONPath("$.checks[0]['db status']")
/// path.value(in: document)  // the value there, or nil
/// ```
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// One step down the document.
    public enum Step: Sendable, Hashable {
        case member(String)
        case index(Int)
    }

    /// Why a path is not in the subset.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var steps: [Step]
    /// The path as written.
    public var description: String

    /// What the subset takes, for error messages.
    public static let supported = "$ then .name, ['name'] or [index] steps, e.g. $.status, $.checks[0]['db status'], $.items[-1]"

    public init(_ text: String) throws(ParseError) {
        description = text
        var rest = Substring(text.trimmingSpaces)
        func fail(_ why: String) -> ParseError { ParseError(description: "\(why) in JSONPath \"\(text)\"; supported: \(Self.supported)") }
        guard rest.first == "$" else { throw fail("no $ at the start") }
        rest = rest.dropFirst()
        var steps: [Step] = []
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                if name.isEmpty { throw fail(rest.first == "." ? "recursive descent (..) is not supported" : "an empty name") }
                if name == "*" { throw fail("wildcards are not supported") }
                steps.append(.member(String(name)))
                rest = rest.dropFirst(name.count)
            } else if first == "[" {
                rest = rest.dropFirst()
                if let quote = rest.first, quote == "'" || quote == "\"" {
                    rest = rest.dropFirst()
                    var name = ""
                    var closed = false
                    while let c = rest.first {
                        rest = rest.dropFirst()
                        if c == "\\", let next = rest.first {
                            name.append(next)
                            rest = rest.dropFirst()
                        } else if c == quote {
                            closed = true
                            break
                        } else {
                            name.append(c)
                        }
                    }
                    guard closed, rest.first == "]" else { throw fail("an unclosed ['name']") }
                    rest = rest.dropFirst()
                    steps.append(.member(name))
                } else {
                    let inside = rest.prefix { $0 != "]" }
                    guard rest.dropFirst(inside.count).first == "]" else { throw fail("an unclosed [") }
                    guard let index = Int(inside.trimmingSpaces) else {
                        throw fail(inside == "*" ? "wildcards are not supported" : "[\(inside)] is not an index or a quoted name")
                    }
                    steps.append(.index(index))
                    rest = rest.dropFirst(inside.count + 1)
                }
            } else {
                throw fail("unexpected \"\(first)\"")
            }
        }
        self.steps = steps
    }

    /// The value the path names in `document`, or `nil` when there is none.
    public func value(in document: JSONValue) -> JSONValue? {
        var current = document
        for step in steps {
            switch (step, current) {
            case (.member(let name), .object(let members)):
                guard let next = members[name] else { return nil }
                current = next
            case (.index(let index), .array(let items)):
                let i = index < 0 ? items.count + index : index
                guard items.indices.contains(i) else { return nil }
                current = items[i]
            default:
                return nil
            }
        }
        return current
    }

    /// The last member name on the path (what decides whether its value is masked).
    var lastMember: String? {
        for step in steps.reversed() { if case .member(let name) = step { return name } }
        return nil
    }
}

/// One `expect_json` item: a path and what must hold of the value there.
///
/// ```yaml
/// expect_json:
///   - {path: $.status, equals: ok}
///   - {path: $.db.connected, exists: true}
///   - {path: $.version, matches: '^2\.'}
///   - {path: $.queue.length, "<": 100}
/// ```
public struct JSONAssertion: Sendable {
    /// What must hold.
    public enum Test: Sendable {
        /// Equal to the value written: text to a string, a number to a number (`1` equals
        /// `1.0`), `true`/`false` to a boolean, `null` to null.
        case equals(JSONValue)
        /// The path names a value (`true`) or names none (`false`).
        case exists(Bool)
        /// The value (a string as it is, anything else as its JSON text) matches the regex
        /// (kept as text: `Regex` is not `Sendable`; compiled when evaluated, checked at load).
        case matches(String)
        /// A number below / above the bound.
        case lessThan(Double)
        case greaterThan(Double)
    }

    public var path: JSONPath
    public var test: Test

    public init(path: JSONPath, test: Test) {
        self.path = path
        self.test = test
    }

    /// The operators an item may have, one each.
    public static let operators = ["equals", "exists", "matches", "<", ">"]

    /// `nil` when the assertion holds in `document`, else what was found, e.g.
    /// `$.status is "degraded", expected "ok"`. Found values are truncated, and masked when the
    /// path ends in a secret-looking name (`$.token`).
    public func failure(in document: JSONValue) -> String? {
        let found = path.value(in: document)
        if case .exists(let wanted) = test {
            switch (wanted, found) {
            case (true, nil): return "\(path) is missing, expected it to exist"
            case (false, let value?): return "\(path) is \(shown(value)), expected it to be absent"
            default: return nil
            }
        }
        guard let found else { return "\(path) is missing, expected \(expectation)" }
        switch test {
        case .equals(let wanted):
            return Self.equal(found, wanted) ? nil : "\(path) is \(shown(found)), expected \(expectation)"
        case .matches(let source):
            let text = found.stringValue ?? found.json()
            let regex = try? Regex(source)
            return (try? regex?.firstMatch(in: text)) != nil ? nil : "\(path) is \(shown(found)), expected \(expectation)"
        case .lessThan(let bound):
            guard let number = found.doubleValue else { return "\(path) is \(shown(found)), expected a number \(expectation)" }
            return number < bound ? nil : "\(path) is \(shown(found)), expected \(expectation)"
        case .greaterThan(let bound):
            guard let number = found.doubleValue else { return "\(path) is \(shown(found)), expected a number \(expectation)" }
            return number > bound ? nil : "\(path) is \(shown(found)), expected \(expectation)"
        case .exists:
            return nil
        }
    }

    /// `"ok"`, `< 100`, `to match ^2\.`.
    var expectation: String {
        switch test {
        case .equals(let value): value == .null ? "null" : "\"\(BodyExcerpt.truncated(value.displayText))\""
        case .exists(let wanted): wanted ? "it to exist" : "it to be absent"
        case .matches(let source): "to match \(BodyExcerpt.truncated(source))"
        case .lessThan(let bound): "< \(DownloadCheck.number(bound))"
        case .greaterThan(let bound): "> \(DownloadCheck.number(bound))"
        }
    }

    /// A found value as a message shows it: strings quoted, truncated, secrets masked.
    private func shown(_ value: JSONValue) -> String {
        if let name = path.lastMember, SecretMasking.isSecretKey(name) { return SecretMasking.mask }
        let text: String
        switch value {
        case .string(let s): text = "\"" + BodyExcerpt.truncated(s) + "\""
        case .array, .object: text = BodyExcerpt.truncated(SecretMasking.masked(value).json())
        default: text = value.displayText
        }
        return BodyExcerpt.masked(text)
    }

    /// Whether a JSON value equals what the config wrote (text from YAML, or `null`).
    static func equal(_ found: JSONValue, _ wanted: JSONValue) -> Bool {
        guard case .string(let text) = wanted else { return found == wanted }
        switch found {
        case .string(let s): return s == text
        case .int, .double: return Double(text.trimmingSpaces).map { $0 == found.doubleValue } ?? false
        case .bool(let b): return OptionSpec.parseBool(text) == b && ["true", "false"].contains(text.trimmingSpaces.lowercased())
        case .null: return text.trimmingSpaces == "null"
        case .array, .object: return (try? JSONValue.parse(text)) == found
        }
    }

    /// The items of `expect_json` as the loader gives them (`OptionSpec.tree`), each checked;
    /// a problem is thrown at the item's own line.
    static func list(from value: JSONValue, options: Options, name: String) throws(ConfigDiagnostic) -> [JSONAssertion] {
        let items = value.arrayValue ?? [value]
        var out: [JSONAssertion] = []
        for (i, item) in items.enumerated() {
            let at = value.arrayValue == nil ? name : "\(name)[\(i)]"
            guard let members = item.objectValue else {
                throw options.problem(at, "found \(item == .null ? "nothing" : "\"\(item.displayText)\""), expected a mapping like {path: $.status, equals: ok}")
            }
            guard let pathText = members["path"]?.stringValue else {
                throw options.problem(at, "no path: expected a JSONPath like $.status (\(JSONPath.supported))")
            }
            let path: JSONPath
            do {
                path = try JSONPath(pathText)
            } catch {
                throw options.problem("\(at).path", error.description)
            }
            for key in members.keys.sorted() where key != "path" && !operators.contains(key) {
                throw options.problem("\(at).\(key)", "unknown key; an item has path and one of \(operators.joined(separator: ", "))")
            }
            let given = operators.filter { members[$0] != nil }
            guard given.count == 1, let op = given.first, let operand = members[op] else {
                throw options.problem(
                    at, given.isEmpty ? "no test: expected one of \(operators.joined(separator: ", "))" : "more than one test (\(given.joined(separator: ", "))): give one per item")
            }
            let test: Test
            switch op {
            case "equals":
                test = .equals(operand)
            case "exists":
                guard let flag = operand.stringValue.flatMap(OptionSpec.parseBool) else {
                    throw options.problem("\(at).exists", "found \"\(operand.displayText)\", expected true or false")
                }
                test = .exists(flag)
            case "matches":
                guard let source = operand.stringValue else { throw options.problem("\(at).matches", "expected a regular expression") }
                do {
                    _ = try Regex(source)
                    test = .matches(source)
                } catch {
                    throw options.problem("\(at).matches", "not a regular expression: \(error)")
                }
            default:
                guard let bound = operand.stringValue.flatMap({ Double($0.trimmingSpaces) }), bound.isFinite else {
                    throw options.problem("\(at).\(op)", "found \"\(operand.displayText)\", expected a number")
                }
                test = op == "<" ? .lessThan(bound) : .greaterThan(bound)
            }
            out.append(JSONAssertion(path: path, test: test))
        }
        if out.isEmpty { throw options.problem(name, "an empty list: expected at least one {path: …, equals: …}") }
        return out
    }
}
