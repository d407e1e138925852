import Hummingbird

extension HTTPFace {
    /// `/`: the status page.
    func addStatusPageRoutes(to router: Router<BasicRequestContext>) {
    }
}
