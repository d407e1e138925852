#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Wakes a connection's thread waiting in `AMQPConnection.nextEvent(waiting:orWake:)` from any
/// other thread (an eventfd): work for it is ready, so it need not poll on a short timer.
package final class WakeSignal: Sendable {
    let fd: Int32

    package init() {
        fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(fd >= 0, "cannot create an eventfd: \(String(cString: strerror(errno)))")
    }

    deinit { close(fd) }

    /// Wakes the waiting thread (or makes its next wait return at once).
    package func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Clears the signal.
    func drain() {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
    }
}
