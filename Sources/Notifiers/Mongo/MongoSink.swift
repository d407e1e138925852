internal import CMongo
import Logging
import Monitor

/// The MongoDB side of the `mongo` notifier: batched, unordered, acknowledged inserts of one
/// document per result (`MongoDocument`), driven by a `SinkWorker` on its own thread.
///
/// Retries are the notifier's own (retryable writes do not exist on a standalone server): a
/// batch whose outcome is unknown (connection lost, timeout, write concern error) is sent
/// again, and a duplicate `_id` on a retried insert counts as delivered.
final class MongoSink: Sink {
    struct Settings: Sendable {
        var uri: String
        var database: String
        var collection: String
        /// Days after `created` a document expires (a TTL index); `nil`: never.
        var ttlDays: Double?
        /// Whether to create the indexes at start-up.
        var createIndexes: Bool
        /// `w`: a number of members, or `majority`.
        var writeConcern: String
        /// `j`: acknowledged only once journaled.
        var journal: Bool
        /// Documents per insert.
        var bulkSize: Int
        /// Seconds a result may wait for a fuller batch.
        var flushInterval: Double
        var timeouts: MongoConnection.Timeouts
        /// Where results the client libraries refuse to encode or send are kept (one spool line
        /// each), so they stop blocking the spool and are not lost; `nil`: only logged.
        var deadLetterPath: String? = nil
    }

    let settings: Settings
    private let logger: Logger
    private var connection: MongoConnection?
    private var indexesDone = false
    /// When the oldest pending result started waiting for a fuller batch (seconds on `clock`).
    private var pendingSince: Double?
    private let insertOptions: BSONDocument
    private let clock: any ThreadClock

