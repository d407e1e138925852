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
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.durationHistogramBuckets = [
        "healthmonitor_scheduler_lag_seconds": MonitorMetrics.lagBuckets.map { .nanoseconds(Int64(($0 * 1e9).rounded())) },
    ]
    MetricsSystem.bootstrap(factory)
    return registry
}()

/// The HTTP face of `runtime`, or `nil` when `settings.http.listen` is `off`. Its history is a
/// read-only connection of its own to `STATE/history.sqlite`.
func makeHTTPFace(_ runtime: Runtime, logger: Logger) throws(HTTPFace.SetupError) -> HTTPFace? {
    let settings = runtime.settings
    guard settings.http.listen != nil, let live = runtime.router.live else { return nil }
    let path = settings.stateDirectory + "/history.sqlite"
    var store: (any HistoryStore)?
    if settings.history.enabled {
        do {
            store = try SQLiteHistoryStore(path: path, readOnly: true)
        } catch {
            // The recorder created the file before: this is a damaged or foreign file.
            logger.error(
                "the HTTP face cannot read the history: the status page and the API show no uptime or incidents",
                metadata: ["file": "\(path)", "error": "\(error)"])
        }
    }
    let status = StatusProvider(live: live, store: store, keepResults: settings.history.keepResults)
    let stateDirectory = settings.stateDirectory
    let started = runtime.notifiersStarted
    let metrics = runtime.router.metrics
    var sources = HTTPFace.Sources(
        status: status, registry: metricsRegistry,
        liveness: {
            let check = Heartbeat.check(stateDirectory: stateDirectory, maxAge: 60)
            return (check.healthy, check.summary)
        }, readiness: { started.isSet })
    sources.beforeScrape = { metrics?.sample() }
    sources.checkMetrics = metrics?.checks
    return try HTTPFace(settings: settings.http, sources: sources, logger: logger)
}
