import Testing

@testable import Monitor

@Suite struct KeyedArrayTests {
    /// A position hint is taken only where its key is: a wrong, negative or out-of-range hint
    /// finds the key by lookup, and a key never added is not found through any hint.
    @Test(arguments: [-1, 0, 1, 2, 3, 99])
    func aHintIsTakenOnlyWhereItsKeyIs(hint: Int) {
        var table = KeyedArray<String, Int>()
        for (n, key) in ["ping/a", "hostport/b", "download/c"].enumerated() { _ = table.position(of: key) { n * 10 } }
        #expect(table.keys == ["ping/a", "hostport/b", "download/c"])
        for (n, key) in ["ping/a", "hostport/b", "download/c"].enumerated() {
            #expect(table.position(of: key, hint: hint) == n)
            // Found, not appended: the count stays.
            #expect(table.position(of: key, hint: hint) { -1 } == n)
        }
        #expect(table.position(of: "random/d", hint: hint) == nil)
        #expect(table.values == [0, 10, 20])
        // A new key is appended (at the end, whatever the hint) and found there after.
        #expect(table.position(of: "random/d", hint: hint) { 30 } == 3)
        #expect(table.position(of: "random/d", hint: 3) == 3)
        #expect(table.keys == ["ping/a", "hostport/b", "download/c", "random/d"])
        #expect(table.values == [0, 10, 20, 30])
    }
}
