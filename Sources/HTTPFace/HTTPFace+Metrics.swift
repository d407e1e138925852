import Hummingbird
import Monitor

extension HTTPFace {
    /// `/metrics`: the Prometheus text exposition of the registry, with a `# HELP` line before
    /// each family's `# TYPE` line (from `MonitorMetrics.help`), then the per-check families,
    /// streamed in parts of about `partBytes` (10,000 checks are 19 MB: rendering overlaps the
    /// sending, and no scrape holds the whole text).
    func addMetricsRoutes(to router: Router<BasicRequestContext>) {
        let registry = sources.registry
        let beforeScrape = sources.beforeScrape
        let checkMetrics = sources.checkMetrics
        router.get("metrics") { _, _ -> Response in
            beforeScrape()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 * 1024)
            registry.emit(into: &buffer)
            let head = ByteBuffer(bytes: MetricsExposition.addingHelp(to: buffer, help: MonitorMetrics.help))
            let parts = checkMetrics?.exposition()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    try await writer.write(head)
                    if var parts {
                        var chunk: [UInt8] = []
                        chunk.reserveCapacity(MetricsExposition.partBytes + 256 * 1024)
                        while parts.next(into: &chunk) {
                            guard chunk.count >= MetricsExposition.partBytes else { continue }
                            try await writer.write(ByteBuffer(bytes: chunk))
                            chunk.removeAll(keepingCapacity: true)
                            // One part at a time on its way, not as many as are made meanwhile.
                            try await BodyPacing.waitForTheWrites()
                        }
                        if !chunk.isEmpty { try await writer.write(ByteBuffer(bytes: chunk)) }
                    }
                    try await writer.finish(nil)
                })
        }
    }
}

/// Edits of the Prometheus text exposition.
enum MetricsExposition {
    /// Bytes per part of a streamed `/metrics` body.
    static let partBytes = 128 * 1024

    /// `text` with `# HELP NAME TEXT` inserted before each `# TYPE NAME …` line whose name has a
    /// help text (escaped as the format requires: backslash and newline).
    static func addingHelp(to text: [UInt8], help: [String: String]) -> [UInt8] {
        let marker = Array("# TYPE ".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.count + help.count * 96)
        var lineStart = 0
        while lineStart < text.count {
            var lineEnd = lineStart
            while lineEnd < text.count && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if lineEnd - lineStart > marker.count && text[lineStart] == UInt8(ascii: "#") && Array(text[lineStart..<lineStart + marker.count]) == marker {
                var nameEnd = lineStart + marker.count
                while nameEnd < lineEnd && text[nameEnd] != UInt8(ascii: " ") { nameEnd += 1 }
                let name = String(decoding: text[(lineStart + marker.count)..<nameEnd], as: UTF8.self)
                if let line = help[name] {
                    let escaped = line.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
                    out.append(contentsOf: Array("# HELP \(name) \(escaped)\n".utf8))
                }
            }
            out.append(contentsOf: text[lineStart..<min(lineEnd + 1, text.count)])
            lineStart = lineEnd + 1
        }
        return out
    }
}
