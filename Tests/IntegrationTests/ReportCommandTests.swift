import CSQLite
import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `healthmonitor report` on the history the monitor itself recorded.
@Suite struct ReportCommandTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
    }

    @Test func reportsWhatOnceRecordedAndRefusesBadInputInOneLine() async throws {
        let dir = scratchDirectory()
        try """
        settings: {state_dir: \(dir)/state}
        checks:
          filewrite:
            probe: {file: \(dir)/probe.txt}
          hostport:
            closed: {host: 127.0.0.1, port: 1}
        notifiers:
          console: {report: failure}
        """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        // The same, with a mongo notifier whose server does not answer (nothing listens on port 1).
        try """
        settings: {state_dir: \(dir)/state}
        checks:
          filewrite:
            probe: {file: \(dir)/probe.txt}
        notifiers:
          archive: {type: mongo, uri: "mongodb://u:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=300", connect_timeout: 0.3}
        """.write(toFile: dir + "/c-mongo.yml", atomically: true, encoding: .utf8)
        // No history yet.
        let none = try await Binary.run(["report", "--config", "c.yml"], directory: dir)
        #expect(none.status == 2)
        #expect(none.stderr.contains("no history at \(dir)/state/history.sqlite"), "\(none.stderr)")

        for _ in 0..<3 { _ = try await Binary.run(["once", "--config", "c.yml"], directory: dir) }
        let json = try await Binary.run(["report", "--config", "c.yml", "--since", "1h", "--format", "json"], directory: dir)
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONValue.parse(json.stdout).objectValue)
        #expect(object["since"]?.stringValue != nil && object["until"]?.stringValue != nil)
        let checks = (object["checks"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(checks.map { "\($0["check"]!.stringValue!)/\($0["label"]!.stringValue!)" } == ["filewrite/probe", "hostport/closed"])
        try #require(checks.count == 2)
        let probe = checks[0]
        #expect(probe["results"] == 3 && probe["successes"] == 3 && probe["failures"] == 0)
        #expect(probe["uptime"] == .double(1) && probe["uptime_time"] == .double(1))
        #expect(probe["latency_ms"]?.objectValue?["p50"]?.doubleValue != nil)
        for key in ["p50", "p95", "p99", "max", "avg"] { #expect(probe["latency_ms"]?.objectValue?[key] != nil, "\(key)") }
        let closed = checks[1]
        #expect(closed["results"] == 3 && closed["failures"] == 3 && closed["uptime"] == .double(0))
        let incidents = (closed["incidents"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(incidents.count == 1)
        #expect(incidents.first?["end"] == .null, "ongoing")
        #expect(incidents.first?["message"]?.stringValue?.contains("connection refused") == true)
        #expect(Set(incidents.first?.keys.map { $0 } ?? []) == ["start", "end", "duration", "message"])

        let table = try await Binary.run(["report", "--config", "c.yml", "--since", "1h"], directory: dir)
        #expect(table.status == 0)
        #expect(table.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 }, "fits 80 columns:\n\(table.stdout)")
        #expect(table.stdout.contains("hostport/closed"))
        let csv = try await Binary.run(["report", "--config", "c.yml", "--format", "csv", "--check", "filewrite/probe"], directory: dir)
        #expect(csv.stdout.split(separator: "\n").count == 2 && csv.stdout.hasPrefix("check,label,results,"))

        for (arguments, message) in [
            (["--check", "ping/nope"], "no history for check ping/nope; checks with history: filewrite/probe, hostport/closed"),
            (["--since", "yesterday"], "--since: found \"yesterday\", expected a duration back from now"),
            (["--format", "pdf"], "--format: found \"pdf\", expected table, json, csv or html"),
            (["--source", "sqlite"], "--source: found \"sqlite\", expected local, mongo or mongo:NAME"),
            (["--source", "mongo"], "--source mongo: the config has no mongo notifier"),
            (["--config", "c-mongo.yml", "--source", "mongo:other"], "--source mongo:other: no mongo notifier named other; mongo notifiers: archive"),
            (["--config", "c-mongo.yml", "--source", "mongo"], "--source mongo: cannot reach mongodb://u:********@127.0.0.1:1/"),
        ] {
            let bad = try await Binary.run(["report", "--config", "c.yml"] + arguments, directory: dir)
            #expect(!bad.stderr.contains("hunter2"), "no password in \(bad.stderr)")
            #expect(bad.status == 2, "\(arguments)")
            #expect(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
            // libmongoc initialises itself before main() and, when it cannot use shared memory
            // for its counters (seen once on a loaded machine), prints a warning of its own then.
            let ours = bad.stderr.split(separator: "\n").filter { !$0.contains("mongoc: Falling back to malloc for counters") }
            #expect(ours.count == 1, "one line: \(bad.stderr)")
        }
        // A store another process holds locked: one line after the busy timeout.
        do {
            var db: OpaquePointer?
            #expect(sqlite3_open(dir + "/state/history.sqlite", &db) == SQLITE_OK)
            defer { sqlite3_close(db) }
            #expect(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM rollups WHERE key = ''", nil, nil, nil) == SQLITE_OK)
            let locked = try await Binary.run(["report", "--config", "c.yml"], directory: dir)
            #expect(locked.status == 2)
            #expect(locked.stderr.contains("database is locked (another process holds it locked; waited 5 s)"), "\(locked.stderr)")
            #expect(locked.stderr.split(separator: "\n").filter { !$0.contains("mongoc:") }.count == 1, "\(locked.stderr)")
            #expect(sqlite3_exec(db, "COMMIT", nil, nil, nil) == SQLITE_OK)
        }
        // A report never writes: the store is unchanged byte for byte.
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/state/history.sqlite"))
        _ = try await Binary.run(["report", "--config", "c.yml"], directory: dir)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/state/history.sqlite")) == before)
    }

    /// `--format html` rendered by a real browser: headless Chromium loads the file, its DOM
    /// has what the page promises (and no script from a message), and a screenshot is taken.
    /// The page, its DOM and the screenshot stay in `.build/test-artifacts/report-html/`.
    @Test(.enabled(if: Chromium.path != nil || TestServers.required, "needs chromium on PATH (Debian: apt-get install chromium)"))
    func htmlReportRendersInChromium() async throws {
        let chromium = try #require(
            Chromium.path, "chromium is not on PATH although HM_SERVICES=1: apt-get install chromium (scripts/test.sh installs it)")
        let dir = scratchDirectory()
        // A file in a directory that does not exist: the failure message names the path, so it
        // carries markup, quotes and an ampersand into the report.
        let hostile = "\"quotes\" & ampersands/<script>alert(1)</script>"
        try """
        settings: {state_dir: \(dir)/state}
        checks:
          filewrite:
            probe: {file: \(dir)/probe.txt}
            hostile: {file: '\(dir)/\(hostile)/probe.txt'}
          hostport:
            closed: {host: 127.0.0.1, port: 1}
        notifiers:
          console: {report: failure}
        """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        for _ in 0..<3 { _ = try await Binary.run(["once", "--config", "c.yml"], directory: dir) }
        let report = try await Binary.run(["report", "--config", "c.yml", "--since", "1h", "--format", "html"], directory: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let html = report.stdout
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("<script"), "a message's markup is escaped")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && html.contains("&quot;quotes&quot; &amp; ampersands"))

        let artifacts = Binary.repository.appendingPathComponent(".build/test-artifacts/report-html").path
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let page = artifacts + "/report.html"
        let screenshot = artifacts + "/report.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        try html.write(toFile: page, atomically: true, encoding: .utf8)
        let flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/chromium-profile"]

        let dump = try await Chromium.run(chromium, flags + ["--dump-dom", "file://" + page], output: artifacts + "/report-dom.html")
        #expect(dump.status == 0, "\(dump.stderr)")
        let dom = dump.stdout
        #expect(!dom.lowercased().contains("<script"), "no script element in the DOM")
        let sections = dom.components(separatedBy: "<section class=\"check\"").dropFirst()
        #expect(sections.count == 3, "one section per check")
        var byKey: [String: String] = [:]
        for section in sections {
            #expect(section.components(separatedBy: "<rect class=\"day\"").count - 1 == 90, "90 days in the bar")
            if let key = section.split(separator: "\"").dropFirst(3).first { byKey[String(key)] = section }
        }
        #expect(byKey.keys.sorted() == ["filewrite/hostile", "filewrite/probe", "hostport/closed"])
        func lastDay(_ section: String?) -> Substring? {
            section?.components(separatedBy: "<rect class=\"day\"").last?.prefix { $0 != ">" }
        }
        #expect(lastDay(byKey["filewrite/probe"])?.contains("fill=\"#2f9e44\"") == true, "today all up: green")
        #expect(lastDay(byKey["filewrite/hostile"])?.contains("fill=\"#e03131\"") == true, "today all down: red")
        #expect(byKey["filewrite/probe"]?.contains("<tr class=\"incident") == false)
        for key in ["filewrite/hostile", "hostport/closed"] {
            let section = byKey[key] ?? ""
            #expect(section.components(separatedBy: "<tr class=\"incident open\">").count - 1 == 1, "\(key): one ongoing incident")
            #expect(section.contains("<span class=\"ongoing\">ongoing</span>"), "\(key)")
        }
        // The message as text: markup shown, not parsed (the serializer escapes < > & in text).
        #expect(byKey["filewrite/hostile"]?.contains("\"quotes\" &amp; ampersands/&lt;script&gt;alert(1)&lt;/script&gt;/probe.txt: open:") == true)
        #expect(byKey["hostport/closed"]?.contains("connection refused") == true)

        let shot = try await Chromium.run(
            chromium, flags + ["--screenshot=" + screenshot, "--window-size=1280,2000", "file://" + page], output: nil)
        #expect(shot.status == 0, "\(shot.stderr)")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "a PNG")
        // IHDR: width and height, big-endian, at bytes 16 and 20.
        if png.count > 24 {
            let size = [16, 20].map { at in png[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
            #expect(size == [1280, 2000], "the window size")
        }
    }
}

/// Headless Chromium (Debian package `chromium`), for tests that look at a page.
enum Chromium {
    /// `chromium` on PATH, or `nil`.
    static let path: String? = (Environment.get("PATH") ?? "").split(separator: ":").map { $0 + "/chromium" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs chromium with `arguments`, its standard output to `output` (else a scratch file),
    /// killed after `timeout` seconds (a page with no script loads in well under one).
    static func run(_ path: String, _ arguments: [String], output: String?, timeout: Double = 120) async throws -> Binary.Output {
        let scratch = scratchDirectory()
        let out = output ?? scratch + "/stdout"
        try? FileManager.default.removeItem(atPath: out)
        let process = try ChildProcess(path, arguments, output: out, errorOutput: scratch + "/stderr")
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            process.signal(SIGKILL)
        }
        let status = await process.exitStatus()
        watchdog.cancel()
        let stderr = (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? ""
        return Binary.Output(
            status: status, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: status == 128 + SIGKILL ? "killed after \(timeout) s\n" + stderr : stderr)
    }
}
