import Logging
import Monitor
import Synchronization

/// `email`: results as e-mail over SMTP (libcurl), one message per result or, with
/// `group_seconds`, one message for all results arriving within that many seconds.
///
/// Each message has a plain-text body (the original healthmonitor's wording) and an HTML
/// alternative; see the README section "email".
public final class EmailNotifier: Notifier {
    /// The options of `email`.
    public static let kind = NotifierKind(
        name: "email",
        options: [
            OptionSpec("to", .stringList, required: true, help: "recipients: `ops@example.org` or `Ops <ops@example.org>`"),
            OptionSpec("server", .string, default: "localhost:25", help: "mail server as host:port (port 25, 465 with tls: ssl)"),
            OptionSpec("from", .string, help: "sender address (default healthmonitor@<hostname>)"),
            OptionSpec("prefix", .string, default: "", help: "text starting every subject, e.g. [HEALTH]"),
            OptionSpec("username", .string, help: "SMTP AUTH user name"),
            OptionSpec("password", .string, help: "SMTP AUTH password (secret)"),
            OptionSpec(
                "tls", .choice(["starttls", "ssl", "none"]),
                help: "starttls (required), ssl (implicit TLS) or none; default ssl on port 465, starttls with a username, else none"),
            OptionSpec("verify", .boolean, default: true, help: "verify the server certificate and name"),
            OptionSpec("ca_file", .string, help: "PEM file of CA certificates to trust instead of the system's"),
            OptionSpec("timeout", .duration(minimum: 1), default: 30, help: "seconds for one submission"),
            OptionSpec(
                "group_seconds", .duration(minimum: 0), default: 0,
                help: "collect results arriving within this many seconds into one e-mail; 0: one e-mail per result"),
        ],
        make: { context in try EmailNotifier(context: context) })

    /// The validated settings of one `email` notifier.
    struct Settings: Sendable {
        var smtp: SMTPSettings
        var from: MailAddress
        var to: [MailAddress]
        var prefix: String
        /// Seconds; 0 sends every result on its own.
        var groupSeconds: Double
    }

    let settings: Settings
    private let logger: Logger
    // Why a dedicated thread and not the shared HTTP client's curl multi handle: that client's
    // API is HTTP requests and responses (status codes, Retry-After), while an SMTP submission is
    // an upload with an envelope and reply codes. Mail is rare and a submission takes
    // milliseconds, so one blocking easy transfer at a time on a thread of its own is simpler and
    // keeps curl's blocking `curl_easy_perform` off the cooperative pool.
    private let mailer = DedicatedThread(name: "email")
    private let group: Locked<MailGroup>
    /// Ids of results already mailed from the batch being retried, so a retry after a partial
    /// failure does not send them twice.
    private let sentFromBatch = Locked<Set<String>>([])
    private let closed = Atomic<Bool>(false)
    private let groupOpened: AsyncStream<Void>
    private let groupOpenedContinuation: AsyncStream<Void>.Continuation

    /// A notifier from validated options; throws a `ConfigDiagnostic` for unusable ones.
    public convenience init(context: NotifierContext) throws {
        self.init(settings: try Self.settings(context.options), logger: context.logger)
        if settings.smtp.username != nil && settings.smtp.tls == .none {
            logger.warning("email: tls is none, so the SMTP password is sent unencrypted")
        }
    }

