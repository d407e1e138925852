import Testing

/// The real servers the integration tests use, from the environment that `scripts/env.sh`
/// exports (defaults match `scripts/services.sh` and `docker-compose.yml`).
///
/// Inside the project scripts (`make test`, CI) `HM_SERVICES=1` is set and every server must be
/// up; outside them a test whose server is not configured is skipped with a message saying how
/// to start it.
enum TestServers {
    /// Whether the run is inside the project scripts, where nothing may skip.
    static var required: Bool { Environment.get("HM_SERVICES") == "1" }

    /// The value of `name`, or `nil` (the test should return early) after recording why.
    /// Inside the project scripts a missing value is a test failure, never a skip.
    static func value(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        if let value = Environment.get(name), !value.isEmpty { return value }
        if required {
            Issue.record("\(name) is not set although HM_SERVICES=1; source scripts/env.sh", sourceLocation: sourceLocation)
        } else {
            print("skipped: \(name) not set; run `make test`, or `scripts/services.sh start && source scripts/env.sh`")
        }
        return nil
    }

    /// Whether tests needing servers can run at all (skips with a message when they cannot).
    static var available: Bool {
        if required { return true }
        if Environment.get("HM_SERVICES_DIR") == nil {
            print("skipped: integration servers not started; run `make test`, or `scripts/services.sh start && source scripts/env.sh`")
            return false
        }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum Environment {
    static func get(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }
}
