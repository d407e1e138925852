import Hummingbird
import Monitor
import Report

extension HTTPFace {
    /// The JSON API (docs/openapi.yaml):
    /// - `GET /api/v1/checks`: every check's current state and uptimes;
    /// - `GET /api/v1/checks/{type}/{label}/history?since=&until=`: the report's numbers for one
    ///   check and its raw results from the local history;
    /// - `GET /api/v1/report?since=&until=&check=`: what `healthmonitor report --format json` prints.
    func addAPIRoutes(to router: Router<BasicRequestContext>) {
        let status = sources.status
        let api = router.group("api/v1")
        api.get("checks") { _, _ -> Response in
            let uptimes = (try? await status.uptimes()) ?? [:]
            let checks: [JSONValue] = status.live.snapshot().map { state in
                var windows: [String: JSONValue] = [:]
                for window in UptimeWindow.allCases {
                    windows[window.rawValue] = (uptimes[state.key]?[window.rawValue] ?? nil).map { .double(Self.rounded($0)) } ?? .null
                }
                return [
                    "check": .string(state.check), "label": .string(state.label), "key": .string(state.key),
                    "status": state.status.map { .string($0.rawValue) } ?? .null,
                    "since": state.sinceMillis.map { .string(WallClock.iso8601(millis: $0)) } ?? .null,
                    "last": state.lastMillis.map { .string(WallClock.iso8601(millis: $0)) } ?? .null,
                    "message": .string(state.message),
                    "response_time_ms": state.responseTimeMs.map { .double($0) } ?? .null,
                    "sleep": .double(state.sleep), "results": .int(state.results), "failures": .int(state.failures),
                    "uptime": .object(windows),
                ]
            }
            return Self.json(["history": .bool(status.store != nil), "checks": .array(checks)])
        }
        api.get("checks/:type/:label/history") { request, context -> Response in
            let key = (context.parameters.get("type") ?? "") + "/" + (context.parameters.get("label") ?? "")
            guard status.live.state(key) != nil else { return Self.problem(.notFound, "no check \(key)") }
            let now = Int64(WallClock.nowMillis())
            let window: (since: Int64, until: Int64)
            switch Self.window(request, now: now, defaultSince: "24h") {
            case .success(let w): window = w
            case .failure(let message): return Self.problem(.badRequest, message.description)
            }
            let limit = 10_000
            do {
                guard
                    let (reports, records) = try await status.read({ store -> ([CheckReport], [HistoryRecord]) in
                        let reports = try HistoryReport.build(
                            store: store, keys: [key], since: window.since, until: window.until, now: now,
                            rawSince: now - Int64(status.keepResults * 1000))
                        return (reports, try store.results(key: key, from: window.since, to: window.until))
                    })
                else { return Self.problem(.notFound, "the history is off (settings.history.enabled: false)") }
                guard let report = reports.first else { return Self.problem(.notFound, "no history for \(key)") }
                var value = HistoryReport.jsonValue(report, until: window.until, now: now)
                let kept = records.suffix(limit).map { record -> JSONValue in
                    [
                        "id": .string(record.id), "created": .string(WallClock.iso8601(millis: record.createdMillis)),
                        "status": .string(record.success ? "success" : "failure"),
                        "latency_ms": record.latencyMs.map { .double($0) } ?? .null, "message": .string(record.message),
                    ]
                }
                if case .object(var members) = value {
                    members["since"] = .string(WallClock.iso8601(millis: window.since))
                    members["until"] = .string(WallClock.iso8601(millis: min(window.until, now)))
                    members["raw_results"] = .array(Array(kept))
                    members["raw_results_truncated"] = .bool(records.count > limit)
                    value = .object(members)
                }
                return Self.json(value)
            } catch let unknown as HistoryReport.UnknownCheck {
                return Self.problem(.notFound, unknown.description)
            } catch {
                return Self.problem(.serviceUnavailable, "cannot read the history: \(error)")
            }
        }
        api.get("report") { request, _ -> Response in
            let now = Int64(WallClock.nowMillis())
            let window: (since: Int64, until: Int64)
            switch Self.window(request, now: now, defaultSince: "7d") {
            case .success(let w): window = w
            case .failure(let message): return Self.problem(.badRequest, message.description)
            }
            let keys = request.uri.queryParameters.getAll("check").map { String($0) }
            do {
                guard let reports = try await status.report(keys: keys, since: window.since, until: window.until) else {
                    return Self.problem(.notFound, "the history is off (settings.history.enabled: false)")
                }
                return Self.json(HistoryReport.jsonValue(reports, since: window.since, until: window.until, now: now))
            } catch let unknown as HistoryReport.UnknownCheck {
                return Self.problem(.notFound, unknown.description)
            } catch {
                return Self.problem(.serviceUnavailable, "cannot read the history: \(error)")
            }
        }
    }

    struct WindowError: Error, CustomStringConvertible {
        var description: String
    }

    /// `since` and `until` of the query (durations back from now or ISO-8601 times).
    static func window(_ request: Request, now: Int64, defaultSince: String) -> Result<(since: Int64, until: Int64), WindowError> {
        let query = request.uri.queryParameters
        do {
            let since = try HistoryReport.time(query["since"].map(String.init) ?? defaultSince, now: now)
            let until = try query["until"].map { try HistoryReport.time(String($0), now: now) } ?? now
            guard since < until else { return .failure(WindowError(description: "since must be before until")) }
            return .success((since, until))
        } catch {
            return .failure(WindowError(description: "since/until: \(error)"))
        }
    }

    static func rounded(_ value: Double) -> Double { (value * 1_000_000).rounded() / 1_000_000 }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        .text(value.json() + "\n", contentType: "application/json", status: status)
    }

    /// An error as `{"error": "…"}` (what went wrong and what was expected, as the CLI says it).
    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["error": .string(message)], status: status)
    }
}
