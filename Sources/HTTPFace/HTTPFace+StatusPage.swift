import Hummingbird
import Monitor

extension HTTPFace {
    /// `/`: the status page (`StatusPage`): HTML without script, reloading itself every 30 s.
    func addStatusPageRoutes(to router: Router<BasicRequestContext>) {
        let status = sources.status
        let cache = StatusPageCache()
        router.get("/") { _, _ -> Response in
            let page = await status.statusPage(now: Int64(WallClock.nowMillis()), cache: cache)
            return .text(page.html(), contentType: "text/html; charset=utf-8")
        }
    }
}
