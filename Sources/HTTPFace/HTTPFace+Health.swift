import Hummingbird

extension HTTPFace {
    /// `/healthz` (liveness: the scheduler makes progress; open even with a token) and
    /// `/readyz` (the config is loaded and the notifiers are started).
    func addHealthRoutes(to router: Router<BasicRequestContext>) {
        let sources = self.sources
        router.get("healthz") { _, _ -> Response in
            let (alive, detail) = sources.liveness()
            return .text(detail + "\n", contentType: "text/plain; charset=utf-8", status: alive ? .ok : .serviceUnavailable)
        }
        router.get("readyz") { _, _ -> Response in
            let ready = sources.readiness()
            return .text(ready ? "ready\n" : "starting\n", contentType: "text/plain; charset=utf-8", status: ready ? .ok : .serviceUnavailable)
        }
    }
}
