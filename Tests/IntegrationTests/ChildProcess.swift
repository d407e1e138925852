#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, its standard output (and error) to a file.
/// Foundation's `Process` is avoided: its exit monitoring hangs in this test runner.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` never changes; `status` is only touched by the thread that waits.
    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    let pid: pid_t
    private var status: Int32?

    /// Starts `executable` with `arguments`; output to `output` (appended), or inherited.
    init(
        _ executable: String, _ arguments: [String], output: String? = nil, errorsToOutput: Bool = false,
        errorOutput: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            if errorsToOutput { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
        }
        if let errorOutput {
            posix_spawn_file_actions_addopen(&actions, 2, errorOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        // The child starts as from a shell: no signal blocked, SIGTERM and SIGINT at their
        // default action. This test process blocks and ignores signals for its own handling, and
        // a spawned child inherits both: a Python child then never sees SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child = pid_t()
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// Waits for the exit; returns the exit status (128 + signal when killed). Blocking.
    @discardableResult
    func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        let code = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        status = code
        return code
    }

    /// Waits for the exit without blocking a thread (polls every 5 ms); returns the exit status.
    func exitStatus() async -> Int32 {
        while true {
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid { return (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F) }
            if rc < 0 && errno != EINTR { return -1 }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Sends `signal` (e.g. `SIGKILL`, `SIGTERM`).
    func signal(_ signal: Int32) {
        kill(pid, signal)
    }
}
