import Monitor

/// One e-mail about one or more results: headers, a plain-text body (the original healthmonitor's
/// wording) and an HTML alternative, rendered as an RFC 5322 / MIME message.
struct MailMessage: Sendable {
    var from: MailAddress
    var to: [MailAddress]
    /// The subject before header encoding.
    var subject: String
    var plainText: String
    var html: String
    /// When the message was written, Unix milliseconds (the `Date:` header).
    var dateMillis: Int64
    /// A unique id, without angle brackets: `<id>@<from domain>` becomes the `Message-ID`.
    var id: String

    /// At most this many results are listed in full; the rest are counted.
    static let listLimit = 200

    /// The message for `deliveries` (oldest first). `prefix` starts the subject (a space is
    /// added when it does not end in one).
    static func compose(
        _ deliveries: [Delivery], prefix: String, from: MailAddress, to: [MailAddress], dateMillis: Int64,
        id: String = ResultID.next()
    ) -> MailMessage {
        let subject = Self.subject(deliveries, prefix: prefix)
        let sections = Section.split(deliveries)
        return MailMessage(
            from: from, to: to, subject: subject, plainText: plainBody(sections, deliveries),
            html: htmlBody(sections, deliveries, subject: subject), dateMillis: dateMillis, id: id)
    }

    /// `[HEALTH] FAILURE ping/clowder: 0/5 packets` for one result; for several
    /// `[HEALTH] 3 results: 2 failing, 1 successful`.
    static func subject(_ deliveries: [Delivery], prefix: String) -> String {
        var start = prefix
        if !start.isEmpty && !start.hasSuffix(" ") { start += " " }
        if deliveries.count == 1, let delivery = deliveries.first {
            let r = delivery.result
            // One line already (rendering flattens the header again; the subject is also logged).
            func oneLine(_ text: String) -> String { text.replacingCRLF().replacing("\n", with: " ") }
            var message = oneLine(r.message)
            if message.count > 120 { message = String(message.prefix(119)) + "…" }
            return start + word(for: delivery) + " " + oneLine(r.key) + (message.isEmpty ? "" : ": " + message)
        }
        let failing = deliveries.filter { $0.result.status == .failure }.count
        let successful = deliveries.count - failing
        var counts: [String] = []
        if failing > 0 { counts.append("\(failing) failing") }
        if successful > 0 { counts.append("\(successful) successful") }
        return start + "\(deliveries.count) results: " + counts.joined(separator: ", ")
    }

    /// `FAILURE`, `STILL FAILING`, `RECOVERED` or `SUCCESS`.
    static func word(for delivery: Delivery) -> String {
        switch (delivery.result.status, delivery.reason) {
        case (.failure, .reminder): "STILL FAILING"
        case (.failure, _): "FAILURE"
        case (.success, .recovery): "RECOVERED"
        case (.success, _): "SUCCESS"
        }
    }

    /// Results grouped under the original's headings, in this order.
    struct Section {
        var heading: String
        var failing: Bool
        var deliveries: [Delivery]

        static func split(_ deliveries: [Delivery]) -> [Section] {
            let listed = deliveries.prefix(MailMessage.listLimit)
            let sections = [
                Section(
                    heading: "The following checks are now failing:", failing: true,
                    deliveries: listed.filter { $0.result.status == .failure && $0.reason != .reminder }),
                Section(
                    heading: "The following checks are still failing:", failing: true,
                    deliveries: listed.filter { $0.result.status == .failure && $0.reason == .reminder }),
                Section(
                    heading: "The following checks are now successful:", failing: false,
                    deliveries: listed.filter { $0.result.status == .success }),
            ]
            return sections.filter { !$0.deliveries.isEmpty }
        }
    }

    /// The latest result of each check (by `check/label`) in order of first appearance: whose
    /// configuration the message shows.
    static func configurations(_ deliveries: [Delivery]) -> [CheckResult] {
        var order: [String] = []
        var latest: [String: CheckResult] = [:]
        for delivery in deliveries.prefix(listLimit) {
            if latest[delivery.result.key] == nil { order.append(delivery.result.key) }
            latest[delivery.result.key] = delivery.result
        }
        return order.map { latest[$0]! }
    }

    /// Seconds with three decimals: `4.250`.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return JSONValue.format(value) }
        let millis = Int((value * 1000).rounded())
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    static func measurementText(_ measurement: [String: JSONValue]) -> [String] {
        measurement.keys.sorted().map { "\($0) = \(measurement[$0]!.displayText)" }
    }

