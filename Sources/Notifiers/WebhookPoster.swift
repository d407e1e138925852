import Logging
import Monitor

/// Posts JSON messages to one webhook (Slack, Teams) through the shared HTTP client, with
/// retries, and remembers which results already went out, so a batch the delivery loop retries
/// after a partial failure does not post its first messages twice.
///
/// The webhook URL is a secret: it is never logged, and errors name its host only.
final class WebhookPoster: Sendable {
    /// One message and the ids of the results it carries.
    struct Message: Sendable {
        var resultIDs: [String]
        var json: String
    }

    let url: String
    let what: String
    let timeout: Double
    let retry: HTTPRetryPolicy
    let logger: Logger
    private let client: HTTPClient
    /// The batch being posted (its result ids, in order) and the ids of those already posted.
    /// Only the batch of the latest call is remembered: a batch the delivery loop gave up on is
    /// forgotten when the next one comes, so memory stays bounded by one batch.
    private let posted = Locked<(batch: [String], ids: Set<String>)>(([], []))

    init(url: String, what: String, timeout: Double, retry: HTTPRetryPolicy, logger: Logger, client: HTTPClient = .shared) {
        self.url = url
        self.what = what
        self.timeout = timeout
        self.retry = retry
        self.logger = logger
        self.client = client
    }

    /// Posts `messages` in order, skipping those whose results were posted by an earlier try of
    /// the same batch. Throws the first failure (permanent for a 4xx other than 429).
    func post(_ messages: [Message]) async throws(HTTPError) {
        let batch = messages.flatMap(\.resultIDs)
        posted.withLock { if $0.batch != batch { $0 = (batch, []) } }
        for message in messages {
            if posted.withLock({ state in message.resultIDs.allSatisfy(state.ids.contains) }) { continue }
            let request = HTTPRequest.postJSON(message.json, to: url, timeout: timeout)
            _ = try await client.send(request, retry: retry, logger: logger, what: what)
            posted.withLock { $0.ids.formUnion(message.resultIDs) }
        }
        // The whole batch is out: the delivery loop will not retry it.
        posted.withLock { $0 = ([], []) }
    }

    /// Result ids remembered as posted (for tests: at most one batch's worth).
    var rememberedCount: Int { posted.withLock { $0.ids.count } }

    /// The `webhook` option, checked to be an http(s) URL without echoing it (it is a secret).
    static func webhookURL(from options: Options) throws(ConfigDiagnostic) -> String {
        let webhook = options.string("webhook") ?? ""
        guard isWebURL(webhook) else {
            throw options.problem("webhook", "expected an https:// webhook URL (value not shown: it is a secret)")
        }
        return webhook
    }

    /// Whether `url` is an http(s) URL with a host; used to validate `webhook` without echoing it.
    static func isWebURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        return (lower.hasPrefix("https://") || lower.hasPrefix("http://")) && HTTPRequest.host(of: url) != "?"
    }
}
