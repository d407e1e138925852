internal import CMongo
import Logging

/// libmongoc's own log lines (warnings and errors only), through swift-log.
private let mongocLogger = Logger(label: "mongoc")

/// `mongoc_init` and the log handler, exactly once per process.
private let mongocReady: Void = {
    mongoc_init()
    mongoc_log_set_handler(
        { level, domain, message, _ in
            guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue, let message else { return }
            let text = String(cString: message)
            let area = domain.map { String(cString: $0) } ?? "mongoc"
            if level.rawValue <= MONGOC_LOG_LEVEL_CRITICAL.rawValue {
                mongocLogger.error("\(text)", metadata: ["domain": "\(area)"])
            } else {
                mongocLogger.warning("\(text)", metadata: ["domain": "\(area)"])
            }
        }, nil)
}()

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

    private let client: OpaquePointer
    private let database: OpaquePointer
    private let collection: OpaquePointer
    let collectionName: String

    /// Checks that `uri` is a MongoDB URI libmongoc accepts; returns its problem otherwise.
    static func validate(uri: String) -> String? {
        _ = mongocReady
        var error = bson_error_t()
        guard let parsed = mongoc_uri_new_with_error(uri, &error) else { return Failure("parse URI", error).message }
        mongoc_uri_destroy(parsed)
        return nil
    }

    /// Creates the client (it connects lazily, on the first command).
    init(uri text: String, timeouts: Timeouts, database name: String, collection collectionName: String) throws(Failure) {
        _ = mongocReady
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(text, &error) else { throw Failure("parse URI", error) }
        defer { mongoc_uri_destroy(uri) }
        for (key, value) in [
            ("serverSelectionTimeoutMS", timeouts.connectMillis), ("connectTimeoutMS", timeouts.connectMillis),
            ("socketTimeoutMS", timeouts.socketMillis),
        ] where !mongoc_uri_has_option(uri, key) {
            mongoc_uri_set_option_as_int32(uri, key, value)
        }
        if mongoc_uri_get_appname(uri) == nil { mongoc_uri_set_appname(uri, "healthmonitor") }
        guard let client = mongoc_client_new_from_uri_with_error(uri, &error) else { throw Failure("create client", error) }
        mongoc_client_set_error_api(client, 2)
        self.client = client
        self.database = mongoc_client_get_database(client, name)
        self.collection = mongoc_database_get_collection(database, collectionName)
        self.collectionName = collectionName
    }

    deinit {
        mongoc_collection_destroy(collection)
        mongoc_database_destroy(database)
        mongoc_client_destroy(client)
    }

    /// Runs `{ping: 1}`: selects the server (bounded by the selection timeout) and round-trips.
    func ping() throws(Failure) {
        let command = BSONDocument()
        command.append("ping", .int(1))
        var error = bson_error_t()
        let (ok, _) = BSONDocument.receiving { reply in mongoc_client_command_simple(client, "admin", command.pointer, nil, reply, &error) }
        guard ok else { throw Failure("ping", error) }
    }

    /// Runs a command on the database; returns the reply.
    @discardableResult
    func command(_ command: BSONDocument, _ operation: String) throws(Failure) -> BSONDocument {
        var error = bson_error_t()
        let (ok, reply) = BSONDocument.receiving { reply in mongoc_database_command_simple(database, command.pointer, nil, reply, &error) }
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
                mongoc_collection_insert_many(collection, buffer.baseAddress, buffer.count, options.pointer, reply, &error)
            }
        }
        return (reply, ok ? nil : Failure("insert \(documents.count) document(s)", error))
    }
}
