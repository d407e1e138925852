import Logging
import Monitor
import ServiceLifecycle

/// Pages out the executable's startup-only code (`MemoryTuning.releaseStartupCode`) a second
/// after the services started, then ends (run with `successTerminationBehavior: .ignore`).
///
/// Not only at once (`Run` pages out the config's code before the services start, too):
/// starting the services (the HTTP face, the history, the first run of every check) touches
/// code of its own, and a page-out before it gave back 2 MB where one a second later gives back
/// 10 MB (10,000 hostport checks: peak RSS 63.6 → 56 MB; both: 53.3–53.9 MB). Not later: by
/// then the checks' own memory has grown and the peak is already reached.
struct StartupCodeRelease: Service {
    var delay: Duration = .seconds(1)
    let logger: Logger

    func run() async throws {
        // Stopping within the second: nothing to give back (and no error for the group).
        do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) } } catch { return }
        Self.release(after: "services", logger: logger)
    }

    /// Pages out the startup code and logs (debug) what of the executable was resident before
    /// and after: `startup code paged out phase=services resident_kb_before=9816 resident_kb_after=1204`.
    /// Measured only when the log shows debug.
    static func release(after phase: String, logger: Logger) {
        guard logger.logLevel <= .debug else {
            MemoryTuning.releaseStartupCode()
            return
        }
        let (advised, resident) = MemoryTuning.releaseStartupCode(measuring: true)
        logger.debug(
            "startup code paged out",
            metadata: [
                "phase": "\(phase)", "advised_bytes": "\(advised)",
                "resident_kb_before": "\(resident?.before ?? 0)", "resident_kb_after": "\(resident?.after ?? 0)",
            ])
    }

    /// As a service of the group that may end first.
    var configuration: ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: self, successTerminationBehavior: .ignore)
    }
}
