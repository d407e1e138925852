import Logging

extension HTTPClient {
    /// Performs `request`, retrying per `retry`, and returns the 2xx response.
    ///
    /// Retries wait with `Task.sleep` (cancellation ends them). Each retry is logged as a
    /// warning; a final 4xx is logged as an error with the start of the response body, which
    /// usually says what the receiver disliked (`invalid_payload`). Logs and errors name the
    /// method and host only, never the URL or header values.
    ///
    /// - Parameter what: names the receiver in log lines, e.g. `slack webhook`.
    /// - Throws: `HTTPError` with `.status(code)` for an unwanted status, or the transport error of
    ///   the last try.
    public func send(
        _ request: HTTPRequest, retry: HTTPRetryPolicy = HTTPRetryPolicy(), logger: Logger, what: String = "HTTP request"
    ) async throws(HTTPError) -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            let error: HTTPError
            var retryAfter: Double?
            do {
                let response = try await execute(request)
                if response.isSuccess { return response }
                retryAfter = response.retryAfter()
                error = HTTPError(
                    kind: .status(response.status), method: request.method.uppercased(), host: request.host,
                    detail: HTTPError.scrub(Self.excerpt(response.bodyText), url: request.url), partial: response)
            } catch let failure {
                if failure.kind == .cancelled { throw failure }
                error = failure
            }
            switch retry.decision(after: attempt, error: error, retryAfter: retryAfter) {
            case .retry(let delay):
                logger.warning(
                    "\(what) failed, will retry",
                    metadata: [
                        "error": "\(error)", "attempt": "\(attempt)", "max_attempts": "\(retry.maxAttempts)",
                        "retry_in": "\(delay)s",
                    ])
                do {
                    try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                } catch {
                    throw HTTPError(kind: .cancelled, method: request.method.uppercased(), host: request.host, detail: "cancelled while waiting to retry")
                }
            case .giveUp:
                if error.isRetryable {
                    logger.error("\(what) failed", metadata: ["error": "\(error)", "attempts": "\(attempt)"])
                } else {
                    logger.error("\(what) rejected, not retrying", metadata: ["error": "\(error)", "attempts": "\(attempt)"])
                }
                throw error
            }
        }
    }

    /// The first 1000 characters of a body, on one line.
    static func excerpt(_ text: String) -> String {
        let oneLine = String(text.prefix(1000).map { $0.isNewline ? " " : $0 })
        return text.count > 1000 ? oneLine + "…" : oneLine
    }
}
