internal import CMongo
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// libmongoc, opened with `dlopen` when the first mongo notifier or history store needs it,
/// not linked: linking it runs its load-time constructor (OpenSSL and counters) in every
/// process, about 5 MB of resident pages where no mongo notifier is configured.
///
/// Each property points at the C function of the same name; its type comes from the real
/// declaration (`hm_<name>_fn` in CMongo/shim.h). libbson stays linked (no constructor, 0.2 MB).
struct LibMongoc: @unchecked Sendable {  // immutable C function pointers
    /// The library's file name (Debian package libmongoc-1.0-0).
    static let fileName = "libmongoc-1.0.so.0"

    let mongoc_init: hm_mongoc_init_fn
    let mongoc_log_set_handler: hm_mongoc_log_set_handler_fn
    let mongoc_uri_new_with_error: hm_mongoc_uri_new_with_error_fn
    let mongoc_uri_destroy: hm_mongoc_uri_destroy_fn
    let mongoc_uri_has_option: hm_mongoc_uri_has_option_fn
    let mongoc_uri_set_option_as_int32: hm_mongoc_uri_set_option_as_int32_fn
    let mongoc_uri_get_appname: hm_mongoc_uri_get_appname_fn
    let mongoc_uri_set_appname: hm_mongoc_uri_set_appname_fn
    let mongoc_client_new_from_uri_with_error: hm_mongoc_client_new_from_uri_with_error_fn
    let mongoc_client_set_error_api: hm_mongoc_client_set_error_api_fn
    let mongoc_client_get_database: hm_mongoc_client_get_database_fn
    let mongoc_client_command_simple: hm_mongoc_client_command_simple_fn
    let mongoc_client_destroy: hm_mongoc_client_destroy_fn
    let mongoc_database_get_collection: hm_mongoc_database_get_collection_fn
    let mongoc_database_command_simple: hm_mongoc_database_command_simple_fn
    let mongoc_database_destroy: hm_mongoc_database_destroy_fn
    let mongoc_collection_insert_many: hm_mongoc_collection_insert_many_fn
    let mongoc_collection_create_bulk_operation_with_opts: hm_mongoc_collection_create_bulk_operation_with_opts_fn
    let mongoc_collection_find_with_opts: hm_mongoc_collection_find_with_opts_fn
    let mongoc_collection_delete_many: hm_mongoc_collection_delete_many_fn
    let mongoc_collection_destroy: hm_mongoc_collection_destroy_fn
    let mongoc_bulk_operation_insert_with_opts: hm_mongoc_bulk_operation_insert_with_opts_fn
    let mongoc_bulk_operation_update_one_with_opts: hm_mongoc_bulk_operation_update_one_with_opts_fn
    let mongoc_bulk_operation_execute: hm_mongoc_bulk_operation_execute_fn
    let mongoc_bulk_operation_destroy: hm_mongoc_bulk_operation_destroy_fn
    let mongoc_cursor_next: hm_mongoc_cursor_next_fn
    let mongoc_cursor_error: hm_mongoc_cursor_error_fn
    let mongoc_cursor_destroy: hm_mongoc_cursor_destroy_fn

    /// The library, opened and initialised (`mongoc_init`, the log handler) exactly once per
    /// process; or why it could not be.
    static let shared: Result<LibMongoc, MongoConnection.Failure> = {
        let opened = Result { () throws(MongoConnection.Failure) in try LibMongoc(fileName: fileName) }
        if case .success(let library) = opened {
            library.mongoc_init()
            library.mongoc_log_set_handler(logHandler, nil)
        }
        return opened
    }()

    /// The opened library, or the error to report where it is needed.
    static func get() throws(MongoConnection.Failure) -> LibMongoc { try shared.get() }

    private init(fileName: String) throws(MongoConnection.Failure) {
        guard let handle = dlopen(fileName, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? fileName
            throw MongoConnection.Failure(
                "load libmongoc", message: "\(reason) (install the Debian package libmongoc-1.0-0)")
        }
        func function<F>(_ name: String) throws(MongoConnection.Failure) -> F {
            guard let address = dlsym(handle, name) else {
                throw MongoConnection.Failure("load libmongoc", message: "\(fileName) has no \(name)")
            }
            return unsafeBitCast(address, to: F.self)
        }
        mongoc_init = try function("mongoc_init")
        mongoc_log_set_handler = try function("mongoc_log_set_handler")
        mongoc_uri_new_with_error = try function("mongoc_uri_new_with_error")
        mongoc_uri_destroy = try function("mongoc_uri_destroy")
        mongoc_uri_has_option = try function("mongoc_uri_has_option")
        mongoc_uri_set_option_as_int32 = try function("mongoc_uri_set_option_as_int32")
        mongoc_uri_get_appname = try function("mongoc_uri_get_appname")
        mongoc_uri_set_appname = try function("mongoc_uri_set_appname")
        mongoc_client_new_from_uri_with_error = try function("mongoc_client_new_from_uri_with_error")
        mongoc_client_set_error_api = try function("mongoc_client_set_error_api")
        mongoc_client_get_database = try function("mongoc_client_get_database")
        mongoc_client_command_simple = try function("mongoc_client_command_simple")
        mongoc_client_destroy = try function("mongoc_client_destroy")
        mongoc_database_get_collection = try function("mongoc_database_get_collection")
        mongoc_database_command_simple = try function("mongoc_database_command_simple")
        mongoc_database_destroy = try function("mongoc_database_destroy")
        mongoc_collection_insert_many = try function("mongoc_collection_insert_many")
        mongoc_collection_create_bulk_operation_with_opts = try function("mongoc_collection_create_bulk_operation_with_opts")
        mongoc_collection_find_with_opts = try function("mongoc_collection_find_with_opts")
        mongoc_collection_delete_many = try function("mongoc_collection_delete_many")
        mongoc_collection_destroy = try function("mongoc_collection_destroy")
        mongoc_bulk_operation_insert_with_opts = try function("mongoc_bulk_operation_insert_with_opts")
        mongoc_bulk_operation_update_one_with_opts = try function("mongoc_bulk_operation_update_one_with_opts")
        mongoc_bulk_operation_execute = try function("mongoc_bulk_operation_execute")
        mongoc_bulk_operation_destroy = try function("mongoc_bulk_operation_destroy")
        mongoc_cursor_next = try function("mongoc_cursor_next")
        mongoc_cursor_error = try function("mongoc_cursor_error")
        mongoc_cursor_destroy = try function("mongoc_cursor_destroy")
    }
}

/// libmongoc's own log lines (warnings and errors only), through swift-log.
private let mongocLogger = Logger(label: "mongoc")

private let logHandler: mongoc_log_func_t = { level, domain, message, _ in
    guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue, let message else { return }
    let text = String(cString: message)
    let area = domain.map { String(cString: $0) } ?? "mongoc"
    if level.rawValue <= MONGOC_LOG_LEVEL_CRITICAL.rawValue {
        mongocLogger.error("\(text)", metadata: ["domain": "\(area)"])
    } else {
        mongocLogger.warning("\(text)", metadata: ["domain": "\(area)"])
    }
}
