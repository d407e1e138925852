import Monitor

/// The table `healthmonitor once` prints, one line a result (what a check reported is escaped).
enum Summary {
    /// `missing`: the checks that have no result (an agent's run no agent answered), each a row
    /// `NODATA` after the results.
    static func table(_ results: [CheckResult], missing: [CheckConfig] = []) -> String {
        var rows = results.map { r in
            [r.status == .success ? "OK" : "FAIL", r.key.escapingUnprintable, String(format3(r.elapsed)), r.message.escapingUnprintable]
        }
        for config in missing {
            let why = config.location.map { "no result: no agent in \($0) answered" } ?? "no result"
            rows.append(["NODATA", config.key.escapingUnprintable, "-", why.escapingUnprintable])
        }
        let headers = ["STATUS", "CHECK", "SECONDS", "MESSAGE"]
        var widths = headers.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < 3 { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i < 3 ? c + String(repeating: " ", count: widths[i] - c.count) : c }
                .joined(separator: "  ")
        }
        var out = line(headers) + "\n"
        for row in rows { out += line(row) + "\n" }
        let failed = results.filter { $0.status == .failure }.count
        out += "\(results.count + missing.count) checks, \(results.count - failed) succeeded, \(failed) failed"
        out += missing.isEmpty ? "\n" : ", \(missing.count) without a result\n"
        return out
    }

    private static func format3(_ v: Double) -> String {
        let ms = Int((v * 1000).rounded())
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }
}
