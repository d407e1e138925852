internal import CMongo
import Monitor

/// One BSON document, owning its `bson_t` (freed in `deinit`). Not thread-safe: it belongs to
/// whoever built it (the Mongo notifier's thread, or a test).
final class BSONDocument {
    /// The `bson_t` (opaque to Swift: libbson aligns it to 128 bytes).
    let pointer: OpaquePointer
    /// Whether an append was refused by libbson (the document would exceed its size limit): the
    /// document is incomplete and must not be sent.
    private(set) var appendFailed = false

    /// An empty document.
    init() {
        pointer = bson_new()!
    }

    /// Parses MongoDB extended JSON (relaxed or canonical), e.g. `{"ok": 1}`; `nil` if invalid.
    init?(json: String) {
        var error = bson_error_t()
        var text = json
        let parsed = text.withUTF8 { bytes in bson_new_from_json(bytes.baseAddress, bytes.count, &error) }
        guard let parsed else { return nil }
        pointer = parsed
    }

    /// Takes ownership of a `bson_t` allocated by libbson (e.g. `bson_copy`).
    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        bson_destroy(pointer)
    }

    /// The document as canonical extended JSON, where every value says its BSON type
    /// (`{"n": {"$numberLong": "5"}}`); for tests and logs.
    var canonicalJSON: String {
        var length = 0
        guard let text = bson_as_canonical_extended_json(pointer, &length) else { return "{}" }
        defer { bson_free(text) }
        return String(cString: text)
    }

    /// Appends a text value.
    func append(_ key: String, string value: String) {
        if !Self.append(pointer, key, .string(value)) { appendFailed = true }
    }

    /// Appends a 32-bit integer (for fields the protocol types as int32, e.g. a write concern's `w`).
    func append(_ key: String, int32 value: Int32) {
        if !bson_append_int32(pointer, key, -1, value) { appendFailed = true }
    }

    /// Appends a UTC date (Unix milliseconds).
    func append(_ key: String, dateMillis value: Int64) {
        if !bson_append_date_time(pointer, key, -1, value) { appendFailed = true }
    }

    /// Appends a JSON value with the matching BSON type: integers as 64-bit integers, fractions
    /// as doubles, booleans, null, text, and arrays and objects (keys sorted) as sub-documents.
    func append(_ key: String, _ value: JSONValue) {
        if !Self.append(pointer, key, value) { appendFailed = true }
    }

    /// Appends a sub-document built by `body`.
    func appendDocument(_ key: String, _ body: (BSONDocument) -> Void) {
        let child = BSONDocument()
        body(child)
        if child.appendFailed || !bson_append_document(pointer, key, -1, child.pointer) { appendFailed = true }
    }

    /// Storage for a child document being built in place (`bson_t` is 128 bytes, 128-aligned).
    /// Appends an array of documents, in order.
    func appendArray(_ key: String, documents: [BSONDocument]) {
        let storage = Self.childStorage()
        defer { storage.deallocate() }
        let child = OpaquePointer(storage)
        var ok = bson_append_array_begin(pointer, key, -1, child)
        for (i, document) in documents.enumerated() where ok { ok = bson_append_document(child, String(i), -1, document.pointer) }
        if !(ok && bson_append_array_end(pointer, child)) { appendFailed = true }
    }

    /// Runs `body` with a `bson_t` for libmongoc to fill in as a reply (it initialises it even
    /// on failure), and returns `body`'s value with a copy of the reply.
    static func receiving<R>(_ body: (OpaquePointer) -> R) -> (R, BSONDocument) {
        let storage = childStorage()
        defer { storage.deallocate() }
        let reply = OpaquePointer(storage)
        let value = body(reply)
        let copy = BSONDocument(taking: bson_copy(reply)!)
        bson_destroy(reply)
        return (value, copy)
    }

    private static func childStorage() -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
    }

    /// Appends `value` under `key`; `false` when libbson refused (the document would grow past
    /// its size limit).
    private static func append(_ doc: OpaquePointer, _ key: String, _ value: JSONValue) -> Bool {
        switch value {
        case .null:
            return bson_append_null(doc, key, -1)
        case .bool(let b):
            return bson_append_bool(doc, key, -1, b)
        case .int(let v):
            return bson_append_int64(doc, key, -1, Int64(v))
        case .double(let v):
            return bson_append_double(doc, key, -1, v)
        case .string(let s):
            var text = s
            // An explicit length keeps text with NUL characters whole.
            // libbson stores null for a NULL pointer, so empty text gets a real (empty) C string.
            if text.isEmpty { return bson_append_utf8(doc, key, -1, "", 0) }
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    key.withCString { k in bson_append_utf8(doc, k, -1, chars.baseAddress, Int32(chars.count)) }
                }
            }
        case .array(let items):
            let storage = childStorage()
            defer { storage.deallocate() }
            let child = OpaquePointer(storage)
            guard bson_append_array_begin(doc, key, -1, child) else { return false }
            var ok = true
            for (i, item) in items.enumerated() where ok { ok = append(child, String(i), item) }
            return bson_append_array_end(doc, child) && ok
        case .object(let members):
            let storage = childStorage()
            defer { storage.deallocate() }
            let child = OpaquePointer(storage)
            guard bson_append_document_begin(doc, key, -1, child) else { return false }
            var ok = true
            for name in members.keys.sorted() where ok { ok = append(child, name, members[name]!) }
            return bson_append_document_end(doc, child) && ok
        }
    }
}

extension BSONDocument {
    /// The document's size in bytes, as sent (a BSON document starts with its length, int32
    /// little-endian).
    var byteCount: Int {
        guard let data = bson_get_data(pointer) else { return 0 }
        return Int(Int32(littleEndian: UnsafeRawPointer(data).loadUnaligned(as: Int32.self)))
    }
}
