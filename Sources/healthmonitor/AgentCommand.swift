import ArgumentParser
import Cluster
import Foundation
import Logging
import Monitor

/// `healthmonitor agent`: a probe of a distributed monitor. It needs no check config: it runs
/// the checks its location's run requests ask for and publishes the results (see `ClusterAgent`).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run as a probe: run the checks a controller asks of this location, publish the results.",
        discussion: """
            Each option falls back to an environment variable: --location to $AGENT_LOCATION, \
            --cluster-uri to $CLUSTER_URI, --name to $AGENT_NAME.
            """)

    @Option(help: "This agent's location (a-z A-Z 0-9 - _): it consumes healthmonitor.requests.LOCATION.")
    var location: String?

    @Option(name: .customLong("cluster-uri"), help: "The broker: amqp://user:password@host:5672/vhost (or amqps://).")
    var clusterURI: String?

    @Option(help: "The agent's name in results and heartbeats (default: HOST-PID).")
    var name: String?

    @Option(help: "Requests run at once, at most.")
    var prefetch: UInt16 = 64

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func setting(_ value: String?, _ variable: String) -> String? {
            if let value, !value.isEmpty { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        guard let location = setting(location, "AGENT_LOCATION") else {
            throw ValidationError("agent: a location is required: --location NAME or AGENT_LOCATION")
        }
        guard let uri = setting(clusterURI, "CLUSTER_URI") else {
            throw ValidationError("agent: the broker is required: --cluster-uri amqp://… or CLUSTER_URI")
        }
        let agentName = setting(name, "AGENT_NAME") ?? "\(HostName.current)-\(getpid())"
        let logger = CommonOptions.makeLogger(level: logLevel)
        let agent: ClusterAgent
        do {
            agent = try ClusterAgent(
                settings: .init(uri: uri, location: location, name: agentName, prefetch: max(1, prefetch)),
                checks: RequestedChecks(logger: logger), logger: logger)
        } catch {
            FileOutput.standardError.write("error: agent: \(error)\n")
            throw ExitCode(2)
        }
        try await StopControl.run([.init(service: agent), StartupCodeRelease(logger: logger).configuration], shutdownTimeout: 10, logger: logger)
    }
}
