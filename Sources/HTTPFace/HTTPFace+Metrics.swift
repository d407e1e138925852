import Hummingbird

extension HTTPFace {
    /// `/metrics`: the Prometheus text exposition of the registry.
    func addMetricsRoutes(to router: Router<BasicRequestContext>) {
        let registry = sources.registry
        router.get("metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
