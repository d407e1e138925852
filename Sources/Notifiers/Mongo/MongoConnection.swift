internal import CMongo

/// One single-threaded libmongoc client and the results collection, owned by one thread (the
/// Mongo notifier's `SinkWorker` thread): a `mongoc_client_t` must never be shared by threads.
///
/// Every wait is bounded by the URI's timeouts, which `init` adds when the URI lacks them:
/// `serverSelectionTimeoutMS` and `connectTimeoutMS` (connecting) and `socketTimeoutMS`
/// (each reply; libmongoc's default of 300 s would let a stalled server hold a write for five
/// minutes).
final class MongoConnection {
    /// A failed operation, with libmongoc's error domain and code (server codes with the
    /// server domain, error API version 2).
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var domain: UInt32
        var code: UInt32
        var message: String
        var description: String { "\(operation): \(message) (domain \(domain), code \(code))" }
        /// The server answered with an error (as opposed to: could not be reached).
        var isServerError: Bool { domain == MONGOC_ERROR_SERVER.rawValue || domain == MONGOC_ERROR_WRITE_CONCERN.rawValue }
        /// libmongoc or libbson refused a document before anything was sent (invalid keys, a
        /// document larger than the server accepts): sending it again can never succeed.
        var isDocumentRefusedByClient: Bool {
            domain == MONGOC_ERROR_BSON.rawValue
                || (domain == MONGOC_ERROR_COMMAND.rawValue && code == MONGOC_ERROR_COMMAND_INVALID_ARG.rawValue)
        }

        init(_ operation: String, _ error: bson_error_t) {
            self.operation = operation
            domain = error.domain
            code = error.code
            var copy = error
            message = withUnsafeBytes(of: &copy.message) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }

