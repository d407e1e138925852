internal import CMongo
import Foundation

/// What the server said about one unordered `insert_many`, document by document, read from
/// the command reply (`writeErrors`, `writeConcernErrors`).
///
/// A duplicate `_id` (code 11000) means the document is already stored: a retried insert whose
/// first attempt did land. It counts as delivered, as at-least-once delivery requires. A
/// duplicate on another unique index (the reply's `keyPattern`, or `index: NAME` in its
/// message, names it) is a refusal like any other: the document is not stored.
struct MongoWriteReport: Sendable, Equatable {
    /// One failed document: its index in the batch, the server's code and message.
    struct WriteError: Sendable, Equatable {
        var index: Int
        var code: Int
        var message: String
        /// The fields of the unique index a duplicate-key error is on, when the server says.
        var keyPattern: [String]? = nil

        init(index: Int, code: Int, message: String, keyPattern: [String]? = nil) {
            self.index = index
            self.code = code
            self.message = message
            self.keyPattern = keyPattern
        }

        /// Whether a duplicate-key error is on `_id` (or the server does not say which index:
        /// the notifier's own documents have no other unique index).
        var isOnID: Bool {
            if let keyPattern { return keyPattern == ["_id"] }
            guard let range = message.range(of: "index: ") else { return true }
            return message[range.upperBound...].hasPrefix("_id_")
        }
    }

    /// Documents that already existed (duplicate `_id`).
    var duplicates: [Int] = []
    /// Documents worth sending again (the server was stepping down, shutting down, …).
    var transient: [WriteError] = []
    /// Documents the server will never take (validation, size, …).
    var rejected: [WriteError] = []
    /// A write concern error: the writes are not acknowledged as configured, send all again.
    var writeConcernError: String?

    /// Server codes for "the same write may succeed later".
    static let transientCodes: Set<Int> = [
        6, 7, 50, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
    ]
    /// Duplicate key codes (11001 and 12582 from old servers).
    static let duplicateCodes: Set<Int> = [11000, 11001, 12582]

    /// Reads a reply document.
    init(reply: BSONDocument) {
        let iter = BSONIterator()
        if iter.find("writeErrors", in: reply), iter.type == BSON_TYPE_ARRAY, let item = iter.children() {
            while item.next() {
                guard item.type == BSON_TYPE_DOCUMENT, let field = item.children() else { continue }
                var error = WriteError(index: -1, code: 0, message: "")
                while field.next() {
                    switch field.key {
                    case "index": error.index = field.int
                    case "code": error.code = field.int
                    case "errmsg": error.message = field.string ?? ""
                    case "keyPattern":
                        if field.type == BSON_TYPE_DOCUMENT, let keys = field.children() {
                            var names: [String] = []
                            while keys.next() { names.append(keys.key) }
                            error.keyPattern = names
                        }
                    default: break
                    }
                }
                if Self.duplicateCodes.contains(error.code) && error.isOnID {
                    duplicates.append(error.index)
                } else if Self.transientCodes.contains(error.code) {
                    transient.append(error)
                } else {
                    rejected.append(error)
                }
            }
        }
        let concern = BSONIterator()
        if concern.find("writeConcernErrors", in: reply), concern.type == BSON_TYPE_ARRAY, let item = concern.children(),
            item.next()
        {
            var message = "write concern error"
            if let field = item.children() {
                while field.next() {
                    if field.key == "errmsg" { message = field.string ?? message }
                }
            }
            writeConcernError = message
        }
    }

    /// The first write error `index` that is missing (`-1`) or outside a batch of `count`
    /// documents: a reply the sink must not trust (it sends the whole batch again).
    func malformedIndex(batch count: Int) -> Int? {
        (duplicates + (transient + rejected).map(\.index)).first { !(0..<count).contains($0) }
    }

    /// Whether the reply lists no per-document errors at all.
    var isClean: Bool { duplicates.isEmpty && transient.isEmpty && rejected.isEmpty && writeConcernError == nil }
}
