import Testing

@testable import Monitor

@Suite struct SocketAddressTests {
    @Test func parsesNumericAddresses() throws {
        let v4 = try #require(SocketAddress(numeric: "127.0.0.1", port: 80))
        #expect(v4.family == .ipv4 && v4.bytes == [127, 0, 0, 1] && v4.description == "127.0.0.1:80")
        let v6 = try #require(SocketAddress(numeric: "[::1]", port: 443))
        #expect(v6.family == .ipv6 && v6.host == "::1" && v6.description == "[::1]:443")
        #expect(SocketAddress(numeric: "fe80::1%lo")?.scopeID == 1)
        #expect(SocketAddress(numeric: "localhost") == nil)
        #expect(SocketAddress(numeric: "256.1.1.1") == nil)
    }

    /// The ICMP reader matches a reply's source in place: the address bytes decide, not the
    /// port or the family of the bytes given.
    @Test func aSockaddrIsComparedInPlace() throws {
        let v4 = try #require(SocketAddress(numeric: "127.0.3.7", port: 80))
        let v6 = try #require(SocketAddress(numeric: "fe80::1%lo", port: 443))
        for (address, bytes, expected) in [
            (v4, [127, 0, 3, 7], true), (v4, [127, 0, 3, 8], false), (v4, v6.bytes, false),
            (v6, v6.bytes, true), (v6, [127, 0, 3, 7], false), (v6.with(port: 1), v6.bytes, true),
        ] as [(SocketAddress, [UInt8], Bool)] {
            let same = address.withSockAddr { pointer, length in SocketAddress.address(pointer, length: Int(length), equals: bytes) }
            #expect(same == expected, "\(address) against \(bytes)")
            // Too short to hold the address: never equal.
            #expect(!address.withSockAddr { pointer, _ in SocketAddress.address(pointer, length: 2, equals: bytes) })
        }
    }

    @Test func numericHostsNeedNoLookupAndRespectTheFamily() async throws {
        #expect(try await Resolver.resolve("::1", port: 5, preference: .any, deadline: deadline(in: 5)) == [SocketAddress(numeric: "::1", port: 5)!])
        await #expect(throws: ResolveError.self) { try await Resolver.resolve("::1", preference: .ipv4, deadline: deadline(in: 5)) }
    }

    @Test func resolvesNamesOffThePool() async throws {
        let addresses = try await Resolver.resolve("localhost", port: 7, preference: .ipv4, deadline: deadline(in: 30))
        #expect(addresses.contains(SocketAddress(numeric: "127.0.0.1", port: 7)!))
    }

    @Test func lookupFailureSaysWhy() async {
        do {
            _ = try await Resolver.resolve("no-such-host.invalid", deadline: deadline(in: 30))
            Issue.record("expected a DNS failure")
        } catch {
            #expect(error.description.hasPrefix("DNS lookup of no-such-host.invalid failed: "))
        }
    }
}