    static func plainBody(_ sections: [Section], _ deliveries: [Delivery]) -> String {
        var text = ""
        for section in sections {
            text += section.heading + "\n\n"
            for delivery in section.deliveries {
                let r = delivery.result
                let message = r.message.replacingCRLF().replacing("\n", with: "\n    ")
                text += "- \(r.key): \(message)\n"
                text += "  time: \(r.created), host: \(r.host), took \(seconds(r.elapsed)) s\n"
                let measurements = measurementText(r.measurement)
                if !measurements.isEmpty { text += "  measurements: " + measurements.joined(separator: ", ") + "\n" }
            }
            text += "\n"
        }
        if deliveries.count > listLimit {
            text += "… and \(deliveries.count - listLimit) more results, not listed.\n\n"
        }
        for result in configurations(deliveries) where !result.layeredConfig.isEmpty {
            text += "The configuration for \"\(result.key)\" is:\n"
            for (key, value) in result.layeredConfig.sortedMembers {
                text += "- \(key) = \(value.displayText)\n"
            }
            text += "\n"
        }
        text += "-- \nhealthmonitor\n"
        return text
    }

    static func htmlBody(_ sections: [Section], _ deliveries: [Delivery], subject: String) -> String {
        let h = MailEncoding.html
        var html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>\(h(subject))</title></head>\n"
        html += "<body style=\"font-family:sans-serif\">\n"
        let table = "<table cellpadding=\"4\" cellspacing=\"0\" border=\"1\" style=\"border-collapse:collapse\">\n"
        for section in sections {
            let colour = section.failing ? "#b71c1c" : "#1b5e20"
            html += "<h3 style=\"color:\(colour)\">\(h(section.heading))</h3>\n" + table
            html += "<tr><th align=\"left\">Status</th><th align=\"left\">Check</th><th align=\"left\">Message</th>"
            html += "<th align=\"left\">Time</th><th align=\"left\">Host</th><th align=\"left\">Measurements</th></tr>\n"
            for delivery in section.deliveries {
                let r = delivery.result
                html += "<tr><td style=\"color:\(colour)\">\(h(word(for: delivery)))</td><td>\(h(r.key))</td>"
                html += "<td>\(h(r.message).replacingCRLF().replacing("\n", with: "<br>"))</td>"
                html += "<td>\(h(r.created))</td><td>\(h(r.host))</td>"
                html += "<td>\(measurementText(r.measurement).map(h).joined(separator: "<br>"))</td></tr>\n"
            }
            html += "</table>\n"
        }
        if deliveries.count > listLimit {
            html += "<p>… and \(deliveries.count - listLimit) more results, not listed.</p>\n"
        }
        for result in configurations(deliveries) where !result.layeredConfig.isEmpty {
            html += "<h4>The configuration for \"\(h(result.key))\" is:</h4>\n" + table
            for (key, value) in result.layeredConfig.sortedMembers {
                html += "<tr><th align=\"left\">\(h(key))</th><td>\(h(value.displayText))</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "</body></html>\n"
        return html
    }

    /// The whole message with CRLF line ends, ready for SMTP `DATA`.
    func rendered() -> String {
        let boundary = "=_healthmonitor_" + id  // "=_" never occurs in quoted-printable text
        var headers: [(String, String)] = [
            ("Date", MailEncoding.rfc5322Date(millis: dateMillis)),
            ("From", MailEncoding.mailboxHeader(from)),
        ]
        let recipients = to.map(MailEncoding.mailboxHeader)
        let oneLine = recipients.joined(separator: ", ")
        headers.append(("To", oneLine.utf8.count + 4 <= 78 ? oneLine : recipients.joined(separator: ",\r\n ")))
        headers += [
            ("Subject", MailEncoding.headerText(subject, nameLength: "Subject".utf8.count)),
            ("Message-ID", "<\(id)@\(from.domain)>"),
            ("MIME-Version", "1.0"),
            // RFC 3834: tells mail systems not to send vacation replies to a machine.
            ("Auto-Submitted", "auto-generated"),
            ("X-Mailer", "healthmonitor"),
            ("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""),
        ]
        var out = ""
        for (name, value) in headers { out += name + ": " + value + "\r\n" }
        out += "\r\nThis is a multi-part message in MIME format.\r\n"
        for (type, body) in [("text/plain", plainText), ("text/html", html)] {
            out += "\r\n--" + boundary + "\r\n"
            out += "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            out += MailEncoding.quotedPrintable(body)
        }
        out += "\r\n--" + boundary + "--\r\n"
        return out
    }
}
