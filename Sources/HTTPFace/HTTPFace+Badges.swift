import Hummingbird

extension HTTPFace {
    /// `/badge/{type}/{label}/uptime.svg` and `latency.svg`.
    func addBadgeRoutes(to router: Router<BasicRequestContext>) {
    }
}
