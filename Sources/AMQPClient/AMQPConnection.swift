internal import CAMQP
import Monitor

#if canImport(Glibc)
import Glibc
#endif

/// One AMQP 0-9-1 connection with one channel, owning librabbitmq's connection state.
///
/// librabbitmq has no thread of its own and is not thread-safe: exactly one thread (the
/// RabbitMQ notifier's `SinkWorker` thread) uses an instance. Every call that waits has a
/// timeout: the socket connect, the handshake and every RPC (`timeout`), frame waits (the
/// caller's), and publishing only happens while the socket has room (`canWrite`).
package final class AMQPConnection {
    /// A failed AMQP operation: what was being done and what the library or broker said.
    package struct Failure: Error, CustomStringConvertible {
        package var operation: String
        package var detail: String
        package var description: String { "\(operation): \(detail)" }

        package init(operation: String, detail: String) {
            self.operation = operation
            self.detail = detail
        }
    }

    /// What the broker sent, as far as a publisher cares.
    package enum Event: Equatable {
        /// Publisher confirm: the message(s) up to `tag` (all of them if `multiple`) are safe.
        case ack(tag: UInt64, multiple: Bool)
        /// Negative confirm: the broker could not take the message(s); send again.
        case nack(tag: UInt64, multiple: Bool)
        /// `basic.return`: a mandatory message no queue took (its confirm follows).
        case returned(messageID: String?, code: Int, text: String)
        /// `connection.blocked`: a resource alarm; stop publishing until `unblocked`.
        case blocked(reason: String)
        case unblocked
        /// `basic.deliver`: a message from a queue this connection consumes; `ack` it by `tag`.
        case delivery(Delivery)
        /// Anything else (ignored).
        case other
    }

    /// A consumed message.
    package struct Delivery: Equatable, Sendable {
        /// Acknowledge (or reject) by this tag, on this connection.
        package var tag: UInt64
        /// The broker delivered it before, to a consumer that did not acknowledge it.
        package var redelivered: Bool
        package var routingKey: String
        package var messageID: String?
        package var body: [UInt8]
    }

    /// How a message is published.
    package struct PublishOptions: Sendable {
        /// Delivery mode 2 (written to disk by durable queues) rather than 1 (memory only).
        package var persistent = true
        /// `mandatory`: the broker returns it (`basic.return`) when no queue takes it.
        package var mandatory = false
        /// Per-message TTL (the `expiration` property), in milliseconds: a queue drops the message
        /// when it waited longer.
        package var expirationMillis: Int?

        package init(persistent: Bool = true, mandatory: Bool = false, expirationMillis: Int? = nil) {
            self.persistent = persistent
            self.mandatory = mandatory
            self.expirationMillis = expirationMillis
        }
    }

    // Method ids from amqp_framing.h (their macros carry casts Swift does not import).
    private static let basicAck: UInt32 = 0x003C_0050
    private static let basicNack: UInt32 = 0x003C_0078
    private static let basicReturn: UInt32 = 0x003C_0032
    private static let basicDeliver: UInt32 = 0x003C_003C
    private static let connectionClose: UInt32 = 0x000A_0032
    private static let connectionBlocked: UInt32 = 0x000A_003C
    private static let connectionUnblocked: UInt32 = 0x000A_003D
    private static let channelClose: UInt32 = 0x0014_0028
    // Basic property flags from amqp_framing.h.
    private static let contentTypeFlag: UInt32 = 1 << 15
    private static let deliveryModeFlag: UInt32 = 1 << 12
    private static let expirationFlag: UInt32 = 1 << 8
    private static let messageIDFlag: UInt32 = 1 << 7
    private static let timestampFlag: UInt32 = 1 << 6
    private static let appIDFlag: UInt32 = 1 << 3

    private static let contentType: StaticString = "application/json"
    private static let appID: StaticString = "healthmonitor"

    private let state: amqp_connection_state_t
    private let channel: amqp_channel_t = 1
    private let timeout: Double
    /// The socket is TLS: bytes go through librabbitmq's TLS layer, never straight to the socket.
    private let tls: Bool
    /// The frames of the last `publish(_:)` round, kept for the next one's bytes.
    private var frameBuffer = ReusableBytes()

    /// Opens the socket, logs in, opens channel 1. `heartbeat` in seconds (0: none); `timeout`
    /// bounds the connect, the handshake and every RPC, in seconds; `name` is the connection
    /// name the broker shows. Announces the `connection.blocked` capability.
    package init(
        endpoint: AMQPEndpoint, heartbeat: Int, timeout: Double, caFile: String?, verify: Bool, name: String
    ) throws(Failure) {
        guard let state = amqp_new_connection() else { throw Failure(operation: "connect", detail: "out of memory") }
        self.state = state
        self.timeout = timeout
        self.tls = endpoint.tls
        // From here on a failure runs deinit, which destroys the state and its socket.
        let socket: OpaquePointer?
        if endpoint.tls {
            socket = amqp_ssl_socket_new(state)
            if let socket {
                if let caFile, amqp_ssl_socket_set_cacert(socket, caFile) != AMQP_STATUS_OK.rawValue {
                    throw Failure(operation: "TLS", detail: "cannot read CA file \(caFile)")
                }
                amqp_ssl_socket_set_verify_peer(socket, verify ? 1 : 0)
                amqp_ssl_socket_set_verify_hostname(socket, verify ? 1 : 0)
            }
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else { throw Failure(operation: "connect", detail: "cannot create a socket") }
        var limit = Self.timeval(seconds: timeout)
        amqp_set_handshake_timeout(state, &limit)
        amqp_set_rpc_timeout(state, &limit)
        let opened = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &limit)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw Failure(operation: "connect to \(endpoint.host):\(endpoint.port)", detail: Self.statusText(opened))
        }
        try check(
            camqp_login_plain_notify_blocked(
                state, endpoint.vhost, 0, 131_072, Int32(heartbeat), name, endpoint.user, endpoint.password),
            "log in to vhost \(endpoint.vhost) as \(endpoint.user)")
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "open channel")
    }

    deinit {
        // Frees the state and closes the socket without a close handshake.
        amqp_destroy_connection(state)
    }

    /// Closes channel and connection politely (bounded by the RPC timeout); use only on a link
    /// believed healthy. The socket itself is closed by `deinit`.
    package func closeGracefully() {
        var short = Self.timeval(seconds: min(timeout, 2))
        amqp_set_rpc_timeout(state, &short)
        _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
    }

    /// Turns on publisher confirms for the channel: every publish gets an ack or nack.
    package func confirmSelect() throws(Failure) {
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "confirm.select")
    }

    /// Declares a durable exchange (idempotent when it exists with the same type).
    package func declareExchange(_ name: String, type: String) throws(Failure) {
        Self.withBytes(name) { exchange in
            Self.withBytes(type) { kind in
                _ = amqp_exchange_declare(state, channel, exchange, kind, 0, 1, 0, 0, amqp_empty_table)
            }
        }
        try check(amqp_get_rpc_reply(state), "declare exchange \"\(name)\" (\(type), durable)")
    }

    /// Declares a durable queue (idempotent when it exists with the same arguments), with text
    /// `arguments` such as `x-dead-letter-exchange`. A queue that exists with other arguments is
    /// an error (the broker closes the channel).
    package func declareQueue(_ name: String, arguments: [(key: String, value: String)] = []) throws(Failure) {
        // The table points into C strings that live until the call returns.
        let texts = arguments.flatMap { [strdup($0.key), strdup($0.value)] }
        defer { texts.forEach { free($0) } }
        var entries = (0..<arguments.count).map { i in
            var entry = amqp_table_entry_t()
            entry.key = amqp_cstring_bytes(texts[2 * i])
            entry.value.kind = UInt8(ascii: "S")  // AMQP_FIELD_KIND_UTF8: long string
            entry.value.value.bytes = amqp_cstring_bytes(texts[2 * i + 1])
            return entry
        }
        entries.withUnsafeMutableBufferPointer { buffer in
            let table = amqp_table_t(num_entries: Int32(buffer.count), entries: buffer.baseAddress)
            Self.withBytes(name) { queue in
                _ = amqp_queue_declare(state, channel, queue, 0, 1, 0, 0, buffer.isEmpty ? amqp_empty_table : table)
            }
        }
        try check(amqp_get_rpc_reply(state), "declare queue \"\(name)\" (durable)")
    }

    /// Declares a server-named, exclusive, auto-deleted queue (gone with this connection) and
    /// returns its name: a subscriber's own copy of a fanout.
    package func declarePrivateQueue() throws(Failure) -> String {
        let declared = amqp_queue_declare(state, channel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table)
        try check(amqp_get_rpc_reply(state), "declare a private queue")
        guard let declared else { throw Failure(operation: "declare a private queue", detail: "no reply") }
        return Self.string(declared.pointee.queue)
    }

    /// At most `prefetch` unacknowledged deliveries on this channel at a time.
    package func qos(prefetch: UInt16) throws(Failure) {
        amqp_basic_qos(state, channel, 0, prefetch, 0)
        try check(amqp_get_rpc_reply(state), "basic.qos prefetch \(prefetch)")
    }

    /// Starts consuming `queue` with acknowledgements: deliveries arrive as `Event.delivery`.
    package func consume(_ queue: String) throws(Failure) {
        Self.withBytes(queue) { q in
            _ = amqp_basic_consume(state, channel, q, amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        }
        try check(amqp_get_rpc_reply(state), "consume queue \"\(queue)\"")
    }

    /// Acknowledges the delivery `tag` (with `multiple`, every unacknowledged delivery up to it
    /// too): the broker forgets the message.
    package func ack(_ tag: UInt64, multiple: Bool = false) throws(Failure) {
        let status = amqp_basic_ack(state, channel, tag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw Failure(operation: "basic.ack", detail: Self.statusText(status)) }
    }

    /// Rejects the delivery `tag`; with `requeue` the broker delivers it again (to any consumer).
    package func reject(_ tag: UInt64, requeue: Bool) throws(Failure) {
        let status = amqp_basic_reject(state, channel, tag, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else { throw Failure(operation: "basic.reject", detail: Self.statusText(status)) }
    }

    /// Binds `queue` to `exchange` with `routingKey`.
    package func bind(queue: String, exchange: String, routingKey: String) throws(Failure) {
        Self.withBytes(queue) { q in
            Self.withBytes(exchange) { e in
                Self.withBytes(routingKey) { k in
                    _ = amqp_queue_bind(state, channel, q, e, k, amqp_empty_table)
                }
            }
        }
        try check(amqp_get_rpc_reply(state), "bind queue \"\(queue)\" to exchange \"\(exchange)\"")
    }

    /// Whether the socket can take more bytes now, so a publish will not wait for the broker.
    private func canWrite() -> Bool {
        var descriptor = pollfd(fd: amqp_get_sockfd(state), events: Int16(POLLOUT), revents: 0)
        return poll(&descriptor, 1, 0) == 1 && descriptor.revents & Int16(POLLOUT) != 0
    }

    /// Publishes `make(0)`, `make(1)`, … (at most `count` messages, made only when they go out),
    /// as many as the socket takes now without waiting for the broker: over plain TCP those that
    /// fit in the socket's free send space (half of `SO_SNDBUF` less what is queued), in one write
    /// (librabbitmq writes each message's three frames with a system call of its own); over TLS
    /// one by one while the socket has room. Returns how many were published, in order.
    package func publish(upTo count: Int, _ make: (Int) -> Message) throws(Failure) -> Int {
        guard !tls else {
            var sent = 0
            while sent < count && canWrite() {
                let m = make(sent)
                try publish(exchange: m.exchange, routingKey: m.routingKey, body: m.body, messageID: m.messageID, timestamp: m.timestamp, options: m.options)
                sent += 1
            }
            return sent
        }
        var room = camqp_send_room(amqp_get_sockfd(state))
        var batch: [Message] = []
        batch.reserveCapacity(count)
        while batch.count < count {
            let message = make(batch.count)
            let size = Self.wireSize(of: message)
            guard size <= room else { break }
            room -= size
            batch.append(message)
        }
        if !batch.isEmpty { try publish(batch) }
        return batch.count
    }

    /// The bytes `message` takes on the wire at most (what `publish(_:)` reserves for it): the
    /// method and header frames with the properties take well under 1 KiB beyond the names and
    /// the message id; each body frame adds 8 bytes.
    private static func wireSize(of message: Message, frameMax: Int = 131_072) -> Int {
        message.body.utf8.count + message.exchange.utf8.count + message.routingKey.utf8.count + message.messageID.utf8.count + 1024
            + (message.body.utf8.count / (frameMax - 8) + 1) * 8
    }

    /// Publishes one persistent JSON message (delivery mode 2, `application/json`, the given
    /// `message_id` and `timestamp` in Unix seconds, app id `healthmonitor`). Returning proves
    /// only that the bytes were handed to the socket; the confirm says whether the broker took it.
    package func publish(
        exchange: String, routingKey: String, mandatory: Bool, body: String, messageID: String, timestamp: UInt64
    ) throws(Failure) {
        try publish(exchange: exchange, routingKey: routingKey, body: body, messageID: messageID, timestamp: timestamp, options: PublishOptions(mandatory: mandatory))
    }

    /// Publishes one JSON message as `options` say (see the other `publish`).
    package func publish(
        exchange: String, routingKey: String, body: String, messageID: String, timestamp: UInt64, options: PublishOptions
    ) throws(Failure) {
        let status = Self.withMessage(Message(exchange: exchange, routingKey: routingKey, body: body, messageID: messageID, timestamp: timestamp, options: options)) {
            e, k, properties, b in
            amqp_basic_publish(state, channel, e, k, options.mandatory ? 1 : 0, 0, &properties, b)
        }
        guard status == AMQP_STATUS_OK.rawValue else { throw Failure(operation: "publish", detail: Self.statusText(status)) }
    }

    /// A message to publish (see `publish(_:)`).
    package struct Message: Sendable {
        package var exchange: String
        package var routingKey: String
        package var body: String
        package var messageID: String
        /// Unix seconds.
        package var timestamp: UInt64
        package var options: PublishOptions

        package init(exchange: String, routingKey: String, body: String, messageID: String, timestamp: UInt64, options: PublishOptions) {
            self.exchange = exchange
            self.routingKey = routingKey
            self.body = body
            self.messageID = messageID
            self.timestamp = timestamp
            self.options = options
        }
    }

    /// Publishes `messages` in order, as the single `publish` would each, but over a plain TCP
    /// connection with one write for all of them (librabbitmq writes each of a message's three
    /// frames with a system call of its own). Over TLS, one by one. A failure part-way leaves the
    /// connection unusable: the caller reconnects and publishes what was not confirmed again.
    package func publish(_ messages: [Message]) throws(Failure) {
        guard !tls else {
            for m in messages {
                try publish(exchange: m.exchange, routingKey: m.routingKey, body: m.body, messageID: m.messageID, timestamp: m.timestamp, options: m.options)
            }
            return
        }
        let frameMax = max(4096, Int(amqp_get_frame_max(state)))
        // Into the buffer of the previous rounds, reserved at once for the whole round (256
        // messages are about 150 KiB).
        var frames = frameBuffer.take(minimumCapacity: messages.reduce(0) { $0 + Self.wireSize(of: $1, frameMax: frameMax) })
        defer { frameBuffer.keep(frames) }
        for message in messages {
            let room = Self.wireSize(of: message, frameMax: frameMax)
            let start = frames.count
            frames.append(contentsOf: repeatElement(0, count: room))
            let written = frames.withUnsafeMutableBufferPointer { buffer in
                Self.withMessage(message) { e, k, properties, b in
                    camqp_encode_publish(channel, frameMax, e, k, message.options.mandatory ? 1 : 0, &properties, b, buffer.baseAddress! + start, room)
                }
            }
            guard written > 0 else { throw Failure(operation: "publish", detail: written == -1 ? "message does not fit its frames" : Self.statusText(Int32(written))) }
            frames.removeLast(room - written)
        }
        try write(frames)
    }

    /// Writes `bytes` to the socket, all of them: waiting (at most `timeout` at a time) while the
    /// socket is full.
    private func write(_ bytes: [UInt8]) throws(Failure) {
        let fd = amqp_get_sockfd(state)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
                continue
            }
            let error = errno
            if error == EINTR { continue }
            guard error == EAGAIN || error == EWOULDBLOCK else { throw Failure(operation: "publish", detail: String(cString: strerror(error))) }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&descriptor, 1, Int32((timeout * 1000).rounded(.up))) == 1 else {
                throw Failure(operation: "publish", detail: "the broker took no bytes for \(timeout) s")
            }
        }
    }

    /// Lends `message`'s exchange, routing key, properties and body to `body` as librabbitmq
    /// takes them.
    private static func withMessage<R>(
        _ message: Message, _ body: (amqp_bytes_t, amqp_bytes_t, inout amqp_basic_properties_t, amqp_bytes_t) -> R
    ) -> R {
        var properties = amqp_basic_properties_t()
        properties._flags = Self.contentTypeFlag | Self.deliveryModeFlag | Self.messageIDFlag | Self.timestampFlag | Self.appIDFlag
        properties.content_type = Self.bytes(Self.contentType)
        properties.app_id = Self.bytes(Self.appID)
        properties.delivery_mode = message.options.persistent ? 2 : 1
        properties.timestamp = message.timestamp
        let expiration = message.options.expirationMillis.map { String(max(0, $0)) } ?? ""
        if message.options.expirationMillis != nil { properties._flags |= Self.expirationFlag }
        return Self.withBytes(message.exchange) { e in
            Self.withBytes(message.routingKey) { k in
                Self.withBytes(message.messageID) { id in
                    Self.withBytes(expiration) { ttl in
                        Self.withBytes(message.body) { b in
                            properties.message_id = id
                            properties.expiration = ttl
                            return body(e, k, &properties, b)
                        }
                    }
                }
            }
        }
    }

    /// The next event from the broker, waiting at most `seconds`; `nil` when none came. Throws
    /// when the connection failed: socket error, heartbeat timeout (no frame from the broker for
    /// two heartbeat intervals), or the broker closed the channel or connection.
    package func nextEvent(waiting seconds: Double) throws(Failure) -> Event? {
        var frame = amqp_frame_t()
        var limit = Self.timeval(seconds: seconds)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &limit)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        guard status == AMQP_STATUS_OK.rawValue else { throw Failure(operation: "read from broker", detail: Self.statusText(status)) }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return .other }
        let decoded = frame.payload.method.decoded
        switch frame.payload.method.id {
        case Self.basicAck:
            let ack = decoded!.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .ack(tag: ack.delivery_tag, multiple: ack.multiple != 0)
        case Self.basicNack:
            let nack = decoded!.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .nack(tag: nack.delivery_tag, multiple: nack.multiple != 0)
        case Self.basicReturn:
            let returned = decoded!.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let code = Int(returned.reply_code)
            let text = Self.string(returned.reply_text)
            return .returned(messageID: try readContent("read returned message").messageID, code: code, text: text)
        case Self.basicDeliver:
            let deliver = decoded!.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let (messageID, body) = try readContent("read delivered message")
            return .delivery(
                Delivery(tag: deliver.delivery_tag, redelivered: deliver.redelivered != 0, routingKey: Self.string(deliver.routing_key), messageID: messageID, body: body))
        case Self.connectionBlocked:
            let blocked = decoded!.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .blocked(reason: Self.string(blocked.reason))
        case Self.connectionUnblocked:
            return .unblocked
        case Self.channelClose:
            let close = decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            throw Failure(operation: "broker closed the channel", detail: "\(close.reply_code) \(Self.string(close.reply_text))")
        case Self.connectionClose:
            let close = decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            throw Failure(operation: "broker closed the connection", detail: "\(close.reply_code) \(Self.string(close.reply_text))")
        default:
            return .other
        }
    }

    /// Like `nextEvent(waiting:)`, but also returns (`nil`) as soon as `wake` is signalled: the
    /// thread sleeps until the broker sends something, another thread has work for it, or
    /// `seconds` pass, instead of waking on a short timer to look. Frames librabbitmq already
    /// read are returned first. After a quiet `seconds` it still calls into librabbitmq, which
    /// sends the connection's heartbeats from there.
    package func nextEvent(waiting seconds: Double, orWake wake: WakeSignal) throws(Failure) -> Event? {
        // A short wait for a frame whose bytes have begun to arrive: what arrived may be only a
        // heartbeat (librabbitmq takes it and would go on waiting for a frame) or part of a frame.
        let settle = 0.05
        guard amqp_data_in_buffer(state) == 0 && amqp_frames_enqueued(state) == 0 else { return try nextEvent(waiting: settle) }
        var descriptors = [
            pollfd(fd: amqp_get_sockfd(state), events: Int16(POLLIN), revents: 0), pollfd(fd: wake.fd, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&descriptors, 2, Int32((max(0, seconds) * 1000).rounded(.up)))
        let woken = descriptors[1].revents & Int16(POLLIN) != 0
        if woken { wake.drain() }
        if ready > 0 && descriptors[0].revents != 0 { return try nextEvent(waiting: settle) }
        return woken ? nil : try nextEvent(waiting: 0)
    }

    /// Whether bytes or frames from the broker were read and not handled yet (the next
    /// `nextEvent` returns without waiting).
    package var hasBufferedInput: Bool {
        amqp_data_in_buffer(state) != 0 || amqp_frames_enqueued(state) != 0
    }

    /// Frees librabbitmq's frame memory once nothing is buffered (it grows per frame otherwise).
    package func releaseBuffers() {
        amqp_maybe_release_buffers(state)
    }

    /// Reads the header and body frames that follow a `basic.return` or `basic.deliver`: the
    /// message id and the body.
    private func readContent(_ operation: String) throws(Failure) -> (messageID: String?, body: [UInt8]) {
        var messageID: String?
        var body: [UInt8] = []
        var remaining: UInt64?
        while remaining != 0 {
            var frame = amqp_frame_t()
            var limit = Self.timeval(seconds: timeout)
            let status = amqp_simple_wait_frame_noblock(state, &frame, &limit)
            guard status == AMQP_STATUS_OK.rawValue else {
                throw Failure(operation: operation, detail: Self.statusText(status))
            }
            if frame.frame_type == UInt8(AMQP_FRAME_HEADER) {
                remaining = frame.payload.properties.body_size
                body.reserveCapacity(Int(min(frame.payload.properties.body_size, 1 << 24)))
                let properties = frame.payload.properties.decoded.assumingMemoryBound(to: amqp_basic_properties_t.self).pointee
                if properties._flags & Self.messageIDFlag != 0 { messageID = Self.string(properties.message_id) }
            } else if frame.frame_type == UInt8(AMQP_FRAME_BODY), let left = remaining {
                let fragment = frame.payload.body_fragment
                if let base = fragment.bytes, fragment.len > 0 {
                    body.append(contentsOf: UnsafeRawBufferPointer(start: base, count: fragment.len))
                }
                remaining = left - min(left, UInt64(fragment.len))
            } else {
                throw Failure(operation: operation, detail: "unexpected frame type \(frame.frame_type)")
            }
        }
        return (messageID, body)
    }

    private func check(_ reply: amqp_rpc_reply_t, _ operation: String) throws(Failure) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw Failure(operation: operation, detail: Self.statusText(reply.library_error))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch reply.reply.id {
            case Self.connectionClose:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                throw Failure(operation: operation, detail: "broker closed the connection: \(close.reply_code) \(Self.string(close.reply_text))")
            case Self.channelClose:
                let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                throw Failure(operation: operation, detail: "broker closed the channel: \(close.reply_code) \(Self.string(close.reply_text))")
            default:
                throw Failure(operation: operation, detail: "unexpected broker method 0x\(String(reply.reply.id, radix: 16))")
            }
        default:
            throw Failure(operation: operation, detail: "no reply")
        }
    }

    private static func statusText(_ status: Int32) -> String {
        guard let text = amqp_error_string2(status) else { return "status \(status)" }
        return String(cString: text)
    }

    private static func string(_ bytes: amqp_bytes_t) -> String {
        guard let base = bytes.bytes, bytes.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
    }

    private static func bytes(_ text: StaticString) -> amqp_bytes_t {
        amqp_bytes_t(len: text.utf8CodeUnitCount, bytes: UnsafeMutableRawPointer(mutating: text.utf8Start))
    }

    /// Lends `text` as `amqp_bytes_t` for the duration of `body` (librabbitmq only reads it).
    private static func withBytes<R>(_ text: String, _ body: (amqp_bytes_t) -> R) -> R {
        var copy = text
        return copy.withUTF8 { buffer in
            body(amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)))
        }
    }

    private static func timeval(seconds: Double) -> Glibc.timeval {
        let s = max(0, seconds)
        return Glibc.timeval(tv_sec: Int(s), tv_usec: Int((s - Double(Int(s))) * 1_000_000))
    }
}
