#if canImport(Glibc)
import Glibc
#endif

/// Writes whole strings to a file descriptor (the CLI's stdout/stderr output).
struct FileOutput {
    let fd: Int32
    static let standardOutput = FileOutput(fd: STDOUT_FILENO)
    static let standardError = FileOutput(fd: STDERR_FILENO)

    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return
            }
            offset += n
        }
        bytes.removeAll()
    }
}
