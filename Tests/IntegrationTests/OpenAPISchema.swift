import Foundation
import Monitor
import Yams

/// The response schemas of `docs/openapi.yaml`, and a check of a JSON value against one: the
/// subset of OpenAPI 3.0 schemas the document uses (`$ref`, `allOf`, `type`, `nullable`, `enum`,
/// `required`, `properties`, `additionalProperties: false`, `items`, `minimum`, `maximum`,
/// `format: date-time`). Anything else in a schema is a failure, so the check cannot pass by
/// ignoring what it does not know.
struct OpenAPISchema {
    let document: [String: Any]

    init(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let document = try Yams.load(yaml: text) as? [String: Any] else { throw Problem("not a mapping: \(path)") }
        self.document = document
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// The schema of the `status` response of `GET path` (a path template as in the document).
    func responseSchema(path: String, status: Int) throws -> [String: Any] {
        guard let paths = document["paths"] as? [String: Any], let item = paths[path] as? [String: Any],
            let get = item["get"] as? [String: Any], let responses = get["responses"] as? [String: Any]
        else { throw Problem("no GET \(path) in the document") }
        guard var response = responses["\(status)"] as? [String: Any] else { throw Problem("GET \(path) has no \(status) response") }
        if let ref = response["$ref"] as? String { response = try resolve(ref) }
        guard let content = response["content"] as? [String: Any], let json = content["application/json"] as? [String: Any],
            let schema = json["schema"] as? [String: Any]
        else { throw Problem("GET \(path) \(status) has no application/json schema") }
        return schema
    }

    func resolve(_ ref: String) throws -> [String: Any] {
        guard ref.hasPrefix("#/") else { throw Problem("unsupported $ref \(ref)") }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let mapping = node as? [String: Any], let next = mapping[String(part)] else { throw Problem("dangling $ref \(ref)") }
            node = next
        }
        guard let schema = node as? [String: Any] else { throw Problem("$ref \(ref) is not a mapping") }
        return schema
    }

    /// Every place `value` breaks `schema`, as `path: problem`.
    func violations(of value: JSONValue, against schema: [String: Any], at path: String = "$") throws -> [String] {
        var schema = schema
        if let ref = schema["$ref"] as? String { schema = try resolve(ref) }
        let known: Set<String> = [
            "type", "nullable", "enum", "required", "properties", "additionalProperties", "items", "minimum", "maximum", "format",
            "description", "example", "allOf",
        ]
        if let unknown = schema.keys.first(where: { !known.contains($0) }) { throw Problem("\(path): unsupported schema keyword \(unknown)") }
        var out: [String] = []
        if let all = schema["allOf"] as? [Any] {
            for part in all {
                guard let part = part as? [String: Any] else { throw Problem("\(path): allOf item is not a schema") }
                out += try violations(of: value, against: part, at: path)
            }
        }
        if case .null = value {
            return (schema["nullable"] as? Bool ?? false) || schema["type"] == nil ? out : out + ["\(path): null where not nullable"]
        }
        if let type = schema["type"] as? String {
            switch (type, value) {
            case ("object", .object(let members)):
                let properties = schema["properties"] as? [String: Any] ?? [:]
                for name in schema["required"] as? [String] ?? [] where members[name] == nil { out.append("\(path): missing \(name)") }
                if schema["additionalProperties"] as? Bool == false {
                    for name in members.keys where properties[name] == nil { out.append("\(path): unexpected property \(name)") }
                }
                for (name, member) in members {
                    if let property = properties[name] as? [String: Any] { out += try violations(of: member, against: property, at: "\(path).\(name)") }
                }
            case ("array", .array(let items)):
                if let itemSchema = schema["items"] as? [String: Any] {
                    for (i, item) in items.enumerated() { out += try violations(of: item, against: itemSchema, at: "\(path)[\(i)]") }
                }
            case ("string", .string(let text)):
                if let allowed = schema["enum"] as? [String], !allowed.contains(text) { out.append("\(path): \"\(text)\" not in \(allowed)") }
                if schema["format"] as? String == "date-time", parseDateTime(text) == nil {
                    out.append("\(path): \"\(text)\" is not an ISO-8601 date-time")
                }
            case ("number", .double), ("number", .int), ("integer", .int), ("boolean", .bool):
                break
            default:
                out.append("\(path): expected \(type), found \(value.json().prefix(60))")
            }
            if let number = value.doubleValue {
                if let minimum = schema["minimum"] as? Double ?? (schema["minimum"] as? Int).map(Double.init), number < minimum {
                    out.append("\(path): \(number) below \(minimum)")
                }
                if let maximum = schema["maximum"] as? Double ?? (schema["maximum"] as? Int).map(Double.init), number > maximum {
                    out.append("\(path): \(number) above \(maximum)")
                }
            }
        }
        return out
    }
}

/// Reads an ISO-8601 date-time as the API writes it (`2026-12-01T04:51:26.758Z`).
private func parseDateTime(_ text: String) -> Date? {
    let iso = ISO8601DateFormatter()
    iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return iso.date(from: text)
}
