import Testing

@testable import Monitor

@Suite struct BodyScannerTests {
    /// Feeds `body` in chunks cut at `cuts` and returns whether the pattern was found.
    static func scan(_ pattern: BodyPattern, _ body: [UInt8], cuts: [Int]) -> (found: Bool, scanner: BodyScanner) {
        var scanner = BodyScanner(pattern)
        var start = 0
        for end in cuts.filter({ $0 > 0 && $0 < body.count }).sorted() + [body.count] {
            body[start..<end].withUnsafeBufferPointer { scanner.consume($0) }
            start = end
        }
        let found = scanner.finish()
        return (found, scanner)
    }

    /// The needle is found wherever the chunk boundaries fall, inside it or around it.
    @Test func aSubstringIsFoundAcrossEveryChunkBoundary() {
        let body = Array("<html>status: healthy</html>".utf8)
        for cut in 0...body.count {
            for second in [cut + 1, cut + 3] {
                #expect(Self.scan(.substring("healthy"), body, cuts: [cut, second]).found, "cut at \(cut), \(second)")
            }
        }
        #expect(!Self.scan(.substring("healthy"), Array("<html>status: health</html>".utf8), cuts: [10, 14]).found)
        // One byte at a time.
        #expect(Self.scan(.substring("healthy"), body, cuts: Array(0..<body.count)).found)
    }

    /// Only the needle's length less one byte is carried between chunks: memory stays flat.
    @Test func aSubstringSearchKeepsOnlyThePreviewAndACarry() {
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 3_000_000) + Array("needle".utf8)
        let (found, scanner) = Self.scan(.substring("needle"), body, cuts: Array(stride(from: 0, to: body.count, by: 65_536)))
        #expect(found)
        #expect(scanner.preview.count == BodyScanner.previewBytes)
    }

    /// A regex sees the body in windows that overlap: a match that straddles a window boundary
    /// is found, and the window never grows past its size.
    @Test func aRegexIsFoundAcrossWindowBoundaries() throws {
        let window = BodyScanner.window
        for offset in [0, 100, window - 10, window - 3, window + 5, 3 * window - 7] {
            var body = [UInt8](repeating: UInt8(ascii: "x"), count: 4 * window)
            let match = Array("status=ok".utf8)
            body.replaceSubrange(offset..<(offset + match.count), with: match)
            #expect(Self.scan(.regex("status=(ok|fine)"), body, cuts: [1000, window + 17, 2 * window]).found, "at \(offset)")
        }
        let plain = [UInt8](repeating: UInt8(ascii: "x"), count: 3 * window)
        #expect(!Self.scan(.regex("status=(ok|fine)"), plain, cuts: []).found)
    }

    @Test func regexAnchorsMatchAtLineEnds() {
        #expect(Self.scan(.regex("^healthy$"), Array("HTTP says\nhealthy\nbye".utf8), cuts: [5]).found)
        #expect(!Self.scan(.regex("^healthy$"), Array("unhealthy\n".utf8), cuts: []).found)
    }

    @Test func thePreviewIsTheBodysStart() {
        let (_, scanner) = Self.scan(.substring("zzz"), Array("<html>Internal error</html>".utf8), cuts: [3, 9])
        #expect(scanner.preview == Array("<html>Internal error</html>".utf8))
    }

    /// What a message quotes of a body: cut short, on one line, credentials and secret values masked.
    @Test(arguments: [
        ("<html>Internal error</html>", "<html>Internal error</html>"),
        ("line one\r\nline two", "line one\\r\\nline two"),
        (#"{"status":"down","token":"abc123","n":1}"#, #"{"status":"down","token":"********","n":1}"#),
        ("error at postgres://app:hunter2@db:5432/x", "error at postgres://app:********@db:5432/x"),
        ("password=hunter2&user=bob", "password=********&user=bob"),
        ("api_key: k-123, next", "api_key: ********, next"),
    ])
    func excerptsAreMasked(body: String, shown: String) {
        #expect(BodyExcerpt.of(Array(body.utf8)) == shown)
    }

    @Test func excerptsAreCut() {
        let text = String(repeating: "a", count: 500)
        #expect(BodyExcerpt.of(Array(text.utf8)) == String(repeating: "a", count: BodyExcerpt.limit) + "…")
    }
}