    init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.group = Locked(MailGroup(window: settings.groupSeconds))
        (groupOpened, groupOpenedContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .unbounded)
    }

    /// Checks and converts the options.
    static func settings(_ options: Options) throws(ConfigDiagnostic) -> Settings {
        var to: [MailAddress] = []
        for text in options.strings("to") ?? [] {
            guard let address = MailAddress(text) else {
                throw options.problem("to", "\"\(text)\" is not an e-mail address (expected user@example.org or Name <user@example.org>)")
            }
            to.append(address)
        }
        if to.isEmpty { throw options.problem("to", "at least one recipient is needed") }
        let fromText = options.string("from") ?? "healthmonitor@\(HostName.current)"
        guard let from = MailAddress(fromText) else {
            throw options.problem("from", "\"\(fromText)\" is not an e-mail address (expected user@example.org or Name <user@example.org>)")
        }
        let username = options.string("username").flatMap { $0.isEmpty ? nil : $0 }
        let password = options.string("password")
        if username != nil && password == nil { throw options.problem("password", "username is set, so a password is needed") }
        if username == nil && password != nil { throw options.problem("username", "password is set, so a username is needed") }

        let serverText = options.string("server") ?? "localhost:25"
        guard let (host, explicitPort) = parseServer(serverText) else {
            throw options.problem("server", "\"\(serverText)\" is not host:port (e.g. smtp.example.org:587)")
        }
        let tls: MailTLS
        if let word = options.string("tls") {
            tls = MailTLS(rawValue: word) ?? .starttls
        } else if explicitPort == 465 {
            tls = .ssl
        } else {
            tls = username != nil ? .starttls : .none
        }
        let smtp = SMTPSettings(
            host: host, port: explicitPort ?? (tls == .ssl ? 465 : 25), tls: tls, verify: options.bool("verify") ?? true,
            caFile: options.string("ca_file"), username: username, password: password,
            timeout: options.double("timeout") ?? 30)
        return Settings(
            smtp: smtp, from: from, to: to, prefix: options.string("prefix") ?? "",
            groupSeconds: options.double("group_seconds") ?? 0)
    }

    /// `host`, `host:port`, `[v6]:port` → host and optional port; `nil` when malformed.
    static func parseServer(_ text: String) -> (String, Int?)? {
        let t = text.trimmingWhitespace
        var host = Substring(t)
        var portText: Substring?
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            host = t[t.index(after: t.startIndex)..<close]
            let rest = t[t.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = t.lastIndex(of: ":") {
            host = t[..<colon]
            portText = t[t.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) else { return nil }
        guard let portText else { return (String(host), nil) }
        guard let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    public func send(_ batch: [Delivery]) async throws {
        if settings.groupSeconds > 0 {
            let opened = group.withLock { $0.add(batch, now: MonotonicClock().seconds()) }
            if opened { groupOpenedContinuation.yield() }
            return
        }
        // One e-mail per result; a retry of the batch skips those already sent.
        for delivery in batch where !sentFromBatch.withLock({ $0.contains(delivery.result.id) }) {
            try await mail([delivery])
            sentFromBatch.withLock { _ = $0.insert(delivery.result.id) }
        }
        sentFromBatch.withLock { $0.removeAll() }
    }

    /// Mails each group when its window closes.
    public func run() async throws {
        guard settings.groupSeconds > 0 else { return }
        for await _ in groupOpened {
            guard let deadline = group.withLock({ $0.deadline }) else { continue }
            let wait = deadline - MonotonicClock().seconds()
            if wait > 0 {
                do { try await Task.sleep(for: .seconds(wait)) } catch { return }
            }
            guard let due = group.withLock({ $0.takeIfDue(now: MonotonicClock().seconds()) }) else { continue }
            await mailGroup(due)
        }
    }

    /// Mails what is still grouped, then stops the mail thread.
    public func shutdown() async {
        let left = group.withLock { $0.takeAll() }
        if !left.isEmpty { await mailGroup(left) }
        closed.store(true, ordering: .sequentiallyConsistent)
        groupOpenedContinuation.finish()
        // A transfer in flight ends within about a second of cancellation (`SMTPAbort`).
        await mailer.finish(abandonAfter: 2)
    }

    /// Sends one grouped message, retrying a few times: the core already accepted these results,
    /// so this notifier is responsible for them.
    private func mailGroup(_ deliveries: [Delivery]) async {
        let message = compose(deliveries)
        for attempt in 0..<4 {
            if closed.load(ordering: .sequentiallyConsistent) { break }
            do {
                try await submit(message)
                return
            } catch {
                if attempt == 3 || (error as? any PermanentError)?.isPermanent == true {
                    logger.error("e-mail not sent", metadata: ["error": "\(error)"])
                    break
                }
                let delay = Double(5 << attempt)
                logger.warning(
                    "e-mail not sent, will retry",
                    metadata: ["results": "\(deliveries.count)", "retry_in": "\(delay)s", "error": "\(error)"])
                do { try await Task.sleep(for: .seconds(delay)) } catch { break }
            }
        }
        logger.error("e-mail not sent, results lost", metadata: ["results": "\(deliveries.count)"])
    }

    private func mail(_ deliveries: [Delivery]) async throws {
        try await submit(compose(deliveries))
    }

    func compose(_ deliveries: [Delivery]) -> MailMessage {
        MailMessage.compose(
            deliveries, prefix: settings.prefix, from: settings.from, to: settings.to,
            dateMillis: Int64(WallClock.nowMillis()))
    }

    private func submit(_ message: MailMessage) async throws {
        let text = message.rendered()
        let sender = settings.from.address
        let recipients = settings.to.map(\.address)
        let smtp = settings.smtp
        let abort = SMTPAbort()
        try await withTaskCancellationHandler {
            try await mailer.run {
                try SMTPTransfer.send(message: text, sender: sender, recipients: recipients, settings: smtp, abort: abort)
            }
        } onCancel: {
            abort.abort()
        }
        logger.debug("e-mail sent", metadata: ["subject": "\(message.subject)", "recipients": "\(recipients.count)"])
    }
}
