import Hummingbird
import Monitor

extension HTTPFace {
    /// `/metrics`: the Prometheus text exposition of the registry, with a `# HELP` line before
    /// each family's `# TYPE` line (from `MonitorMetrics.help`).
    func addMetricsRoutes(to router: Router<BasicRequestContext>) {
        let registry = sources.registry
        let beforeScrape = sources.beforeScrape
        let appendExposition = sources.appendExposition
        router.get("metrics") { _, _ -> Response in
            beforeScrape()
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 * 1024)
            registry.emit(into: &buffer)
            var body = MetricsExposition.addingHelp(to: buffer, help: MonitorMetrics.help)
            appendExposition(&body)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}

/// Edits of the Prometheus text exposition.
enum MetricsExposition {
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
