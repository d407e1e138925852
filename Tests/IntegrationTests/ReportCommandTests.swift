import Foundation
import Monitor
import Testing

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
            (["--source", "mongo"], "--source: found \"mongo\", expected local"),
        ] {
            let bad = try await Binary.run(["report", "--config", "c.yml"] + arguments, directory: dir)
            #expect(bad.status == 2, "\(arguments)")
            #expect(bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
            // libmongoc initialises itself before main() and, when it cannot use shared memory
            // for its counters (seen once on a loaded machine), prints a warning of its own then.
            let ours = bad.stderr.split(separator: "\n").filter { !$0.contains("mongoc: Falling back to malloc for counters") }
            #expect(ours.count == 1, "one line: \(bad.stderr)")
        }
        // A report never writes: the store is unchanged byte for byte.
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/state/history.sqlite"))
        _ = try await Binary.run(["report", "--config", "c.yml"], directory: dir)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/state/history.sqlite")) == before)
    }
}
