import Monitor

#if canImport(Glibc)
import Glibc
#endif

/// Writes whole strings to the CLI's standard output or standard error (one `write` each, so
/// log records from several threads do not interleave).
struct FileOutput: TextOutputStream, Sendable {
    let fd: Int32
    let name: String
    static let standardOutput = FileOutput(fd: STDOUT_FILENO, name: "standard output")
    static let standardError = FileOutput(fd: STDERR_FILENO, name: "standard error")

    /// Writes `text`; a closed stream is ignored (nothing useful can be reported on it).
    func write(_ text: String) {
        try? FileSystem.writeAll(text, to: fd, path: name)
    }
}
