@testable import HTTPFace
import Monitor
import Report
import Testing

/// The status page as a document, from data built by hand.
@Suite struct StatusPageTests {
    let h = HistoryMath.hourMillis
    /// 2026-12-01 12:00 UTC.
    let now: Int64 = 20_788 * 86_400_000 + 12 * 3_600_000
    let hostile = "<script>alert(1)</script>"
    let quoted = "HTTP 503 from api.example.org: \"Service Unavailable\" & more"

    func state(_ key: String, _ status: Status?, since: Int64? = nil, message: String = "", results: Int = 0, failures: Int = 0) -> LiveStatus.State {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        var state = LiveStatus.State(key: key, check: parts[0], label: parts[1], sleep: 60)
        state.status = status
        state.sinceMillis = since
        state.lastMillis = status == nil ? nil : now - 20_000
        state.message = message
        state.results = results
        state.failures = failures
        if status == .success { state.responseTimeMs = 2.5 }
        return state
    }

    /// Four checks: `api` has one up and one failing, the hostile label fails, `new` waits.
    func checks(history: Bool = true) -> [StatusPage.Check] {
        var up = StatusPage.Check(state: state("hostport/api", .success, since: now - 3 * h, message: "Successfully connected", results: 100))
        var down = StatusPage.Check(state: state("download/api", .failure, since: now - 12 * 60_000, message: quoted, results: 100, failures: 12))
        var script = StatusPage.Check(state: state("filewrite/" + hostile, .failure, since: now - 3 * h, message: "cannot write '/x/\"quotes\" & ampersands'"))
        var new = StatusPage.Check(state: state("ping/new", nil))
        guard history else { return [up, down, script, new] }
        up.uptime = [.hours24: 0.9995, .days7: 0.999, .days30: 0.98]
        down.uptime = [.hours24: 0.99, .days7: 0.99, .days30: 0.99, .days90: 0.99]
        script.uptime = [.hours24: 0, .days7: 0, .days30: 0, .days90: 0]
        down.openIncident = HistoryMath.Incident(start: now - 12 * 60_000, end: nil, message: quoted)
        script.openIncident = HistoryMath.Incident(start: now - 3 * h, end: nil, message: "cannot write '/x/\"quotes\" & ampersands'")
        var rollup = HourlyRollup(key: "hostport/api", hour: now / h - 1)
        rollup.results = 60
        rollup.upMillis = 3_600_000
        for i in 0..<60 { rollup.latency.add(Double(i % 5) + 1) }
        for i in [0, 1, 2, 3] {
            let key = [up, down, script, new][i].state.key
            let days = DaySeries(key: key, rollups: key == "hostport/api" ? [rollup] : [], newest: nil, until: now)
            let hours = (now / h - 23...now / h).map { hour in
                StatusPage.Hour(hour: hour, p50: key == "hostport/api" && hour >= now / h - 2 ? 3 + Double(hour % 3) : nil, results: 60)
            }
            switch i {
            case 0: (up.days, up.hours) = (days, hours)
            case 1: (down.days, down.hours) = (days, hours)
            case 2: (script.days, script.hours) = (days, hours)
            default: (new.days, new.hours) = (days, hours)
            }
        }
        return [up, down, script, new]
    }

    /// The text between `<article` of `key` and its end.
    func card(_ html: String, _ key: String) -> String {
        let escaped = HTML.escape(key)
        guard let start = html.range(of: "data-key=\"\(escaped)\"") else { return "" }
        let rest = html[start.lowerBound...]
        return String(rest[..<(rest.range(of: "</article>")?.upperBound ?? rest.endIndex)])
    }

    @Test func oneSelfContainedDocumentThatReloadsItself() {
        let html = StatusPage(checks: checks(), history: .on, now: now).html()
        #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">") && html.hasSuffix("</html>\n"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"30\">"))
        #expect(html.contains("<title>2 failing · healthmonitor status</title>"))
        for banned in ["<script", "http:", "https:", "src=", "url(", "@import", "<link", "<iframe", "<object"] {
            #expect(!html.contains(banned), "\(banned)")
        }
    }

