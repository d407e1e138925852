/// The program's one HTTP client: libcurl's multi interface on one dedicated thread, awaited
/// from Swift without blocking the cooperative pool. Used by the `download` check and by every
/// HTTP notifier (Slack, Teams, InfluxDB).
///
/// ```swift
/// let response = try await HTTPClient.shared.execute(.postJSON(#"{"text":"hi"}"#, to: webhook))
/// print(response.status, response.timings.totalMs)
/// ```
///
/// `execute` returns any complete response, whatever its status; it throws `HTTPError` when no
/// response could be had (DNS, connect, TLS, time-out) or the awaiting task was cancelled, which
/// removes the transfer at once. For webhooks use `send(_:retry:logger:)`, which retries what is
/// worth retrying.
public final class HTTPClient: Sendable {
    /// The client shared by the whole program (one thread, one connection pool).
    public static let shared = HTTPClient(name: "http")

    private let loop: CurlMultiLoop

    /// A client with its own thread and connection pool; `shared` is what the program uses.
    public init(name: String) {
        loop = CurlMultiLoop(name: name)
    }

    /// Performs `request` and returns the response (any status).
    ///
    /// - Throws: `HTTPError` when no complete response arrived; its `partial` holds what did
    ///   (bytes, timings, status). `maxBytes` reached is not an error.
    public func execute(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let transfer = CurlTransfer(request: request)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                submit(transfer) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return try result.get()
    }

    /// Starts `request` without a task: `completion` is called once, on the client's thread,
    /// with the response or the error `execute` would throw (by the request's `timeout`, or at
    /// `shutdown()`). It must not block: every other transfer waits for it.
    public func start(_ request: HTTPRequest, completion: @escaping @Sendable (Result<HTTPResponse, HTTPError>) -> Void) {
        submit(CurlTransfer(request: request), completion: completion)
    }

    /// Hands `transfer` to the loop, which calls `completion` once when it ends.
    private func submit(_ transfer: CurlTransfer, completion: @escaping CurlTransfer.Completion) {
        // Written before `submit` publishes the transfer through the loop's mutex.
        transfer.completion = completion
        loop.submit(transfer)
    }

    /// Cancels every transfer in flight and ends the client's thread; later requests fail with
    /// `.cancelled`.
    public func shutdown() {
        loop.stop()
    }

    deinit {
        // No request can be in flight (each `execute` keeps the client alive): end the thread.
        loop.stop()
    }
}
