import Cluster
import Logging
import Monitor

/// What `settings.cluster` adds to a monitor, for `run` and `validate` alike: the controller, and
/// one built-in `agents/LOCATION` check (`AgentsCheck`) per location the checks use, with its
/// check type. Without `settings.cluster`: nothing.
struct ClusterWiring {
    let controller: ClusterController?
    let checkKinds: [CheckKind]

    /// Adds the built-in checks to `config` (unless `agentsChecks` is false). A cluster URI that
    /// cannot be used is a config error.
    init(_ config: inout MonitorConfig, agentsChecks: Bool = true, logger: Logger) throws(ConfigError) {
        guard let cluster = config.settings.cluster else {
            controller = nil
            checkKinds = CheckKinds.all
            return
        }
        let controller: ClusterController
        do {
            controller = try ClusterController(settings: cluster, logger: logger)
        } catch {
            throw ConfigError([error])
        }
        if agentsChecks {
            for location in Set(config.checks.filter(\.isRemote).compactMap(\.location)).sorted() {
                config.checks.append(AgentsCheck.config(location: location))
            }
        }
        self.controller = controller
        checkKinds = CheckKinds.all + [AgentsCheck.kind(controller)]
    }

    /// Hands the controller the checks it runs elsewhere and where their late results go.
    func attach(to runtime: Runtime) {
        let router = runtime.router
        controller?.attach(keys: Set(runtime.checks.map(\.config).filter(\.isRemote).map(\.key))) { router.route($0) }
    }
}
