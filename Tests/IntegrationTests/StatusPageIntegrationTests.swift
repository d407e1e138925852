import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP face's status page and badges, served by the real monitor: the page as headless
/// Chromium renders it, the badges over HTTP. No server but the monitor itself (console notifier).
@Suite(.serialized) struct StatusPageIntegrationTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
    }

    /// The running monitor's `/` in Chromium: its DOM has the groups, statuses, the hostile
    /// label as text and no script element, 90 day rects and four uptime cells per check; a
    /// screenshot is kept. Then the badges: SVG with the right numbers, 400, 404.
    /// The page, its DOM and the screenshot stay in `.build/test-artifacts/status-page/`.
    @Test(.enabled(if: Chromium.path != nil || TestServers.required, "needs chromium on PATH (Debian: apt-get install chromium)"))
    func statusPageRendersInChromiumAndBadgesAnswer() async throws {
        let chromium = try #require(
            Chromium.path, "chromium is not on PATH although HM_SERVICES=1: apt-get install chromium (scripts/test.sh installs it)")
        let dir = scratchDirectory()
        let target = try SilentListener()
        defer { target.close() }
        let hostile = "<script>alert(1)</script>"
        let monitor = try await ServedMonitor.start(directory: dir) { port in
            """
            settings:
              state_dir: \(dir)/state
              http: {listen: "127.0.0.1:\(port)"}
            checks:
              filewrite:
                api: {file: \(dir)/probe.txt, sleep: 1}
                '\(hostile)': {file: '\(dir)/"quotes" & ampersands/probe.txt', sleep: 1}
              hostport:
                api: {host: 127.0.0.1, port: \(target.port), sleep: 1}
                db: {host: 127.0.0.1, port: 1, sleep: 1}
            notifiers:
              console: {report: failure}
            """
        }
        // Killed only while not waited for: a reaped process id may belong to another process.
        var waited = false
        defer { if !waited { monitor.process.signal(SIGKILL) } }
        // A couple of results of every check, recorded: every 24 h cell has a number.
        let html = try await monitor.page { html in
            let articles = html.components(separatedBy: "<article class=\"check").dropFirst()
            return articles.count == 4 && articles.allSatisfy { article in
                let results = article.components(separatedBy: " results, ").first?.split(separator: " ").last.flatMap { Int($0) } ?? 0
                return results >= 2 && !article.contains("data-window=\"24h\"><span class=\"swatch\" style=\"background:#d0d5dc\"></span>no data")
            }
        }
        #expect(html.hasPrefix("<!doctype html>"))

        let artifacts = Binary.repository.appendingPathComponent(".build/test-artifacts/status-page").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        try html.write(toFile: artifacts + "/status-page.html", atomically: true, encoding: .utf8)
        let screenshot = artifacts + "/status-page.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        let flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/chromium-profile"]
        let url = "http://127.0.0.1:\(monitor.port)/"

        let dump = try await Chromium.run(chromium, flags + ["--dump-dom", url], output: artifacts + "/status-page-dom.html")
        #expect(dump.status == 0, "\(dump.stderr)")
        let dom = dump.stdout
        #expect(!dom.lowercased().contains("<script"), "no script element in the DOM")
        #expect(dom.contains("<meta http-equiv=\"refresh\" content=\"30\">"))
        #expect(dom.contains("<p class=\"summary failing\">2 of 4 checks failing</p>"), "the summary line")
        let failingList = dom.components(separatedBy: "<ul class=\"failing-list\">").dropFirst().first?.components(separatedBy: "</ul>").first ?? ""
        #expect(failingList.components(separatedBy: "<li>").count - 1 == 2)
        #expect(failingList.contains(">hostport/db</a> failing for <strong>") && failingList.contains("connection refused"))
        // Groups by label, the failing ones first; the hostile label is text.
        let groups = dom.components(separatedBy: "<section class=\"group").dropFirst().map { section in
            section.components(separatedBy: "<h2>").dropFirst().first?.components(separatedBy: "</h2>").first ?? ""
        }
        #expect(groups == ["&lt;script&gt;alert(1)&lt;/script&gt;", "db", "api"])
        var cards: [String: String] = [:]
        for article in dom.components(separatedBy: "<article class=\"check").dropFirst() {
            let key = article.components(separatedBy: "<span class=\"key\">").dropFirst().first?.components(separatedBy: "</span>").first ?? ""
            cards[key] = article.components(separatedBy: "</article>").first
        }
        let hostileKey = "filewrite/&lt;script&gt;alert(1)&lt;/script&gt;"
        #expect(cards.keys.sorted() == [hostileKey, "filewrite/api", "hostport/api", "hostport/db"])
        for (key, status, uptime) in [
            ("filewrite/api", "up", "100.000%"), ("hostport/api", "up", "100.000%"), ("hostport/db", "failing", "0.000%"),
            (hostileKey, "failing", "0.000%"),
        ] {
            let card = cards[key] ?? ""
            #expect(card.contains("data-status=\"\(status)\""), "\(key)")
            #expect(card.contains("<span class=\"badge \(status)\">\(status) for "), "\(key)")
            #expect(card.components(separatedBy: "<rect class=\"day\"").count - 1 == 90, "\(key): 90 days in the bar")
            #expect(card.components(separatedBy: "<td class=\"num uptime\" data-window=").count - 1 == 4, "\(key): four uptime cells")
            // A history seconds old: every window holds the same seconds.
            let colour = uptime == "0.000%" ? "#e03131" : "#2f9e44"
            for window in ["24h", "7d", "30d", "90d"] {
                #expect(card.contains("data-window=\"\(window)\"><span class=\"swatch\" style=\"background:\(colour)\"></span>\(uptime)</td>"), "\(key) \(window)")
            }
            #expect(card.contains("<svg class=\"sparkline\""), "\(key)")
            #expect(card.contains("<tr class=\"incident open\">") == (status == "failing"), "\(key): an open incident when failing")
        }
        #expect(cards["hostport/api"]?.contains("<polyline ") == true || cards["hostport/api"]?.contains("<circle ") == true, "latency drawn")
        #expect(cards["hostport/db"]?.contains("no latency data in 24 h") == true)
        // The message as text: markup shown, not parsed (the serializer escapes < > & in text).
        #expect(cards[hostileKey]?.contains("\"quotes\" &amp; ampersands/probe.txt") == true)

        let shot = try await Chromium.run(chromium, flags + ["--screenshot=" + screenshot, "--window-size=1280,2200", url], output: nil)
        #expect(shot.status == 0, "\(shot.stderr)")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG")

        // The badges.
        let badge = try await monitor.get("/badge/hostport/api/uptime.svg")
        #expect(badge.status == 200 && badge.header("content-type") == "image/svg+xml" && badge.header("cache-control") == "max-age=60")
        #expect(badge.text.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\"") && badge.text.contains("aria-label=\"uptime 7d: 100%\""))
        #expect(badge.text.contains("fill=\"#2f9e44\""), "green")
        #expect(try await monitor.get("/badge/hostport/api/uptime.svg?window=24h").text.contains("aria-label=\"uptime 24h: 100%\""))
        let down = try await monitor.get("/badge/hostport/db/uptime.svg?window=90d")
        #expect(down.text.contains("aria-label=\"uptime 90d: 0%\"") && down.text.contains("fill=\"#e03131\""), "red")
        let encoded = try await monitor.get("/badge/filewrite/%3Cscript%3Ealert(1)%3C%2Fscript%3E/uptime.svg?window=30d")
        #expect(encoded.status == 200 && encoded.text.contains("aria-label=\"uptime 30d: 0%\""), "\(encoded.text)")
        let latency = try await monitor.get("/badge/hostport/api/latency.svg")
        #expect(latency.status == 200 && latency.header("content-type") == "image/svg+xml")
        #expect(latency.text.contains("aria-label=\"latency p95 24h: ") && latency.text.contains(" ms\""), "\(latency.text)")
        #expect(try await monitor.get("/badge/hostport/db/latency.svg").text.contains("aria-label=\"latency p95 24h: no data\""))
        let badWindow = try await monitor.get("/badge/hostport/api/uptime.svg?window=2d")
        #expect(badWindow.status == 400 && badWindow.text == "window: found \"2d\", expected 24h, 7d, 30d or 90d\n")
        for path in ["/badge/hostport/nope/uptime.svg", "/badge/ping/db/latency.svg"] {
            let unknown = try await monitor.get(path)
            #expect(unknown.status == 404, "\(path)")
            #expect(unknown.text.hasPrefix("no check ") && unknown.text.contains("; checks: filewrite/<script>alert(1)</script>, filewrite/api, hostport/api, hostport/db\n"))
        }

        monitor.process.signal(SIGTERM)
        let out = await monitor.finish()
        waited = true
        #expect(out.status == 0, "\(out.stderr)")
    }

    /// `settings.history.enabled: false`: the page still has every check's live state and says
    /// the history is off; the badges say so too.
    @Test func withTheHistoryOffThePageHasTheLiveStateAndSaysSo() async throws {
        let dir = scratchDirectory()
        let monitor = try await ServedMonitor.start(directory: dir) { port in
            """
            settings:
              state_dir: \(dir)/state
              http: {listen: "127.0.0.1:\(port)"}
              history: {enabled: false}
            checks:
              filewrite:
                api: {file: \(dir)/probe.txt, sleep: 1}
              hostport:
                db: {host: 127.0.0.1, port: 1, sleep: 1}
            notifiers:
              console: {report: failure}
            """
        }
        // Killed only while not waited for: a reaped process id may belong to another process.
        var waited = false
        defer { if !waited { monitor.process.signal(SIGKILL) } }
        let html = try await monitor.page { !$0.contains("waiting for a first result") }
        #expect(html.contains("History is off (<code>settings.history.enabled: false</code>)"))
        #expect(html.contains("<p class=\"summary failing\">1 of 2 checks failing</p>"))
        #expect(html.contains("data-key=\"filewrite/api\" data-status=\"up\"") && html.contains("data-key=\"hostport/db\" data-status=\"failing\""))
        #expect(html.contains("Failed to connect to 127.0.0.1:1: connection refused"))
        #expect(!html.contains("<table class=\"uptime\"") && !html.contains("uptime-bar"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/state/history.sqlite"))
        let badge = try await monitor.get("/badge/filewrite/api/uptime.svg")
        #expect(badge.status == 200 && badge.text.contains("aria-label=\"uptime 7d: history off\""))
        monitor.process.signal(SIGTERM)
        let out = await monitor.finish()
        waited = true
        #expect(out.status == 0, "\(out.stderr)")
    }
}

