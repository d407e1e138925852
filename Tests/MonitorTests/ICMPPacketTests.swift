import Testing

@testable import Monitor

@Suite struct ICMPPacketTests {
    @Test func checksumMatchesRFC1071Example() {
        // RFC 1071 section 3: the one's complement sum of these bytes is 0xDDF2.
        #expect(ICMPPacket.checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]) == ~UInt16(0xDDF2))
        // An odd length pads with a zero byte.
        #expect(ICMPPacket.checksum([0x01]) == ~UInt16(0x0100))
    }

    @Test func echoRequestLayout() {
        let payload = ICMPPacket.payload(token: 0x0807_0605_0403_0201, size: 12)
        #expect(payload == [1, 2, 3, 4, 5, 6, 7, 8, 0x18, 0x19, 0x1A, 0x1B])
        let packet = ICMPPacket.echoRequest(family: .ipv4, identifier: 0x1234, sequence: 0xABCD, payload: payload)
        #expect(Array(packet[0..<2]) == [8, 0])
        #expect(Array(packet[4..<8]) == [0x12, 0x34, 0xAB, 0xCD])
        #expect(Array(packet[8...]) == payload)
        // A packet with its checksum in place sums to zero.
        #expect(ICMPPacket.checksum(packet) == 0)
        #expect(ICMPPacket.echoRequest(family: .ipv6, identifier: 1, sequence: 2, payload: [])[0] == 128)
    }

    @Test func shortPayloadKeepsWhatFitsOfTheToken() {
        #expect(ICMPPacket.payload(token: 0xFFEE, size: 2) == [0xEE, 0xFF])
        #expect(ICMPPacket.payload(token: 1, size: 0) == [])
    }

    @Test func parsesRepliesWithAndWithoutIPHeader() throws {
        let icmp: [UInt8] = [0, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 9, 9]
        let bare = try #require(ICMPPacket.parseEchoReply(icmp[...], family: .ipv4, includesIPHeader: false))
        #expect(bare.identifier == 0x1234 && bare.sequence == 7 && Array(bare.payload) == [9, 9] && bare.headerTTL == nil)

        var ipHeader = [UInt8](repeating: 0, count: 20)
        ipHeader[0] = 0x45
        ipHeader[8] = 57  // TTL
        let withHeader = try #require(ICMPPacket.parseEchoReply((ipHeader + icmp)[...], family: .ipv4, includesIPHeader: true))
        #expect(withHeader.sequence == 7 && withHeader.headerTTL == 57 && Array(withHeader.payload) == [9, 9])

        let v6: [UInt8] = [129, 0, 0, 0, 0, 1, 0, 2]
        #expect(ICMPPacket.parseEchoReply(v6[...], family: .ipv6, includesIPHeader: false)?.sequence == 2)
    }

    @Test(arguments: [
        [UInt8]([8, 0, 0, 0, 0, 1, 0, 2]),  // an echo request, not a reply
        [UInt8]([3, 1, 0, 0, 0, 0, 0, 0]),  // destination unreachable
        [UInt8]([0, 0, 0, 0, 0, 1]),  // truncated
    ])
    func rejectsOtherPackets(_ bytes: [UInt8]) {
        #expect(ICMPPacket.parseEchoReply(bytes[...], family: .ipv4, includesIPHeader: false) == nil)
    }
}
