/// The stream under swift-log's `StreamLogHandler` that keeps one log record on one line.
///
/// The handler writes each record as one string ending in a newline; everything before that
/// newline (message, metadata, label) is written with unprintable characters escaped
/// (`escapingUnprintable`), so a check's message that holds a server's `\r\n` cannot forge a log
/// line of its own. Escaping the whole record here, rather than each value at each call site,
/// also covers metadata set on a logger and error descriptions nobody thought of.
///
/// ```swift
/// StreamLogHandler(label: label, stream: LogLineStream(FileOutput.standardError))
/// ```
public struct LogLineStream<Output: TextOutputStream & Sendable>: TextOutputStream, Sendable {
    private var output: Output

    public init(_ output: Output) {
        self.output = output
    }

    public mutating func write(_ string: String) {
        var record = Substring(string)
        let ended = record.unicodeScalars.last == "\n"
        if ended { record.unicodeScalars.removeLast() }
        output.write(String(record).escapingUnprintable + (ended ? "\n" : ""))
    }
}