/// A `healthmonitor run` whose HTTP face listens on a free loopback port.
struct ServedMonitor {
    var launched: Binary.Launched
    var port: UInt16
    var process: ChildProcess { launched.process }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the monitor with the config `config(port)` and waits for `/readyz`. A port taken
    /// between choosing and binding it (the face then logs and stays down) is tried again with
    /// another, at most three times.
    static func start(directory: String, config: (UInt16) -> String) async throws -> ServedMonitor {
        var problem = ""
        for _ in 0..<3 {
            let port = try SilentListener.listenPort()
            try config(port).write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
            let monitor = ServedMonitor(launched: try Binary.start(["run", "--config", "c.yml"], directory: directory), port: port)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if let ready = try? await monitor.get("/readyz"), ready.status == 200 { return monitor }
                let stderr = (try? String(contentsOfFile: monitor.launched.stderrPath, encoding: .utf8)) ?? ""
                if stderr.contains("HTTP face not serving") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            monitor.process.signal(SIGKILL)
            let out = await monitor.finish()
            problem = "no /readyz on port \(port) (exit \(out.status)): \(out.stderr.suffix(2000))"
        }
        throw Failure(description: problem)
    }

    /// A response of the monitor's HTTP face.
    struct Answer {
        var status: Int
        var headers: [(name: String, value: String)]
        var text: String

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    func get(_ path: String) async throws -> Answer {
        let response = try await HTTPClient.shared.execute(
            HTTPRequest(url: "http://127.0.0.1:\(port)\(path)", timeout: 10, responseBody: .collect(limit: 8 << 20), freshConnection: true))
        return Answer(status: response.status, headers: response.headers, text: String(decoding: response.body, as: UTF8.self))
    }

    /// `/` once `ready` says it has what the test needs (at most 60 s on a loaded machine).
    func page(until ready: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        var last = ""
        while ContinuousClock.now < deadline {
            let answer = try await get("/")
            last = answer.text
            if answer.status == 200 && answer.header("content-type") == "text/html; charset=utf-8" && ready(last) { return last }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw Failure(description: "the page did not get there in 60 s:\n\(last.suffix(4000))")
    }

    func finish() async -> Binary.Output {
        await launched.finish()
    }
}
