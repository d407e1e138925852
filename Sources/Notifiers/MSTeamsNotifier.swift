import Logging
import Monitor

/// `msteams`: posts each result to a Microsoft Teams webhook as a card with a title, the
/// status colour, and facts for check, label, status, message, time, host and the main
/// measurements.
///
/// `format: adaptivecard` (default) sends the message a Workflows ("Post to a channel when a
/// webhook request is received") webhook expects: `{"type":"message","attachments":[{
/// "contentType":"application/vnd.microsoft.card.adaptive","content":{AdaptiveCard 1.4}}]}`.
/// `format: messagecard` sends the legacy Office 365 connector `MessageCard` (`themeColor`,
/// `sections` with `facts`).
public final class MSTeamsNotifier: Notifier {
    /// The card formats.
    public enum Format: String, Sendable, CaseIterable {
        case adaptiveCard = "adaptivecard"
        case messageCard = "messagecard"
    }

    /// The options of `msteams`.
    public static let kind = NotifierKind(
        name: "msteams",
        options: [
            OptionSpec("webhook", .string, required: true, help: "Workflows (or legacy connector) webhook URL; a secret, never logged"),
            OptionSpec(
                "format", .choice(Format.allCases.map(\.rawValue)), default: "adaptivecard",
                help: "adaptivecard for Workflows webhooks, messagecard for legacy Office 365 connectors"),
            OptionSpec("timeout", .duration(minimum: 0.1), default: 10, help: "seconds one POST may take"),
        ],
        make: { context in try MSTeamsNotifier(context: context) })

    /// Measurements shown as facts, at most.
    static let maxMeasurementFacts = 12

    public let format: Format
    private let poster: WebhookPoster

    public init(
        webhook: String, format: Format = .adaptiveCard, timeout: Double = 10,
        retry: HTTPRetryPolicy = HTTPRetryPolicy(maxAttempts: 3, initialDelay: 1, maxDelay: 30), logger: Logger,
        client: HTTPClient = .shared
    ) {
        self.format = format
        poster = WebhookPoster(url: webhook, what: "msteams webhook", timeout: timeout, retry: retry, logger: logger, client: client)
    }

    convenience init(context: NotifierContext) throws(ConfigDiagnostic) {
        let o = context.options
        let webhook = try WebhookPoster.webhookURL(from: o)
        self.init(
            webhook: webhook, format: Format(rawValue: o.string("format") ?? "") ?? .adaptiveCard,
            timeout: o.double("timeout") ?? 10, logger: context.logger)
    }

    /// One POST per result: a Workflows flow posts one card per request.
    public func send(_ batch: [Delivery]) async throws {
        try await poster.post(batch.map { .init(resultIDs: [$0.result.id], json: payload($0).json()) })
    }

    /// The webhook body for one result in the configured format.
    public func payload(_ delivery: Delivery) -> JSONValue {
        switch format {
        case .adaptiveCard: Self.adaptiveCard(delivery)
        case .messageCard: Self.messageCard(delivery)
        }
    }

    /// `healthmonitor: download/site failure`, with `(still failing)` / `(recovered)` for reminders
    /// and recoveries.
    static func title(_ delivery: Delivery) -> String {
        let r = delivery.result
        var title = "healthmonitor: \(r.key) \(r.status.rawValue)"
        switch delivery.reason {
        case .reminder: title += " (still failing)"
        case .recovery: title += " (recovered)"
        default: break
        }
        return title
    }

    /// Check, label, status, message, time, host, then up to 12 measurements by name.
    static func facts(_ r: CheckResult) -> [(String, String)] {
        var facts = [
            ("Check", r.check), ("Label", r.label), ("Status", r.status.rawValue), ("Message", r.message),
            ("Time", r.created), ("Host", r.host),
        ]
        for key in r.measurement.keys.sorted().prefix(maxMeasurementFacts) {
            facts.append((key, r.measurement[key]!.displayText))
        }
        return facts
    }

    static func adaptiveCard(_ delivery: Delivery) -> JSONValue {
        let r = delivery.result
        let success = r.status == .success
        let card: JSONValue = .object([
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": ["width": "Full"],
            "body": .array([
                .object([
                    "type": "Container",
                    "style": .string(success ? "good" : "attention"),
                    "bleed": true,
                    "items": .array([
                        .object([
                            "type": "TextBlock", "text": .string(title(delivery)), "weight": "Bolder", "size": "Medium",
                            "color": .string(success ? "Good" : "Attention"), "wrap": true,
                        ])
                    ]),
                ]),
                .object(["type": "TextBlock", "text": .string(r.message), "wrap": true]),
                .object([
                    "type": "FactSet",
                    "facts": .array(facts(r).map { .object(["title": .string($0.0), "value": .string($0.1)]) }),
                ]),
            ]),
        ])
        return .object([
            "type": "message",
            "attachments": .array([
                .object(["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": .null, "content": card])
            ]),
        ])
    }

    static func messageCard(_ delivery: Delivery) -> JSONValue {
        let r = delivery.result
        return .object([
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "themeColor": .string(r.status == .success ? "2EB886" : "E01E5A"),
            "summary": .string(title(delivery)),
            "title": .string(title(delivery)),
            "sections": .array([
                .object([
                    "activityTitle": .string(r.message),
                    "facts": .array(facts(r).map { .object(["name": .string($0.0), "value": .string($0.1)]) }),
                    "markdown": false,
                ])
            ]),
        ])
    }
}
