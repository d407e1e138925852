/// ICMP echo packets (RFC 792, RFC 4443): building requests, reading replies. Pure byte work, so
/// it is tested without sockets.
enum ICMPPacket {
    /// ICMP type numbers of echo request and echo reply, per family.
    static func echoRequestType(_ family: SocketAddress.Family) -> UInt8 { family == .ipv4 ? 8 : 128 }
    static func echoReplyType(_ family: SocketAddress.Family) -> UInt8 { family == .ipv4 ? 0 : 129 }

    /// Bytes of the token that identifies one request in its payload (when `size` allows).
    static let tokenSize = 8

    /// The payload of a request: the token first (as much as fits), then the classic
    /// `0x10, 0x11, …` filler `ping` uses, so captures look familiar.
    static func payload(token: UInt64, size: Int) -> [UInt8] { Array(payloadBytes(token: token, size: size)) }

    /// The bytes of `payload(token:size:)`, computed as read (no array: a request is built and
    /// a reply matched without one).
    static func payloadBytes(token: UInt64, size: Int) -> LazyMapSequence<Range<Int>, UInt8> {
        (0..<size).lazy.map { index in
            index < tokenSize ? UInt8(truncatingIfNeeded: token >> (8 * UInt64(index))) : UInt8(truncatingIfNeeded: 0x10 + index)
        }
    }

    /// An echo request with its checksum filled in. The kernel recomputes the checksum for
    /// datagram ICMP sockets and for ICMPv6, and replaces the identifier on datagram sockets.
    static func echoRequest(
        family: SocketAddress.Family, identifier: UInt16, sequence: UInt16, payload: some Collection<UInt8>
    ) -> [UInt8] {
        // Written in place into one allocation (appending grew it a second time).
        var packet = [UInt8](unsafeUninitializedCapacity: 8 + payload.count) { buffer, count in
            // Type, code, checksum (set below), identifier, sequence.
            for (index, byte) in [
                echoRequestType(family), 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF),
            ].enumerated() {
                buffer.initializeElement(at: index, to: byte)
            }
            _ = buffer[8...].initialize(fromContentsOf: payload)
            count = 8 + payload.count
        }
        let sum = checksum(packet)
        packet[2] = UInt8(sum >> 8)
        packet[3] = UInt8(sum & 0xFF)
        return packet
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum &+= UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum &+= UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// What an echo reply carries.
    struct EchoReply: Equatable {
        var identifier: UInt16
        var sequence: UInt16
        /// The echoed payload.
        var payload: ArraySlice<UInt8>
        /// The TTL from the IPv4 header, when the packet included one (raw IPv4 sockets).
        var headerTTL: Int?
    }

    /// Reads an echo reply; `nil` for anything else (other ICMP types, truncated packets).
    /// `includesIPHeader` is true for raw IPv4 sockets, which deliver the IP header too.
    static func parseEchoReply(_ bytes: ArraySlice<UInt8>, family: SocketAddress.Family, includesIPHeader: Bool) -> EchoReply? {
        var start = bytes.startIndex
        var ttl: Int?
        if includesIPHeader {
            guard let first = bytes.first, first >> 4 == 4 else { return nil }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= 20, bytes.count >= headerLength + 8 else { return nil }
            ttl = Int(bytes[start + 8])
            start += headerLength
        }
        guard bytes.endIndex - start >= 8, bytes[start] == echoReplyType(family), bytes[start + 1] == 0 else { return nil }
        return EchoReply(
            identifier: UInt16(bytes[start + 4]) << 8 | UInt16(bytes[start + 5]),
            sequence: UInt16(bytes[start + 6]) << 8 | UInt16(bytes[start + 7]),
            payload: bytes[(start + 8)...],
            headerTTL: ttl)
    }
}
