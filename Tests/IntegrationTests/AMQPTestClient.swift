import CAMQP
import Monitor

#if canImport(Glibc)
import Glibc
#endif

/// A small blocking AMQP consumer for the tests: reads back what the `rabbitmq` notifier
/// published (`basic.get`), and cleans up queues and exchanges. Use from one task at a time.
final class AMQPTestClient {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One consumed message with the properties the notifier sets.
    struct Message {
        var body: String
        var messageID: String?
        var contentType: String?
        var appID: String?
        var deliveryMode: UInt8
        var timestamp: UInt64?
    }

    private let state: amqp_connection_state_t

    init(uri: String) throws {
        var buffer = Array(uri.utf8CString)
        var info = amqp_connection_info()
        let parsed = buffer.withUnsafeMutableBufferPointer { raw -> (String, Int32, String, String, String)? in
            amqp_default_connection_info(&info)
            guard amqp_parse_url(raw.baseAddress, &info) == 0 else { return nil }
            return (String(cString: info.host), info.port, String(cString: info.user), String(cString: info.password), String(cString: info.vhost))
        }
        guard let (host, port, user, password, vhost) = parsed else { throw Failure(description: "bad URI \(uri)") }
        state = amqp_new_connection()
        guard let socket = amqp_tcp_socket_new(state) else { throw Failure(description: "no socket") }
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        amqp_set_rpc_timeout(state, &limit)
        amqp_set_handshake_timeout(state, &limit)
        guard amqp_socket_open_noblock(socket, host, port, &limit) == 0 else { throw Failure(description: "cannot connect to \(host):\(port)") }
        let login = camqp_login_plain(state, vhost, 0, 131_072, 0, user, password)
        guard login.reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "login failed") }
        amqp_channel_open(state, 1)
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "channel.open failed") }
    }

    deinit {
        _ = amqp_channel_close(state, 1, 200)
        _ = amqp_connection_close(state, 200)
        amqp_destroy_connection(state)
    }

    /// The next message of `queue` (acknowledged at once), or `nil` when the queue is empty.
    func get(_ queue: String) throws -> Message? {
        let reply = queue.withCString { amqp_basic_get(state, 1, amqp_cstring_bytes($0), 1) }
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "basic.get on \(queue) failed") }
        guard reply.reply.id == 0x003C_0047 else { return nil }  // basic.get-ok, else get-empty
        var message = amqp_message_t()
        guard amqp_read_message(state, 1, &message, 0).reply_type == AMQP_RESPONSE_NORMAL else {
            throw Failure(description: "cannot read message")
        }
        defer { amqp_destroy_message(&message) }
        let p = message.properties
        func text(_ flag: UInt32, _ bytes: amqp_bytes_t) -> String? {
            guard p._flags & flag != 0, let base = bytes.bytes else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
        }
        return Message(
            body: String(decoding: UnsafeRawBufferPointer(start: message.body.bytes, count: message.body.len), as: UTF8.self),
            messageID: text(1 << 7, p.message_id), contentType: text(1 << 15, p.content_type), appID: text(1 << 3, p.app_id),
            deliveryMode: p._flags & (1 << 12) != 0 ? p.delivery_mode : 0, timestamp: p._flags & (1 << 6) != 0 ? p.timestamp : nil)
    }

    /// Every message now in `queue`.
    func drain(_ queue: String) throws -> [Message] {
        var all: [Message] = []
        while let message = try get(queue) { all.append(message) }
        return all
    }

    /// Deletes a queue and an exchange (cleanup; errors ignored).
    func delete(queue: String?, exchange: String?) {
        if let queue {
            queue.withCString { _ = amqp_queue_delete(state, 1, amqp_cstring_bytes($0), 0, 0) }
            _ = amqp_get_rpc_reply(state)
        }
        if let exchange {
            exchange.withCString { _ = amqp_exchange_delete(state, 1, amqp_cstring_bytes($0), 0) }
            _ = amqp_get_rpc_reply(state)
        }
    }

    /// Declares a durable queue bound to `exchange` (for tests that bind a consumer themselves).
    func declareBoundQueue(_ queue: String, exchange: String, routingKey: String = "") throws {
        _ = queue.withCString { q in amqp_queue_declare(state, 1, amqp_cstring_bytes(q), 0, 1, 0, 0, amqp_empty_table) }
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "queue.declare") }
        _ = queue.withCString { q in
            exchange.withCString { e in
                routingKey.withCString { k in amqp_queue_bind(state, 1, amqp_cstring_bytes(q), amqp_cstring_bytes(e), amqp_cstring_bytes(k), amqp_empty_table) }
            }
        }
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "queue.bind") }
    }

    /// How many messages `queue` holds ready for delivery (not those delivered and unacknowledged).
    func messageCount(_ queue: String) throws -> Int { try counts(queue).messages }

    /// How many consumers `queue` has; throws when it does not exist.
    func consumerCount(_ queue: String) throws -> Int { try counts(queue).consumers }

    /// A passive declare of `queue`: its ready messages and its consumers.
    private func counts(_ queue: String) throws -> (messages: Int, consumers: Int) {
        let declared = queue.withCString { q in amqp_queue_declare(state, 1, amqp_cstring_bytes(q), 1, 0, 0, 0, amqp_empty_table) }
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL, let declared else { throw Failure(description: "queue.declare passive \(queue)") }
        return (Int(declared.pointee.message_count), Int(declared.pointee.consumer_count))
    }

    /// Declares a durable exchange of `type`.
    func declareExchange(_ exchange: String, type: String) throws {
        _ = exchange.withCString { e in
            type.withCString { t in amqp_exchange_declare(state, 1, amqp_cstring_bytes(e), amqp_cstring_bytes(t), 0, 1, 0, 0, amqp_empty_table) }
        }
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL else { throw Failure(description: "exchange.declare \(exchange)") }
    }

    /// Publishes `body` (transient, no confirm: the tests read the effect).
    func publish(exchange: String, routingKey: String, body: String) throws {
        let status = exchange.withCString { e in
            routingKey.withCString { k in
                body.withCString { b in
                    amqp_basic_publish(state, 1, amqp_cstring_bytes(e), amqp_cstring_bytes(k), 0, 0, nil, amqp_cstring_bytes(b))
                }
            }
        }
        guard status == 0 else { throw Failure(description: "basic.publish to \(exchange)") }
    }
}

extension AMQPTestClient {
    /// Deletes a queue and an exchange, ignoring every error (test cleanup).
    static func cleanup(uri: String, queue: String?, exchange: String?) {
        (try? AMQPTestClient(uri: uri))?.delete(queue: queue, exchange: exchange)
    }
}
