import Foundation
import Hummingbird
import Monitor

extension HTTPFace {
    /// `/badge/{type}/{label}/uptime.svg?window=7d` (24h, 7d, 30d or 90d; 7d when not given) and
    /// `/badge/{type}/{label}/latency.svg` (p95 over 24 h): `Badge` SVGs for a README, cached
    /// for a minute. An unknown check is a 404 and a bad window a 400, each with a line saying why.
    func addBadgeRoutes(to router: Router<BasicRequestContext>) {
        let status = sources.status
        router.get("badge/{type}/{label}/uptime.svg") { request, context -> Response in
            let key: String
            switch Self.checkKey(context, live: status.live) {
            case .success(let found): key = found
            case .failure(let notFound): return notFound.response
            }
            let window: UptimeWindow
            do throws(UptimeWindow.ParseError) {
                window = try UptimeWindow(query: request.uri.queryParameters["window"].map(String.init))
            } catch {
                return .text(error.description + "\n", contentType: "text/plain; charset=utf-8", status: .badRequest)
            }
            return Self.svg(await status.uptimeBadge(key: key, window: window, now: Int64(WallClock.nowMillis())))
        }
        router.get("badge/{type}/{label}/latency.svg") { _, context -> Response in
            switch Self.checkKey(context, live: status.live) {
            case .success(let key): return Self.svg(await status.latencyBadge(key: key, now: Int64(WallClock.nowMillis())))
            case .failure(let notFound): return notFound.response
            }
        }
    }

    /// A path's check that is not configured.
    struct UnknownCheck: Error {
        var response: Response
    }

    /// The `check/label` key the path names (its segments percent-decoded), when the check is configured.
    static func checkKey(_ context: BasicRequestContext, live: LiveStatus) -> Result<String, UnknownCheck> {
        let raw = ["type", "label"].map { context.parameters.get($0) ?? "" }
        let key = raw.map { $0.removingPercentEncoding ?? $0 }.joined(separator: "/")
        guard live.state(key) == nil else { return .success(key) }
        let known = live.snapshot().map(\.key)
        let text = "no check \(key)" + (known.isEmpty ? " (none is configured)" : "; checks: " + known.joined(separator: ", "))
        return .failure(UnknownCheck(response: .text(text + "\n", contentType: "text/plain; charset=utf-8", status: .notFound)))
    }

    /// A badge response: SVG, cacheable for a minute (a README image is fetched through caching
    /// proxies such as GitHub's camo; a minute keeps it current without a request per view).
    static func svg(_ badge: Badge) -> Response {
        .text(badge.svg(), contentType: "image/svg+xml", headers: [.cacheControl: "max-age=60"])
    }
}
