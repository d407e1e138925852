import Monitor

@testable import Notifiers

/// Reads back what the `mongo` notifier stored, through the notifier's own libmongoc wrapper
/// (a real server, no mock). Blocking: call from `SinkTest.blocking`.
struct MongoTestClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One index: its name, key fields in order, and TTL seconds if any.
    struct Index: Equatable {
        var name: String
        var keys: [String]
        var expireAfterSeconds: Int?
    }

    let connection: MongoConnection

    init(uri: String, database: String, collection: String = "results") throws {
        connection = try MongoConnection(
            uri: uri, timeouts: .init(connectMillis: 5000, socketMillis: 30000), database: database, collection: collection)
    }

    /// Every document as canonical extended JSON (types explicit), in `_id` order.
    func documents() throws -> [JSONValue] {
        let command = BSONDocument()
        command.append("find", string: connection.collectionName)
        command.appendDocument("sort") { $0.append("_id", .int(1)) }
        command.append("batchSize", .int(1_000_000))
        let reply = try connection.command(command, "find")
        let parsed = try JSONValue.parse(reply.canonicalJSON)
        guard let batch = parsed.objectValue?["cursor"]?.objectValue?["firstBatch"]?.arrayValue else {
            throw Failure(description: "no firstBatch in \(reply.canonicalJSON.prefix(200))")
        }
        return batch
    }

    /// The `_id`s stored.
    func ids() throws -> [String] {
        try documents().compactMap { $0.objectValue?["_id"]?.stringValue }
    }

    /// The collection's indexes, key order kept.
    func indexes() throws -> [Index] {
        let command = BSONDocument()
        command.append("listIndexes", string: connection.collectionName)
        let reply = try connection.command(command, "listIndexes")
        let top = BSONIterator()
        guard top.find("cursor", in: reply), let cursor = top.children() else { throw Failure(description: "no cursor") }
        var out: [Index] = []
        while cursor.next() {
            guard cursor.key == "firstBatch", let batch = cursor.children() else { continue }
            while batch.next() {
                guard let fields = batch.children() else { continue }
                var index = Index(name: "", keys: [], expireAfterSeconds: nil)
                while fields.next() {
                    switch fields.key {
                    case "name": index.name = fields.string ?? ""
                    case "expireAfterSeconds": index.expireAfterSeconds = fields.int
                    case "key":
                        if let key = fields.children() {
                            while key.next() { index.keys.append("\(key.key):\(key.int)") }
                        }
                    default: break
                    }
                }
                out.append(index)
            }
        }
        return out
    }

    /// Inserts a raw document (to prepare a duplicate).
    func insert(json: String) throws {
        guard let document = BSONDocument(json: json) else { throw Failure(description: "bad JSON") }
        let options = BSONDocument()
        let (_, failure) = connection.insertMany([document], options: options)
        if let failure { throw failure }
    }

    /// Drops the database (cleanup).
    func dropDatabase() {
        let command = BSONDocument()
        command.append("dropDatabase", .int(1))
        _ = try? connection.command(command, "dropDatabase")
    }
}