    /// The first thing on the page: how many, how many failing, which and since when.
    @Test func theSummaryComesFirstWithTheFailingChecksAndSinceWhen() {
        let html = StatusPage(checks: checks(), history: .on, now: now).html()
        #expect(html.contains("<p class=\"summary failing\">2 of 4 checks failing · 1 waiting for a first result</p>"))
        let summary = html.range(of: "<p class=\"summary")!.lowerBound
        let firstGroup = html.range(of: "<section class=\"group")!.lowerBound
        #expect(summary < firstGroup)
        #expect(html.contains(
            "<li><a href=\"#check-2\">download/api</a> failing for <strong>12 min</strong>, since <time>2026-12-01 11:48:00 UTC</time>"
                + "<div class=\"message\">HTTP 503 from api.example.org: &quot;Service Unavailable&quot; &amp; more</div></li>"))
        #expect(html.contains(
            "<li><a href=\"#check-1\">filewrite/&lt;script&gt;alert(1)&lt;/script&gt;</a> failing for <strong>3.0 h</strong>, "
                + "since <time>2026-12-01 09:00:00 UTC</time>"))
        #expect(html.components(separatedBy: "<ul class=\"failing-list\">")[1].components(separatedBy: "</ul>")[0].components(separatedBy: "<li>").count - 1 == 2)
    }

    /// Groups follow the label, failing groups first; in a group the failing check first.
    @Test func checksAreGroupedByLabelFailingFirst() {
        let html = StatusPage(checks: checks(), history: .on, now: now).html()
        let labels = html.components(separatedBy: "<section class=\"group").dropFirst().map { section in
            String(section.components(separatedBy: "data-label=\"")[1].prefix { $0 != "\"" })
        }
        #expect(labels == ["&lt;script&gt;alert(1)&lt;/script&gt;", "api", "new"])
        #expect(html.contains("<div class=\"group-head\"><h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2><span class=\"aside\">1 of 1 check failing</span></div>"))
        #expect(html.contains("<div class=\"group-head\"><h2>api</h2><span class=\"aside\">1 of 2 checks failing</span></div>"))
        #expect(html.contains("<div class=\"group-head\"><h2>new</h2><span class=\"aside\">1 check</span></div>"))
        let api = html.components(separatedBy: "data-label=\"api\"")[1].components(separatedBy: "</section>")[0]
        #expect(api.range(of: "data-key=\"download/api\"")!.lowerBound < api.range(of: "data-key=\"hostport/api\"")!.lowerBound)
        #expect(html.contains("<article class=\"check failing\" id=\"check-2\" data-key=\"download/api\" data-status=\"failing\">"))
        #expect(html.contains("<article class=\"check up\" id=\"check-3\" data-key=\"hostport/api\" data-status=\"up\">"))
        #expect(html.contains("<article class=\"check pending\" id=\"check-4\" data-key=\"ping/new\" data-status=\"pending\">"))
    }

    /// A check run in several locations (`hostport/web@eu`, label `web`) is one group: the whole
    /// and each location a card of its own, failing first.
    @Test func aChecksLocationsAreGroupedWithIt() {
        func located(_ key: String, _ status: Status) -> StatusPage.Check {
            var located = state(key, status, since: now - h, results: 10)
            located.label = "web"
            return StatusPage.Check(state: located)
        }
        let page = StatusPage(
            checks: [located("hostport/web", .success), located("hostport/web@eu", .failure), located("hostport/web@us", .success)],
            history: .on, now: now)
        let groups = page.groups()
        #expect(groups.map(\.label) == ["web"])
        #expect(groups.first?.checks.map(\.state.key) == ["hostport/web@eu", "hostport/web", "hostport/web@us"])
        let html = page.html()
        #expect(html.contains("<div class=\"group-head\"><h2>web</h2><span class=\"aside\">1 of 3 checks failing</span></div>"))
        #expect(html.contains("data-key=\"hostport/web@eu\" data-status=\"failing\""))
    }

    @Test func eachCheckHasItsStatusUptimesBarSparklineAndOpenIncident() {
        let html = StatusPage(checks: checks(), history: .on, now: now).html()
        let up = card(html, "hostport/api")
        #expect(up.contains("<span class=\"badge up\">up for 3.0 h</span>"))
        #expect(up.contains("up since <time>2026-12-01 09:00:00 UTC</time> · last result 20 s ago · 2.50 ms · every 60 s · 100 results, 0 failed since start"))
        for (window, colour, text) in [
            ("24h", SVG.Palette.up, "99.950%"), ("7d", SVG.Palette.up, "99.900%"), ("30d", SVG.Palette.impaired, "98.000%"),
            ("90d", SVG.Palette.noData, "no data"),
        ] {
            #expect(up.contains("<td class=\"num uptime\" data-window=\"\(window)\"><span class=\"swatch\" style=\"background:\(colour)\"></span>\(text)</td>"), "\(window)")
        }
        #expect(up.components(separatedBy: "<rect class=\"day\"").count - 1 == 90)
        #expect(up.contains("<svg class=\"sparkline\" viewBox=\"0 0 300 44\""))
        #expect(up.contains("<polyline "), "three hours of p50")
        #expect(up.contains("<span>latest hour <strong>3.00 ms</strong></span><span>24 h max 5.00 ms</span>"))
        #expect(!up.contains("<table class=\"incidents\">"))

        let down = card(html, "download/api")
        #expect(down.contains("<span class=\"badge failing\">failing for 12 min</span>"))
        #expect(down.contains("<p class=\"message\">HTTP 503 from api.example.org: &quot;Service Unavailable&quot; &amp; more</p>"))
        #expect(down.contains(
            "<tr class=\"incident open\"><td><time>2026-12-01 11:48:00 UTC</time></td><td class=\"num\">12 min</td>"
                + "<td class=\"message\">HTTP 503 from api.example.org: &quot;Service Unavailable&quot; &amp; more</td></tr>"))
        #expect(down.contains("no latency data in 24 h"))
        let script = card(html, "filewrite/" + hostile)
        #expect(script.contains("<h3>filewrite <span class=\"key\">filewrite/&lt;script&gt;alert(1)&lt;/script&gt;</span></h3>"))
        #expect(script.contains("cannot write &#39;/x/&quot;quotes&quot; &amp; ampersands&#39;"))
        let new = card(html, "ping/new")
        #expect(new.contains("<span class=\"badge idle\">waiting for a first result</span>"))
        #expect(new.contains("<p class=\"meta\">every 60 s</p>"))
        #expect(html.components(separatedBy: "<rect class=\"day\"").count - 1 == 4 * 90)
    }

    /// Uptimes kept from an earlier load say since when.
    /// A check that read a certificate shows when it expires, marked when fewer than 14 days are left.
    @Test func certificateExpiryIsShownOnTheCard() {
        var valid = state("download/clowder", .success, since: now - h, results: 3)
        valid.certExpiresMillis = now + 89 * 86_400_000 + 3_600_000
        var soon = state("hostport/smtp", .failure, since: now - h, results: 3, failures: 3)
        soon.certExpiresMillis = now + 3 * 86_400_000 + 3_600_000
        var expired = state("hostport/ldap", .failure, since: now - h, results: 3, failures: 3)
        expired.certExpiresMillis = now - 2 * 86_400_000
        let html = StatusPage(checks: [valid, soon, expired].map { StatusPage.Check(state: $0) }, history: .off, now: now).html()
        #expect(card(html, "download/clowder").contains(#"<span class="cert">certificate expires in 89 days (2027-02-28)</span>"#))
        #expect(card(html, "hostport/smtp").contains(#"<span class="cert soon">certificate expires in 3 days (2026-12-04)</span>"#))
        #expect(card(html, "hostport/ldap").contains(#"<span class="cert soon">certificate expired 2.0 days ago (2026-11-29)</span>"#))
        #expect(!card(html, "hostport/api").contains("certificate"))
    }

    @Test func keptUptimesSaySinceWhen() {
        var page = StatusPage(checks: checks(), history: .on, now: now)
        #expect(page.html().contains("<p class=\"legend\">Uptime is time-weighted. Daily uptime: "))
        page.keptSince = now - 5 * 60_000
        page.keptFor = 300_000
        #expect(page.html().contains(
            "<p class=\"legend\">Uptime is time-weighted; 7, 30 and 90 days as of <time>11:55:00 UTC</time> (recomputed every 5 min). Daily uptime: "))
    }

    /// Without a history the live state is all there is, and the page says why.
    @Test func withTheHistoryOffThePageShowsTheLiveStateAndSaysSo() {
        let html = StatusPage(checks: checks(history: false), history: .off, now: now).html()
        #expect(html.contains("History is off (<code>settings.history.enabled: false</code>)"))
        #expect(html.contains("<p class=\"summary failing\">2 of 4 checks failing · 1 waiting for a first result</p>"))
        #expect(card(html, "download/api").contains("<span class=\"badge failing\">failing for 12 min</span>"))
        #expect(card(html, "hostport/api").contains("<span class=\"badge up\">up for 3.0 h</span>"))
        for absent in ["<table class=\"uptime\"", "uptime-bar", "sparkline", "class=\"incidents\"", "class=\"legend\""] {
            #expect(!html.contains(absent), "\(absent)")
        }
        let locked = StatusPage(checks: checks(history: false), history: .unreadable("database is locked"), now: now).html()
        #expect(locked.contains("The history cannot be read just now (database is locked): this page shows the live state only."))
        #expect(!locked.contains("<table class=\"uptime\""))
    }

    @Test(arguments: [
        (["hostport/a", "ping/b"], "All 2 checks are up"), (["hostport/a"], "The check is up"), ([], "No checks configured"),
    ])
    func whenNothingFailsTheSummaryIsGreen(keys: [String], summary: String) {
        let checks = keys.map { StatusPage.Check(state: state($0, .success, since: now - h)) }
        let html = StatusPage(checks: checks, history: .on, now: now).html()
        #expect(html.contains("<p class=\"summary up\">\(summary)</p>"))
        #expect(html.contains("<title>All up · healthmonitor status</title>"))
        #expect(!html.contains("<ul class=\"failing-list\">"))
    }

    @Test func checksWithoutAnyResultYetAreSaidToWait() {
        let html = StatusPage(checks: [StatusPage.Check(state: state("ping/a", nil))], history: .on, now: now).html()
        #expect(html.contains("<p class=\"summary up\">The check is waiting for a first result</p>"))
    }
}
