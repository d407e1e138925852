import HTTPFace
import HistorySQLite
import Logging
import Metrics
import Monitor
import Prometheus

/// The process's Prometheus registry: swift-metrics is bootstrapped with it once, before any
/// metric is made, and `/metrics` renders it.
let metricsRegistry: PrometheusCollectorRegistry = {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}()

/// The HTTP face of `runtime`, or `nil` when `settings.http.listen` is `off`. Its history is a
/// read-only connection of its own to `STATE/history.sqlite`.
func makeHTTPFace(_ runtime: Runtime, logger: Logger) throws(HTTPFace.SetupError) -> HTTPFace? {
    let settings = runtime.config.settings
    guard settings.http.listen != nil, let live = runtime.router.live else { return nil }
    let path = settings.stateDirectory + "/history.sqlite"
    let store: (any HistoryStore)? =
        settings.history.enabled ? (try? SQLiteHistoryStore(path: path, readOnly: true)) : nil
    let status = StatusProvider(live: live, store: store, keepResults: settings.history.keepResults)
    let stateDirectory = settings.stateDirectory
    let started = runtime.notifiersStarted
    return try HTTPFace(
        settings: settings.http,
        sources: .init(
            status: status, registry: metricsRegistry,
            liveness: {
                let check = Heartbeat.check(stateDirectory: stateDirectory, maxAge: 60)
                return (check.healthy, check.summary)
            }, readiness: { started.isSet }),
        logger: logger)
}
