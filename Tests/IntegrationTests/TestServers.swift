import Testing

/// The real servers the integration tests use, from the environment that `scripts/env.sh`
/// exports (defaults match `scripts/services.sh` and `docker-compose.yml`).
///
/// Inside the project scripts (`make test`, CI) `HM_SERVICES=1` is set: every test runs, and a
/// missing server variable is a failure. Outside them, a test whose server is not configured is
/// *skipped* by the runner (`.enabled(if:)`, shown as skipped with the reason), never passed.
enum TestServers {
    /// A server started by `scripts/services.sh`, named by the variable that says where it is.
    enum Server: String, CaseIterable {
        case rabbitmq = "HM_RABBITMQ_URI"
        case mongo = "HM_MONGO_URI"
        case influxdb = "HM_INFLUXDB_URL"
        case smtp = "HM_SMTP_HOST"
        /// The services script itself (tests that stop and restart servers).
        case script = "HM_SERVICES_SCRIPT"
        /// A Python with pika, for the event-sink consumer of `docker/event-sink`.
        case eventSink = "HM_EVENT_SINK_PYTHON"
    }

    /// Whether the run is inside the project scripts, where nothing may skip.
    static var required: Bool { Environment.get("HM_SERVICES") == "1" }

    /// Whether tests needing `servers` run: always inside the project scripts, elsewhere only
    /// when each server's variable is set.
    static func configured(_ servers: [Server]) -> Bool {
        required || servers.allSatisfy { !(Environment.get($0.rawValue) ?? "").isEmpty }
    }

    /// The value of `name`. Inside the project scripts (or when the suite's `.needs` trait let
    /// the test run) a missing value is a failure, thrown so the test stops there.
    static func value(_ name: String) throws -> String {
        if let value = Environment.get(name), !value.isEmpty { return value }
        throw MissingServer(name: name, required: required)
    }

    struct MissingServer: Error, CustomStringConvertible {
        var name: String
        var required: Bool
        var description: String {
            required
                ? "\(name) is not set although HM_SERVICES=1; source scripts/env.sh"
                : "\(name) is not set; run `make test`, or `scripts/services.sh start && source scripts/env.sh`"
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only when `servers` are configured (always under `make test`);
    /// otherwise the runner reports it as skipped, saying how to start them.
    static func needs(_ servers: TestServers.Server...) -> Self {
        let names = servers.map { String(describing: $0) }.joined(separator: ", ")
        return .enabled(
            if: TestServers.configured(servers),
            "needs \(names): run `make test`, or `scripts/services.sh start && source scripts/env.sh`")
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
