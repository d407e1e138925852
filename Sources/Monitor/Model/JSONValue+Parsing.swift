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
        try read(text) { reader throws(ParseError) in try reader.value() }
    }

    /// Reads one complete JSON value (surrounding white space allowed) from `bytes` with
    /// `body`, for text of a known shape: its members are read one by one, as the reader wants
    /// them, without building a `JSONValue` of the whole (a run request of an agent, thousands
    /// a second). `body` must read exactly one value; text after it is an error. The reader is
    /// valid inside `body` only.
    ///
    /// ```swift
    /// let port = try JSONValue.read(Array(#"{"port": 443, "tags": [1]}"#.utf8)) { reader throws(JSONValue.ParseError) in
    ///     var port: Int?
    ///     try reader.members { name, reader throws(JSONValue.ParseError) in
    ///         if name == "port" { port = try reader.value().intValue } else { try reader.skip() }
    ///     }
    ///     return port
    /// }  // 443
    /// ```
    public static func read<R>(_ bytes: [UInt8], _ body: (inout Reader) throws(ParseError) -> R) throws(ParseError) -> R {
        try bytes.withUnsafeBufferPointer { buffer in Self.read(buffer, body) }.get()
    }

    /// `read(_:_:)` of UTF-8 text in a buffer the caller holds.
    public static func read<R>(buffer: UnsafeBufferPointer<UInt8>, _ body: (inout Reader) throws(ParseError) -> R) throws(ParseError) -> R {
        try Self.read(buffer, body).get()
    }

    /// `read(_:_:)` of a `String`'s UTF-8 text.
    public static func read<R>(_ text: String, _ body: (inout Reader) throws(ParseError) -> R) throws(ParseError) -> R {
        var text = text
        // `withUTF8` only rethrows untyped errors: carry the typed one out in a `Result`.
        return try text.withUTF8 { buffer in Self.read(buffer, body) }.get()
    }

    private static func read<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (inout Reader) throws(ParseError) -> R) -> Result<R, ParseError> {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        do throws(ParseError) {
            let value = try body(&reader)
            reader.skipSpace()
            guard reader.position == bytes.count else { throw reader.error("unexpected text after the value") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    /// Reads JSON text one value at a time (see `read(_:_:)`), checking it as `parse` does.
    public struct Reader {
        private let bytes: UnsafeBufferPointer<UInt8>
        fileprivate var position = 0
        /// How deep the value being read is nested.
        private var depth = 0
        // Deep enough for any result; stops a hostile file from overflowing the stack.
        static let maximumDepth = 512

        fileprivate init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        /// An error at the reader's position.
        public func error(_ reason: String) -> ParseError { ParseError(offset: position, reason: reason) }

        /// Whether the next value is an object (`members` reads it).
        public var isAtObject: Bool { current == UInt8(ascii: "{") }

        /// Reads the next value whole.
        public mutating func value() throws(ParseError) -> JSONValue {
            guard depth < Self.maximumDepth else { throw error("nested too deeply") }
            guard let b = current else { throw error("expected a value, found the end") }
            switch b {
            case UInt8(ascii: "{"):
                // The members first, then the dictionary at its final size: inserting into a
                // growing dictionary rehashed it at every doubling (a spool read back in a burst
                // builds three objects per record).
                var pairs: [(String, JSONValue)] = []
                try members { name, reader throws(ParseError) in pairs.append((name, try reader.value())) }
                var object = [String: JSONValue](minimumCapacity: pairs.count)
                for (name, value) in pairs { object[name] = value }  // a repeated name: the last one
                return .object(object)
            case UInt8(ascii: "["):
                var items: [JSONValue] = []
                try elements { reader throws(ParseError) in items.append(try reader.value()) }
                return .array(items)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(Character(Unicode.Scalar(b)))'")
            }
        }

        /// Steps over the next value, checking it as `value()` would, without building it.
        public mutating func skip() throws(ParseError) {
            switch current {
            case UInt8(ascii: "{"):
                guard depth < Self.maximumDepth else { throw error("nested too deeply") }
                try members { _, reader throws(ParseError) in try reader.skip() }
            case UInt8(ascii: "["):
                guard depth < Self.maximumDepth else { throw error("nested too deeply") }
                try elements { reader throws(ParseError) in try reader.skip() }
            case UInt8(ascii: "\""): try scanString(keeping: false)
            default: _ = try value()  // a number or a literal: nothing to build
            }
        }

        /// The next value's JSON text as it stands (checked as `value()` would, not built).
        public mutating func text() throws(ParseError) -> String {
            let start = position
            try skip()
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }

        /// Reads the next value as a string.
        public mutating func string() throws(ParseError) -> String {
            guard current == UInt8(ascii: "\"") else { throw error("expected a string") }
            return try scanString(keeping: true)
        }

        /// Reads the next value as an object: `member` gets each member's name and the reader at
        /// its value, which it must read (or `skip`).
        /// Reads the members of the next value as `members` does when it is an object and
        /// returns `true`; steps over any other value (checking it) and returns `false`, for the
        /// caller to say what it expected.
        public mutating func membersIfObject(_ member: (String, inout Reader) throws(ParseError) -> Void) throws(ParseError) -> Bool {
            guard isAtObject else {
                try skip()
                return false
            }
            try members(member)
            return true
        }

        public mutating func members(_ member: (String, inout Reader) throws(ParseError) -> Void) throws(ParseError) {
            guard current == UInt8(ascii: "{") else { throw error("expected an object") }
            position += 1
            depth += 1
            defer { depth -= 1 }
            skipSpace()
            if current == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try scanString(keeping: true)
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipSpace()
                try member(name, &self)
                skipSpace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"):
                    position += 1
                    return
                default: throw error("expected ',' or '}'")
                }
            }
        }

        /// Reads the next value as an array: `element` reads each element.
        public mutating func elements(_ element: (inout Reader) throws(ParseError) -> Void) throws(ParseError) {
            guard current == UInt8(ascii: "[") else { throw error("expected an array") }
            position += 1
            depth += 1
            defer { depth -= 1 }
            skipSpace()
            if current == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                skipSpace()
                try element(&self)
                skipSpace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"):
                    position += 1
                    return
                default: throw error("expected ',' or ']'")
                }
            }
        }

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

        /// Reads a string literal (at its opening quote); `keeping: false` only checks it and
        /// returns "". Without escapes the text is taken from the input at once.
        @discardableResult
        mutating func scanString(keeping: Bool) throws(ParseError) -> String {
            position += 1  // opening quote
            var out: [UInt8] = []
            var escaped = false
            var runStart = position
            while true {
                guard let b = current else { throw error("unterminated string") }
                if b == UInt8(ascii: "\"") {
                    let run = UnsafeBufferPointer(rebasing: bytes[runStart..<position])
                    position += 1
                    guard keeping else { return "" }
                    guard escaped else { return String(decoding: run, as: UTF8.self) }
                    out.append(contentsOf: run)
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 { throw error("control character in string") }
                if b != UInt8(ascii: "\\") {
                    position += 1
                    continue
                }
                escaped = true
                if keeping { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<position])) }
                position += 1
                guard let escape = current else { throw error("unterminated escape") }
                position += 1
                let unescaped: UInt8
                switch escape {
                case UInt8(ascii: "\""): unescaped = UInt8(ascii: "\"")
                case UInt8(ascii: "\\"): unescaped = UInt8(ascii: "\\")
                case UInt8(ascii: "/"): unescaped = UInt8(ascii: "/")
                case UInt8(ascii: "b"): unescaped = 0x08
                case UInt8(ascii: "f"): unescaped = 0x0C
                case UInt8(ascii: "n"): unescaped = 0x0A
                case UInt8(ascii: "r"): unescaped = 0x0D
                case UInt8(ascii: "t"): unescaped = 0x09
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
                    if keeping { out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8) }
                    runStart = position
                    continue
                default: throw error("unknown escape")
                }
                if keeping { out.append(unescaped) }
                runStart = position
            }
        }
    }
}
