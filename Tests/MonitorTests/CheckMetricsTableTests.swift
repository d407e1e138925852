import Monitor
import Testing

@Suite struct CheckMetricsTableTests {
    static func check(_ type: String, _ label: String) -> CheckConfig {
        CheckConfig(type: type, label: label, sleep: 60, options: Options([:], path: "checks.\(type).\(label)"))
    }

    /// A check in several locations has one series per location, told apart by `location`;
    /// its local run (without a quorum) has none.
    @Test func eachLocationIsASeriesOfItsOwn() {
        var eu = Self.check("hostport", "web")
        eu.location = "eu"
        let table = CheckMetricsTable(checks: [Self.check("hostport", "web"), eu])
        table.observe(CheckResult(status: .success, check: "hostport", label: "web", message: "", measurement: ["connect_ms": 1.0]))
        var remote = CheckResult(status: .failure, check: "hostport", label: "web", message: "", measurement: [:])
        remote.location = "eu"
        table.observe(remote)
        var out: [UInt8] = []
        table.render(into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#"healthmonitor_check_up{check="hostport",label="web"} 1"#))
        #expect(text.contains(#"healthmonitor_check_up{check="hostport",label="web",location="eu"} 0"#))
    }

    /// `healthmonitor_cert_expiry_seconds`: the expiry (Unix seconds) of the newest result that
    /// read a certificate, kept through a failed run that read none; no line for a check that never did.
    @Test func certificateExpiryIsAGaugeWithTheChecksLabels() {
        let table = CheckMetricsTable(checks: [Self.check("download", "clowder"), Self.check("hostport", "smtp"), Self.check("hostport", "db")])
        table.observe(CheckResult(status: .success, check: "download", label: "clowder", message: "", measurement: ["cert_expires_at": 1_803_922_509]))
        table.observe(CheckResult(status: .failure, check: "hostport", label: "smtp", message: "", measurement: ["cert_expires_at": 1_796_409_309]))
        table.observe(CheckResult(status: .failure, check: "download", label: "clowder", message: "", measurement: ["status": 0]))
        table.observe(CheckResult(status: .success, check: "hostport", label: "db", message: "", measurement: ["connect_ms": 0.2]))
        var out: [UInt8] = []
        table.render(into: &out)
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains("# TYPE healthmonitor_cert_expiry_seconds gauge"))
        #expect(lines.contains(#"healthmonitor_cert_expiry_seconds{check="download",label="clowder"} 1803922509.0"#))
        #expect(lines.contains(#"healthmonitor_cert_expiry_seconds{check="hostport",label="smtp"} 1796409309.0"#))
        #expect(!lines.contains { $0.hasPrefix(#"healthmonitor_cert_expiry_seconds{check="hostport",label="db""#) })
    }

    /// Exact lines for two checks: counts, cumulative buckets, the main time only for a type that
    /// has one, a label with a quote and a backslash escaped, nothing for a check without results.
    @Test func writesThePrometheusTextFormat() {
        let table = CheckMetricsTable(checks: [Self.check("hostport", "db \"main\" \\ 1"), Self.check("random", "demo"), Self.check("ping", "idle")])
        table.observe(CheckResult(status: .success, check: "hostport", label: "db \"main\" \\ 1", message: "", measurement: ["connect_ms": .double(2.5)], elapsed: 0.003))
        table.observe(CheckResult(status: .failure, check: "hostport", label: "db \"main\" \\ 1", message: "", measurement: [:], elapsed: 0.2))
        table.observe(CheckResult(status: .success, check: "random", label: "demo", message: "", measurement: ["value": 0.7], elapsed: 0.00001))
        table.overran("random/demo")
        for _ in 0..<1234 { table.observe(CheckResult(status: .failure, check: "random", label: "demo", message: "", measurement: [:], elapsed: 0.3)) }
        var out: [UInt8] = []
        table.render(into: &out)
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        let db = #"check="hostport",label="db \"main\" \\ 1""#
        for expected in [
            "healthmonitor_check_up{\(db)} 0", #"healthmonitor_check_up{check="random",label="demo"} 0"#,
            "healthmonitor_check_results_total{\(db),status=\"success\"} 1", "healthmonitor_check_results_total{\(db),status=\"failure\"} 1",
            "healthmonitor_check_response_time_seconds{\(db)} 0.0025",
            #"healthmonitor_scheduler_overruns_total{check="random",label="demo"} 1"#,
            #"healthmonitor_check_results_total{check="random",label="demo",status="failure"} 1234"#,
            #"healthmonitor_check_duration_seconds_bucket{check="random",label="demo",le="0.5"} 1235"#,
            #"healthmonitor_check_duration_seconds_bucket{check="random",label="demo",le="0.25"} 1"#,
            "healthmonitor_check_duration_seconds_bucket{\(db),le=\"0.0025\"} 0", "healthmonitor_check_duration_seconds_bucket{\(db),le=\"0.005\"} 1",
            "healthmonitor_check_duration_seconds_bucket{\(db),le=\"0.25\"} 2", "healthmonitor_check_duration_seconds_bucket{\(db),le=\"+Inf\"} 2",
            "healthmonitor_check_duration_seconds_count{\(db)} 2", "healthmonitor_check_duration_seconds_sum{\(db)} 0.203",
            "# TYPE healthmonitor_check_duration_seconds histogram", "# HELP healthmonitor_check_up 1 when the check's newest result succeeded, else 0",
        ] {
            #expect(lines.contains(expected), "\(expected)")
        }
        #expect(!lines.contains { $0.hasPrefix("healthmonitor_check_up{check=\"ping\"") }, "no result yet: no up value")
        #expect(!lines.contains { $0.hasPrefix("healthmonitor_check_response_time_seconds{check=\"random\"") }, "random has no main time")
        #expect(lines.filter { $0.hasPrefix("healthmonitor_check_duration_seconds_bucket{check=\"ping\"") }.count == 17)
    }

