import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Monitor
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The monitor's HTTP face (Hummingbird): the status page `/`, the JSON API under `/api/v1`,
/// badges, Prometheus `/metrics`, and `/healthz` and `/readyz`. A `Service` in the monitor's one
/// `ServiceGroup`.
///
/// A face that cannot listen (the port is taken) logs why and stays down: the checks and
/// notifiers go on.
public final class HTTPFace: Service, Sendable {
    /// What the routes read.
    public struct Sources: Sendable {
        /// Current state per check and the history.
        public var status: StatusProvider
        /// The Prometheus registry the monitor's metrics go to (the executable bootstraps
        /// swift-metrics with it).
        public var registry: PrometheusCollectorRegistry
        /// Liveness: whether the scheduler makes progress, and what it last did (as
        /// `healthmonitor health` reads from the heartbeat).
        public var liveness: @Sendable () -> (alive: Bool, detail: String)
        /// Readiness: the config is loaded and the notifiers are started.
        public var readiness: @Sendable () -> Bool
        /// Called before each `/metrics` rendering (samples the notifiers' and the process's figures).
        public var beforeScrape: @Sendable () -> Void = {}
        /// Families written outside the registry (the per-check table), streamed after the
        /// registry's in `/metrics`; `nil`: none.
        public var checkMetrics: CheckMetricsTable?

        public init(
            status: StatusProvider, registry: PrometheusCollectorRegistry, liveness: @escaping @Sendable () -> (alive: Bool, detail: String),
            readiness: @escaping @Sendable () -> Bool
        ) {
            self.status = status
            self.registry = registry
            self.liveness = liveness
            self.readiness = readiness
        }
    }

    /// A setting that cannot be used (a token file that cannot be read, a certificate that
    /// does not load).
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    public let settings: HTTPSettings
    public let sources: Sources
    let token: String?
    let tls: TLSConfiguration?
    let logger: Logger

    /// Reads the TLS files now, so a bad one is a start-up error naming the file.
    public init(settings: HTTPSettings, sources: Sources, logger: Logger) throws(SetupError) {
        self.settings = settings
        self.sources = sources
        self.logger = logger
        token = settings.token
        if let certFile = settings.certFile, let keyFile = settings.keyFile {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certFile)
                let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
                tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            } catch {
                throw SetupError(description: "settings.http: cannot load cert_file \(certFile) with key_file \(keyFile): \(error)")
            }
        } else {
            tls = nil
        }
    }

    /// The routes, for `run` and for tests that call them without a socket.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: BearerTokenMiddleware(token: token, open: ["/healthz"]))
        addHealthRoutes(to: router)
        addMetricsRoutes(to: router)
        addStatusPageRoutes(to: router)
        addAPIRoutes(to: router)
        addBadgeRoutes(to: router)
        return router
    }

    public func run() async throws {
        guard let listen = settings.listen else { return }
        await sources.status.seedFromHistory()
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        do {
            let builder: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
            try await serve(with: builder, on: listen, logger: quiet)
        } catch is CancellationError {
            return
        } catch {
            logger.error(
                "HTTP face not serving; checks and notifiers go on",
                metadata: ["listen": "\(listen.host):\(listen.port)", "error": "\(error)"])
            // Stay in the group until it stops: a service that returns would end the monitor.
            try? await gracefulShutdown()
        }
    }

    /// Serves the routes on Hummingbird's server, without `Application.run`: that one also runs
    /// a task that formats the `Date` header every second, which woke the cooperative threads of
    /// an idle monitor three times a second (0.29 of its 1.05 ms of CPU a second). Here the
    /// header is formatted when a response needs it, at most once a second.
    private func serve(with builder: HTTPServerBuilder, on listen: (host: String, port: Int), logger: Logger) async throws {
        let responder = router().buildResponder()
        let date = DateHeader()
        let server = try builder.buildServer(
            configuration: ServerConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "healthmonitor"),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger
        ) { request, writer, channel in
            let context = BasicRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                logger.debug("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = date.now()
            response.headers[.server] = "healthmonitor"
            // A streamed body waits for the connection's event loop between parts (`BodyPacing`).
            let (body, eventLoop) = (response.body, channel.eventLoop)
            let paced = ResponseBody(contentLength: body.contentLength) { bodyWriter in
                try await BodyPacing.$eventLoop.withValue(eventLoop) { try await body.write(bodyWriter) }
            }
            try await writer.write(response: response.head, body: paced)
        }
        try await server.run()
    }
}

/// Keeps a streamed response body from running ahead of its connection.
///
/// A part written to the body is handed to the connection's event loop and the writer returns
/// at once; only when the loop has written it, and the socket is full, does the next write
/// wait. So a body made faster than the loop gets to write it piled up in memory: a `/metrics`
/// scrape of 10,000 checks (21 MB in parts of 128 KB) held up to 3.3 MB of parts at once
/// (`strace` of their `mmap`s), and that scrape set the monitor's peak RSS. After each part
/// the writer now waits until the loop has run what was handed to it before, so one part at a
/// time is on its way.
enum BodyPacing {
    /// The event loop of the connection whose response is being written (set by `serve`);
    /// `nil` outside a connection (the routes called by tests): no waiting.
    @TaskLocal static var eventLoop: (any EventLoop)?

    /// Waits until the connection's event loop has run everything handed to it so far (the
    /// parts written before): its tasks run in the order they were handed over.
    static func waitForTheWrites() async throws {
        guard let eventLoop else { return }
        try await eventLoop.submit {}.get()
    }
}

/// The `Date` header's text for now (RFC 9110), formatted again only when the second changed.
final class DateHeader: Sendable {
    private let cached = Locked<(second: Int64, text: String)>((-1, ""))

    func now(millis: Int64 = Int64(WallClock.nowMillis())) -> String {
        let second = millis / 1000
        return cached.withLock { cache in
            if cache.second != second { cache = (second, WallClock.internetDate(millis: second * 1000)) }
            return cache.text
        }
    }
}

/// Requires `Authorization: Bearer TOKEN` on every path but `open` ones, when a token is set.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let open: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !open.contains(request.uri.path) else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        // Constant time in the token's length: no early exit on the first differing byte.
        let expected = Array("Bearer \(token)".utf8)
        let actual = Array(given.utf8)
        var difference = expected.count ^ actual.count
        for i in expected.indices { difference |= Int(expected[i] ^ (i < actual.count ? actual[i] : 0)) }
        guard difference == 0 else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"healthmonitor\"", .contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "a bearer token is required (settings.http.token_file)\n")))
        }
        return try await next(request, context)
    }
}

extension Response {
    /// A response with `text` as its body.
    static func text(_ text: String, contentType: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        fields[.cacheControl] = fields[.cacheControl] ?? "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