    init(settings: Settings, logger: Logger, clock: any ThreadClock = MonotonicClock()) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
        insertOptions = BSONDocument()
        insertOptions.append("ordered", .bool(false))
        insertOptions.appendDocument("writeConcern") { concern in
            if let w = Int32(settings.writeConcern) {
                concern.append("w", int32: w)
            } else {
                concern.append("w", string: settings.writeConcern)
            }
            if settings.journal { concern.append("j", .bool(true)) }
            concern.append("wtimeout", int32: settings.timeouts.socketMillis)
        }
    }

    var endpoint: String {
        SecretMasking.maskURLPassword(settings.uri) + " \(settings.database).\(settings.collection)"
    }

    func connect() throws {
        let c = try MongoConnection(
            uri: settings.uri, timeouts: settings.timeouts, database: settings.database, collection: settings.collection)
        try c.ping()
        if !indexesDone && settings.createIndexes { try ensureIndexes(c) }
        connection = c
    }

    func disconnect(graceful: Bool) {
        // Destroying the client closes its socket; a fresh client starts with a clean topology.
        connection = nil
        pendingSince = nil
    }

    /// Creates `{label: 1, created: -1}`, `{check: 1, created: -1}` and, with `ttl_days`, the
    /// TTL index on `created` (changing its expiry when it exists with another). A server that
    /// refuses is logged once; an unreachable one fails the connect.
    private func ensureIndexes(_ c: MongoConnection) throws {
        func key(_ first: String) -> BSONDocument {
            let key = BSONDocument()
            key.append(first, .int(1))
            key.append("created", .int(-1))
            return key
        }
        func spec(_ name: String, _ key: BSONDocument, expireAfter: Int? = nil) -> BSONDocument {
            let spec = BSONDocument()
            spec.appendDocument("key") { bson_concat($0.pointer, key.pointer) }
            spec.append("name", string: name)
            if let expireAfter { spec.append("expireAfterSeconds", .int(expireAfter)) }
            return spec
        }
        let command = BSONDocument()
        command.append("createIndexes", string: settings.collection)
        command.appendArray(
            "indexes", documents: [spec("label_1_created_-1", key("label")), spec("check_1_created_-1", key("check"))])
        if let refused = try refusal(c, command, "create indexes") {
            logger.error("cannot create indexes", metadata: ["endpoint": "\(endpoint)", "error": "\(refused)"])
        }
        if let days = settings.ttlDays {
            let seconds = max(1, Int((days * 86_400).rounded()))
            let created = BSONDocument()
            created.append("created", .int(1))
            let ttl = BSONDocument()
            ttl.append("createIndexes", string: settings.collection)
            ttl.appendArray("indexes", documents: [spec("created_ttl", created, expireAfter: seconds)])
            var refused = try refusal(c, ttl, "create TTL index")
            if let conflict = refused, conflict.code == 85 {
                // IndexOptionsConflict: the TTL index exists with another expiry; change it.
                let modify = BSONDocument()
                modify.append("collMod", string: settings.collection)
                modify.appendDocument("index") { index in
                    index.appendDocument("keyPattern") { bson_concat($0.pointer, created.pointer) }
                    index.append("expireAfterSeconds", .int(seconds))
                }
                refused = try refusal(c, modify, "change the TTL index")
            }
            if let refused {
                logger.error("cannot set up the TTL index", metadata: ["endpoint": "\(endpoint)", "error": "\(refused)"])
            }
        }
        indexesDone = true
    }

    /// Runs a command: `nil` when it succeeded, the server's refusal when it answered with an
    /// error; throws when the server was not reached.
    private func refusal(_ c: MongoConnection, _ command: BSONDocument, _ operation: String) throws -> MongoConnection.Failure? {
        do {
            try c.command(command, operation)
            return nil
        } catch {
            if error.isServerError { return error }
            throw error
        }
    }

    /// After libmongoc or libbson refused a batch before sending it: the batch again one
    /// document at a time, so the documents they refuse go to the dead-letter file (logged,
    /// counted as undeliverable) and the others are stored; nothing stays stuck at the head of
    /// the spool. `documents` are the batch's, already built.
    private func insertOneByOne(
        _ entries: [Spool<CheckResult>.Entry], _ documents: [BSONDocument], _ c: MongoConnection,
        _ spool: inout Spool<CheckResult>, _ stats: inout SinkStats
    ) throws {
        for (index, (entry, document)) in zip(entries, documents).enumerated() {
            // A document libbson refused a field of is incomplete: it is never sent.
            let (reply, failure) = document.appendFailed
                ? (BSONDocument(), MongoConnection.Failure("encode", message: "libbson refused a field of the document"))
                : c.insertMany([document], options: insertOptions)
            guard let failure else {
                spool.complete([entry.seq])
                stats.delivered += 1
                continue
            }
            if document.appendFailed || failure.isDocumentRefusedByClient {
                deadLetter(entry.record, failure)
                spool.complete([entry.seq])
                stats.undeliverable += 1
                continue
            }
            let report = MongoWriteReport(reply: reply)
            if failure.isServerError, report.writeConcernError == nil, report.duplicates == [0] {
                spool.complete([entry.seq])  // already stored: a retried insert
                stats.delivered += 1
                stats.duplicates += 1
                continue
            }
            spool.retry(entries[index...].map(\.seq))
            throw failure
        }
    }

    /// Keeps a result the client libraries refused in the dead-letter file and logs it.
    private func deadLetter(_ result: CheckResult, _ failure: MongoConnection.Failure) {
        var kept = "not kept: no state directory"
        if let path = settings.deadLetterPath {
            do {
                try FileSystem.appendDurably([result.spoolLine], to: path)
                kept = path
            } catch {
                kept = "not kept: \(error)"
            }
        }
        logger.error(
            "result refused by the MongoDB client library; moved to the dead-letter file",
            metadata: [
                "endpoint": "\(endpoint)", "id": "\(result.id)", "check": "\(result.key)", "error": "\(failure.message)",
                "dead_letter": "\(kept)",
            ])
    }

    func exchange(_ spool: inout Spool<CheckResult>, stats: inout SinkStats, flushing: Bool) throws -> Double {
        guard let c = connection else { throw MongoConnection.Failure("insert", message: "not connected") }
        guard spool.pendingCount > 0 else {
            pendingSince = nil
            return 1
        }
        let now = clock.seconds()
        let since = pendingSince ?? now
        pendingSince = since
        if spool.pendingCount < settings.bulkSize && !flushing && now - since < settings.flushInterval {
            return settings.flushInterval - (now - since)
        }
        let entries = spool.takeToSend(max: settings.bulkSize)
        pendingSince = spool.pendingCount > 0 ? now : nil
        let documents = entries.map { MongoDocument.make($0.record) }
        if documents.contains(where: \.appendFailed) {
            try insertOneByOne(entries, documents, c, &spool, &stats)
            return 0
        }
        let (reply, failure) = c.insertMany(documents, options: insertOptions)
        guard let failure else {
            spool.complete(entries.map(\.seq))
            stats.delivered += entries.count
            return 0
        }
        if failure.isDocumentRefusedByClient {
            try insertOneByOne(entries, documents, c, &spool, &stats)
            return 0
        }
        let report = MongoWriteReport(reply: reply)
        if let concern = report.writeConcernError {
            throw MongoConnection.Failure("insert (write concern)", message: concern)
        }
        guard failure.isServerError, !report.isClean else {
            throw failure  // not reached, or no per-document answer: the whole batch again
        }
        if let bad = report.malformedIndex(batch: entries.count) {
            // Never index the batch with what the server sent: a bad index would trap.
            logger.error(
                "malformed insert reply: a write error's index is missing or outside the batch; sending the batch again",
                metadata: ["endpoint": "\(endpoint)", "index": "\(bad)", "batch": "\(entries.count)"])
            throw MongoConnection.Failure("insert", message: "malformed reply (write error index \(bad) of a batch of \(entries.count))")
        }
        let transient = Set(report.transient.map(\.index))
        let rejected = Set(report.rejected.map(\.index))
        var delivered: [UInt64] = []
        for (i, entry) in entries.enumerated() where !transient.contains(i) && !rejected.contains(i) {
            delivered.append(entry.seq)
        }
        spool.complete(delivered)
        stats.delivered += delivered.count
        stats.duplicates += report.duplicates.count
        if let first = report.rejected.first {
            spool.complete(report.rejected.map { entries[$0.index].seq })
            stats.undeliverable += report.rejected.count
            logger.error(
                "server rejected results; dropped",
                metadata: [
                    "endpoint": "\(endpoint)", "results": "\(report.rejected.count)", "code": "\(first.code)",
                    "error": "\(first.message)", "first_id": "\(entries[first.index].record.id)",
                ])
        }
        if let first = report.transient.first {
            spool.retry(report.transient.map { entries[$0.index].seq })
            throw MongoConnection.Failure("insert", message: "server busy or stepping down: \(first.code) \(first.message)")
        }
        return 0
    }
}
