/// Reading JSON text back into a `JSONValue`, keeping the integer/fraction distinction the
/// writer makes: `1` reads as `.int(1)`, `1.0` and `1e3` read as `.double`. Spools use it to
/// restore results byte-for-byte in meaning after a restart.
extension JSONValue {
    /// Why JSON text could not be read: what was expected and at which byte offset.
    public struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        /// Byte offset into the UTF-8 text.
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Parses one complete JSON value (surrounding white space allowed).
    ///
    /// ```swift
    /// try JSONValue.parse(#"{"loss": 0.0, "sent": 5}"#)  // ["loss": .double(0), "sent": .int(5)]
    /// ```
    public static func parse(_ text: String) throws(ParseError) -> JSONValue {
        var text = text
        // `withUTF8` only rethrows untyped errors: carry the typed one out in a `Result`.
        let result = text.withUTF8 { bytes -> Result<JSONValue, ParseError> in
            var parser = Parser(bytes: bytes)
            parser.skipSpace()
            do throws(ParseError) {
                let value = try parser.value(depth: 0)
                parser.skipSpace()
                guard parser.position == bytes.count else { throw parser.error("unexpected text after the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        // Deep enough for any result; stops a hostile file from overflowing the stack.
        static let maximumDepth = 512

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        func error(_ reason: String) -> ParseError { ParseError(offset: position, reason: reason) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let b = current, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 }
        }

        mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(ParseError) -> JSONValue {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw error("expected \(literal)") }
            for i in 0..<count where bytes[position + i] != literal.utf8Start[i] { throw error("expected \(literal)") }
            position += count
            return value
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < Self.maximumDepth else { throw error("nested too deeply") }
            guard let b = current else { throw error("expected a value, found the end") }
            switch b {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(Character(Unicode.Scalar(b)))'")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> JSONValue {
            position += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try string()
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipSpace()
                members[name] = try value(depth: depth + 1)
                skipSpace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"):
                    position += 1
                    return .object(members)
                default: throw error("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(ParseError) -> JSONValue {
            position += 1
            var items: [JSONValue] = []
            skipSpace()
            if current == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    return .array(items)
                default: throw error("expected ',' or ']'")
                }
            }
        }

        mutating func number() throws(ParseError) -> JSONValue {
            let start = position
            var isInteger = true
            if current == UInt8(ascii: "-") { position += 1 }
            guard let first = current, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") else {
                throw error("expected a digit")
            }
            while let b = current {
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): break
                case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                    isInteger = false
                default:
                    return try finishNumber(from: start, isInteger: isInteger)
                }
                position += 1
            }
            return try finishNumber(from: start, isInteger: isInteger)
        }

        func finishNumber(from start: Int, isInteger: Bool) throws(ParseError) -> JSONValue {
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            // Integers too large for Int fall back to Double rather than failing.
            if isInteger, let v = Int(text) { return .int(v) }
            guard let v = Double(text), v.isFinite else { throw ParseError(offset: start, reason: "malformed number '\(text)'") }
            return .double(v)
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw error("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[position]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw error("bad hex digit in \\u escape")
                }
                v = v << 4 | digit
                position += 1
            }
            return v
        }

        mutating func string() throws(ParseError) -> String {
            position += 1  // opening quote
            var out: [UInt8] = []
            var runStart = position
            while true {
                guard let b = current else { throw error("unterminated string") }
                if b == UInt8(ascii: "\"") {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                    position += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 { throw error("control character in string") }
                if b != UInt8(ascii: "\\") {
                    position += 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position]))
                position += 1
                guard let escape = current else { throw error("unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate") }
                        position += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired surrogate")
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw error("unknown escape")
                }
                runStart = position
            }
        }
    }
}
