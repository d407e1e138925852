import Logging
import Monitor

/// `slack`: posts results to a Slack incoming webhook, one attachment per result, coloured by
/// status (`good` green for success, `danger` red for failure): the result message as the
/// pretext, check / label / status and the masked config as a code block, the configured
/// `tags` as fields — the original's message, without its secrets.
///
/// A batch becomes one message per 20 results (Slack's advice for attachments per message).
public final class SlackNotifier: Notifier {
    /// The options of `slack`.
    public static let kind = NotifierKind(
        name: "slack",
        options: [
            OptionSpec("webhook", .string, required: true, help: "incoming-webhook URL (a secret: never logged)"),
            OptionSpec("channel", .string, help: "channel to post to, e.g. #ops (legacy webhooks only)"),
            OptionSpec("user", .string, help: "user name to post as (legacy webhooks only)"),
            OptionSpec("tags", .stringMap, help: "name/value pairs shown as fields on every message"),
            OptionSpec("timeout", .duration(minimum: 0.1), default: 10, help: "seconds one POST may take"),
        ],
        make: { context in try SlackNotifier(context: context) })

    /// Results per message.
    static let attachmentsPerMessage = 20

    public let channel: String?
    public let user: String?
    public let tags: [(name: String, value: String)]
    let poster: WebhookPoster

    public init(
        webhook: String, channel: String? = nil, user: String? = nil, tags: [String: String] = [:], timeout: Double = 10,
        retry: HTTPRetryPolicy = HTTPRetryPolicy(maxAttempts: 3, initialDelay: 1, maxDelay: 30), logger: Logger,
        client: HTTPClient = .shared
    ) {
        self.channel = channel
        self.user = user
        self.tags = tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        poster = WebhookPoster(url: webhook, what: "slack webhook", timeout: timeout, retry: retry, logger: logger, client: client)
    }

    convenience init(context: NotifierContext) throws(ConfigDiagnostic) {
        let o = context.options
        let webhook = try WebhookPoster.webhookURL(from: o)
        self.init(
            webhook: webhook, channel: o.string("channel"), user: o.string("user"), tags: o.stringMap("tags") ?? [:],
            timeout: o.double("timeout") ?? 10, logger: context.logger)
    }

    public func send(_ batch: [Delivery]) async throws {
        var messages: [WebhookPoster.Message] = []
        var start = 0
        while start < batch.count {
            let chunk = Array(batch[start..<min(batch.count, start + Self.attachmentsPerMessage)])
            messages.append(.init(resultIDs: chunk.map(\.result.id), json: payload(chunk).json()))
            start += Self.attachmentsPerMessage
        }
        try await poster.post(messages)
    }

    /// The webhook body for `deliveries`: `{"channel":…,"username":…,"attachments":[…]}`
    /// (`channel` and `username` only when configured).
    public func payload(_ deliveries: [Delivery]) -> JSONValue {
        var body: [String: JSONValue] = ["attachments": .array(deliveries.map(attachment))]
        if let channel { body["channel"] = .string(channel) }
        if let user { body["username"] = .string(user) }
        return .object(body)
    }

    /// One result's attachment.
    public func attachment(_ delivery: Delivery) -> JSONValue {
        let r = delivery.result
        var pretext = r.message.isEmpty ? "\(r.status.rawValue) from \(r.check)-\(r.label)" : r.message
        switch delivery.reason {
        case .reminder: pretext += " (still failing)"
        case .recovery: pretext += " (recovered)"
        default: break
        }
        return .object([
            "fallback": .string(Self.escaped(Self.block(r, tags: tags))),
            "pretext": .string(Self.escaped(pretext)),
            "color": .string(r.status == .success ? "good" : "danger"),
            "text": .string(Self.escaped(Self.block(r, tags: []))),
            "fields": .array(tags.map { .object(["title": .string(Self.escaped($0.name)), "value": .string(Self.escaped($0.value)), "short": false]) }),
            "ts": .int(Int(r.createdMillis / 1000)),
        ])
    }

    /// `&`, `<` and `>` as Slack's message formatting requires (`&amp;`, `&lt;`, `&gt;`): a check
    /// message holding `<!channel>` or `<@U123>` must not ping anyone, nor `<http://x|y>` become a
    /// link.
    static func escaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "&" || $0 == "<" || $0 == ">" }) else { return text }
        var out = ""
        out.reserveCapacity(text.count + 8)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }

    /// The code block: label, check, status, then tags (fallback only) and the masked config,
    /// one `- key : value` line each, keys sorted.
    static func block(_ r: CheckResult, tags: [(name: String, value: String)]) -> String {
        func pad(_ key: String) -> String { key.count >= 13 ? key : key + String(repeating: " ", count: 13 - key.count) }
        var text = "```\n"
        text += "Label           : \(r.label)\n"
        text += "Check           : \(r.check)\n"
        text += "Status          : \(r.status.rawValue)\n"
        if !tags.isEmpty {
            text += "\nTags\n"
            for tag in tags { text += "- \(pad(tag.name)) : \(tag.value)\n" }
        }
        text += "\nConfig\n"
        // Results carry masked config already; masking again costs little and guards the webhook.
        let config = SecretMasking.masked(.object(r.config)).objectValue ?? [:]
        for key in config.keys.sorted() { text += "- \(pad(key)) : \(config[key]!.displayText)\n" }
        text += "```"
        return text
    }
}
