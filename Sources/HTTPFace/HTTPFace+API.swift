import Hummingbird

extension HTTPFace {
    /// `/api/v1/…`: the JSON API.
    func addAPIRoutes(to router: Router<BasicRequestContext>) {
    }
}
