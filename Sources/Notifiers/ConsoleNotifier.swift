#if canImport(Glibc)
import Glibc
#endif
import Monitor

/// `console`: one readable line per result on standard output (time, status, check/label,
/// message, measurements), coloured only on a terminal; or, with `format: json`, the whole
/// result as one JSON object per line.
public final class ConsoleNotifier: Notifier {
    /// The options of `console`.
    public static let kind = NotifierKind(
        name: "console",
        options: [
            OptionSpec("format", .choice(["text", "json"]), default: "text", help: "text lines, or one JSON object per line"),
            OptionSpec("color", .choice(["auto", "always", "never"]), default: "auto", help: "colour the status (auto: only on a terminal)"),
        ],
        make: { context in
            let color: Bool
            switch context.options.string("color") {
            case "always": color = true
            case "never": color = false
            default: color = isatty(STDOUT_FILENO) == 1
            }
            return ConsoleNotifier(json: context.options.string("format") == "json", color: color, fd: STDOUT_FILENO)
        })

    public let json: Bool
    public let color: Bool
    private let fd: Int32
    // Writes to a terminal or pipe can block; they happen on this thread, never on the pool.
    private let writer = DedicatedThread(name: "console")

    public init(json: Bool, color: Bool, fd: Int32) {
        self.json = json
        self.color = color
        self.fd = fd
    }

    public func send(_ batch: [Delivery]) async throws {
        var text = ""
        for delivery in batch {
            text += json ? delivery.result.json() : Self.line(for: delivery, color: color)
            text += "\n"
        }
        let fd = self.fd
        let output = text
        try await writer.run { try FileSystem.writeAll(output, to: fd, path: "standard output") }
    }

    /// Waits for the lines still queued; once the shutdown deadline has passed, for one second
    /// more at most (a terminal or pipe nobody reads blocks its writes).
    public func shutdown() async {
        await writer.finish(abandonAfter: 1)
    }

    /// One text line: `2026-11-25T13:05:09.042Z FAIL ping/clowder 0/5 packets  loss=100 sent=5`.
    /// What a check reported (a server's error body, a measured string) is escaped
    /// (`escapingUnprintable`): it stays on its line and cannot drive the terminal.
    public static func line(for delivery: Delivery, color: Bool) -> String {
        let r = delivery.result
        let word = r.status == .success ? "OK  " : "FAIL"
        let status = color ? (r.status == .success ? "\u{1B}[32m\(word)\u{1B}[0m" : "\u{1B}[1;31m\(word)\u{1B}[0m") : word
        var line = "\(r.created) \(status) \(r.key.escapingUnprintable) \(r.message.escapingUnprintable)"
        if !r.measurement.isEmpty {
            line += "  " + r.measurement.keys.sorted().map { "\($0)=\(r.measurement[$0]!.displayText)".escapingUnprintable }.joined(separator: " ")
        }
        switch delivery.reason {
        case .reminder: line += "  (still failing)"
        case .recovery: line += "  (recovered)"
        default: break
        }
        return line
    }
}