        init(_ operation: String, message: String) {
            self.operation = operation
            domain = 0
            code = 0
            self.message = message
        }
    }

    /// Timeouts added to the URI unless it sets them, in milliseconds.
    struct Timeouts: Sendable {
        var connectMillis: Int32
        var socketMillis: Int32
    }

    /// libmongoc (opened on first use).
    private let c: LibMongoc
    private let client: OpaquePointer
    private let database: OpaquePointer
    private let collection: OpaquePointer
    let collectionName: String
    /// Other collections of the database, by name (the history's), created on first use.
    private var others: [String: OpaquePointer] = [:]

    /// Checks that `uri` is a MongoDB URI libmongoc accepts; returns its problem otherwise.
    static func validate(uri: String) -> String? {
        let c: LibMongoc
        do { c = try LibMongoc.get() } catch { return error.description }
        var error = bson_error_t()
        guard let parsed = c.mongoc_uri_new_with_error(uri, &error) else { return Failure("parse URI", error).message }
        c.mongoc_uri_destroy(parsed)
        return nil
    }

    /// Creates the client (it connects lazily, on the first command).
    init(uri text: String, timeouts: Timeouts, database name: String, collection collectionName: String) throws(Failure) {
        let c = try LibMongoc.get()
        self.c = c
        var error = bson_error_t()
        guard let uri = c.mongoc_uri_new_with_error(text, &error) else { throw Failure("parse URI", error) }
        defer { c.mongoc_uri_destroy(uri) }
        for (key, value) in [
            ("serverSelectionTimeoutMS", timeouts.connectMillis), ("connectTimeoutMS", timeouts.connectMillis),
            ("socketTimeoutMS", timeouts.socketMillis),
        ] where !c.mongoc_uri_has_option(uri, key) {
            _ = c.mongoc_uri_set_option_as_int32(uri, key, value)
        }
        if c.mongoc_uri_get_appname(uri) == nil { _ = c.mongoc_uri_set_appname(uri, "healthmonitor") }
        guard let client = c.mongoc_client_new_from_uri_with_error(uri, &error) else { throw Failure("create client", error) }
        _ = c.mongoc_client_set_error_api(client, 2)
        self.client = client
        self.database = c.mongoc_client_get_database(client, name)!
        self.collection = c.mongoc_database_get_collection(database, collectionName)!
        self.collectionName = collectionName
    }

    deinit {
        for handle in others.values { c.mongoc_collection_destroy(handle) }
        c.mongoc_collection_destroy(collection)
        c.mongoc_database_destroy(database)
        c.mongoc_client_destroy(client)
    }

    /// Runs `{ping: 1}`: selects the server (bounded by the selection timeout) and round-trips.
    func ping() throws(Failure) {
        let command = BSONDocument()
        command.append("ping", .int(1))
        var error = bson_error_t()
        let (ok, _) = BSONDocument.receiving { reply in c.mongoc_client_command_simple(client, "admin", command.pointer, nil, reply, &error) }
        guard ok else { throw Failure("ping", error) }
    }

    /// Runs a command on the database; returns the reply.
    @discardableResult
    func command(_ command: BSONDocument, _ operation: String) throws(Failure) -> BSONDocument {
        var error = bson_error_t()
        let (ok, reply) = BSONDocument.receiving { reply in c.mongoc_database_command_simple(database, command.pointer, nil, reply, &error) }
        guard ok else { throw Failure(operation, error) }
        return reply
    }

    /// Inserts `documents` with `options` (e.g. `ordered: false`, a write concern). Returns
    /// the reply, and the error when the insert did not fully succeed (the reply then tells
    /// which documents failed, if the server was reached).
    func insertMany(_ documents: [BSONDocument], options: BSONDocument) -> (reply: BSONDocument, failure: Failure?) {
        var pointers: [OpaquePointer?] = documents.map(\.pointer)
        var error = bson_error_t()
        let (ok, reply) = pointers.withUnsafeMutableBufferPointer { buffer in
            BSONDocument.receiving { reply in
                c.mongoc_collection_insert_many(collection, buffer.baseAddress, buffer.count, options.pointer, reply, &error)
            }
        }
        return (reply, ok ? nil : Failure("insert \(documents.count) document(s)", error))
    }

    // MARK: Any collection of the database (the history store's)

    private func handle(_ name: String) -> OpaquePointer {
        if name == collectionName { return collection }
        if let handle = others[name] { return handle }
        let handle = c.mongoc_database_get_collection(database, name)!
        others[name] = handle
        return handle
    }

    /// One write of an unordered bulk write.
    enum Write {
        /// Inserts a document.
        case insert(BSONDocument)
        /// Updates the one document `filter` matches with `update` (operators), inserting it when
        /// none matches and `upsert`.
        case update(filter: BSONDocument, update: BSONDocument, upsert: Bool)
    }

    /// Runs `writes` on collection `name` as one unordered bulk write with `options` (a write
    /// concern). Returns what the server said per write (duplicates of `_id` are in the report,
    /// not errors); throws when the server could not be reached or refused the whole write, or
    /// any write failed for another reason than a duplicate `_id`.
    func bulkWrite(_ name: String, _ writes: [Write], options: BSONDocument) throws(Failure) -> MongoWriteReport {
        let opts = BSONDocument()
        bson_concat(opts.pointer, options.pointer)
        opts.append("ordered", .bool(false))
        let bulk = c.mongoc_collection_create_bulk_operation_with_opts(handle(name), opts.pointer)!
        defer { c.mongoc_bulk_operation_destroy(bulk) }
        var error = bson_error_t()
        let upsert = BSONDocument()
        upsert.append("upsert", .bool(true))
        for write in writes {
            let queued: Bool
            switch write {
            case .insert(let document): queued = c.mongoc_bulk_operation_insert_with_opts(bulk, document.pointer, nil, &error)
            case .update(let filter, let update, let isUpsert):
                queued = c.mongoc_bulk_operation_update_one_with_opts(bulk, filter.pointer, update.pointer, isUpsert ? upsert.pointer : nil, &error)
            }
            guard queued else { throw Failure("queue a write on \(name)", error) }
        }
        let (done, reply) = BSONDocument.receiving { reply in c.mongoc_bulk_operation_execute(bulk, reply, &error) }
        let report = MongoWriteReport(reply: reply)
        if done != 0 { return report }
        // Failed: acceptable only when every write error is a duplicate `_id`.
        if let concern = report.writeConcernError { throw Failure("write \(name)", message: concern) }
        if let refused = (report.transient + report.rejected).first {
            throw Failure("write \(name)", message: "\(refused.message) (code \(refused.code))")
        }
        guard !report.duplicates.isEmpty else { throw Failure("write \(name)", error) }
        return report
    }

    /// The documents of collection `name` that `filter` matches, with `options` (sort, limit,
    /// projection), all read into memory.
    func find(_ name: String, filter: BSONDocument, options: BSONDocument) throws(Failure) -> [BSONDocument] {
        let cursor = c.mongoc_collection_find_with_opts(handle(name), filter.pointer, options.pointer, nil)!
        defer { c.mongoc_cursor_destroy(cursor) }
        var documents: [BSONDocument] = []
        var current: OpaquePointer?
        while c.mongoc_cursor_next(cursor, &current) {
            if let current { documents.append(BSONDocument(taking: bson_copy(current)!)) }
        }
        var error = bson_error_t()
        if c.mongoc_cursor_error(cursor, &error) { throw Failure("find in \(name)", error) }
        return documents
    }

    /// Deletes the documents of collection `name` that `filter` matches.
    func deleteMany(_ name: String, filter: BSONDocument) throws(Failure) {
        var error = bson_error_t()
        let (ok, _) = BSONDocument.receiving { reply in c.mongoc_collection_delete_many(handle(name), filter.pointer, nil, reply, &error) }
        guard ok else { throw Failure("delete from \(name)", error) }
    }
}