    /// Written in parts (as `/metrics` streams it), the text is the same bytes as written whole,
    /// each family's HELP and TYPE once and before its first line; each part reads the rows
    /// when it is written (no copy of the whole table is held), so a result counted after the
    /// exposition began and before a part shows in that part.
    @Test func partsMakeTheSameTextAsTheWhole() {
        let checks = (0..<7).map { Self.check($0 % 2 == 0 ? "hostport" : "random", "c\($0)") }
        let table = CheckMetricsTable(checks: checks)
        for (n, check) in checks.enumerated() where n != 3 {
            table.observe(
                CheckResult(
                    status: n % 3 == 0 ? .failure : .success, check: check.type, label: check.label, message: "",
                    measurement: ["connect_ms": .double(Double(n))], elapsed: 0.001 * Double(n)))
        }
        for rowsPerPart in [1, 2, 3, 7, 100] {
            var before: [UInt8] = []
            table.render(into: &before)
            var exposition = table.exposition(rowsPerPart: rowsPerPart)
            table.observe(CheckResult(status: .success, check: "random", label: "c3", message: "", measurement: [:], elapsed: 0.01))
            var whole: [UInt8] = []
            table.render(into: &whole)
            #expect(!whole.elementsEqual(before), "the result changed the table")
            var parts: [[UInt8]] = []
            var part: [UInt8] = []
            while exposition.next(into: &part) {
                parts.append(part)
                part.removeAll()
            }
            #expect(parts.joined().elementsEqual(whole), "rowsPerPart \(rowsPerPart)")
            #expect(parts.count == 6 * ((7 + rowsPerPart - 1) / rowsPerPart), "rowsPerPart \(rowsPerPart)")  // six families
            #expect(!exposition.next(into: &part) && part.isEmpty, "nothing after the end")
        }
    }
}

extension CheckMetricsTableTests {
    /// A result counts on its own check's row whatever position it comes with: the right one, a
    /// wrong one, one past the table, or none.
    @Test(arguments: [nil, 0, 1, 2, 7])
    func aResultCountsOnItsOwnRowWhateverPositionItBrings(position: Int?) {
        let table = CheckMetricsTable(checks: [Self.check("hostport", "a"), Self.check("hostport", "b"), Self.check("ping", "c")])
        let result = CheckResult(status: .failure, check: "hostport", label: "b", message: "", measurement: [:], elapsed: 0.2)
        table.observe(result, key: "hostport/b", position: position ?? -1, readings: ResultReadings(responseTimeMs: nil, certExpiresAt: nil))
        var out: [UInt8] = []
        table.render(into: &out)
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.contains(#"healthmonitor_check_results_total{check="hostport",label="b",status="failure"} 1"#))
        #expect(lines.filter { $0.hasPrefix("healthmonitor_check_results_total{") && !$0.hasSuffix(" 0") }.count == 1)
    }
}
