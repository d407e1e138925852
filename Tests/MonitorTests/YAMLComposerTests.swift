import Monitor
import Testing

@Suite struct YAMLComposerTests {
    /// The bomb of issue #16: 8 levels of 10 aliases, 10^8 scalars once expanded. It ran for
    /// over 30 s and grew to 3.6 GB; now it stops at the alias limit, well before any expansion.
    static let aliasBomb: String = {
        var lines = ["x-bomb:", "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1...7 {
            lines.append("  - &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return (lines + ["checks:", "  sample:", "    web: {host: *l7}"]).joined(separator: "\n") + "\n"
    }()

    func parse(_ yaml: String, limits: ConfigLimits = .standard) throws(ConfigDiagnostic) -> ConfigNode {
        try ConfigNode.parse(yaml: yaml, name: "c.yml", limits: limits)
    }

    func failure(_ yaml: String, limits: ConfigLimits = .standard) -> String {
        do {
            _ = try parse(yaml, limits: limits)
            Issue.record("parsed but should have failed")
            return ""
        } catch {
            return error.description
        }
    }

    @Test func theAliasBombStopsAtTheAliasLimit() {
        var message = ""
        // Loose on purpose (the release binary's figure, 0.02 s, is in the README): the bomb took
        // over 30 s and grew without bound before. CPU time, so tests beside it do not count.
        let cpu = threadCPUSeconds { message = failure(Self.aliasBomb) }
        // l1 to l3 hold 1,230 expansions, each *l3 1,111 more: the 8th in l4 passes 10,000.
        #expect(message == "c.yml:6:45: error: x-bomb[4][7]: alias *l3 makes 10118 alias expansions (aliases within aliases count each time), more than 10000, the limit of one config source")
        #expect(cpu < 5, "\(cpu) s of CPU")
    }

    /// Yams hashed every mapping key, node by node through the aliases: this one was minutes of
    /// CPU inside `Yams.compose` before anything could count.
    @Test func anAliasBombAsAKeyStopsToo() {
        let bomb = Self.aliasBomb.replacing("checks:", with: "  - {? *l7 : x}\nchecks:")
        #expect(failure(bomb).contains("more than 10000, the limit of one config source"))
        var limits = ConfigLimits.standard
        limits.aliasExpansions = .max
        #expect(failure(bomb, limits: limits).hasSuffix("more than 2097152, the limit of one config source"))
    }

    /// Few aliases of a wide anchor: the node budget, not the alias count, stops them.
    @Test func theNodeBudgetCountsTheExpandedDocument() {
        let wide = "[" + Array(repeating: "a", count: 999).joined(separator: ",") + "]"
        let yaml = "x: &w \(wide)\ny: [*w, *w, *w]\n"
        var limits = ConfigLimits.standard
        limits.nodes = 3_000
        #expect(failure(yaml, limits: limits) == "c.yml:2:9: error: y[1]: alias *w expands the document to 3004 YAML nodes, more than 3000, the limit of one config source")
        limits.nodes = 4_004
        #expect(throws: Never.self) { try parse(yaml, limits: limits) }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(failure("x: " + deep) == "c.yml:1:67: error: x\(String(repeating: "[0]", count: 63)): nested deeper than 64 levels, the limit of one config source")
        #expect(throws: Never.self) { try parse("x: " + String(deep.dropFirst(2).dropLast(2))) }
        // An alias nests its anchor's levels where it is used.
        let anchor = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let nested = String(repeating: "[", count: 30) + "*a" + String(repeating: "]", count: 30)
        #expect(failure("a: &a \(anchor)\nb: \(nested)\n").hasSuffix("alias *a nests 71 levels deep here, deeper than 64, the limit of one config source"))
    }

    @Test func aSourceLargerThanTheLimitIsRefusedBeforeParsing() {
        var limits = ConfigLimits.standard
        limits.sourceBytes = 10
        #expect(failure("checks: {a: b}\n", limits: limits) == "c.yml: error: config source larger than 10 bytes, the limit of one source; split it into several (--config, --checks, --notifiers)")
    }

    @Test func aliasesWithinTheLimitsAreExpandedAtTheirUse() throws {
        let root = try parse("base: &b {host: h, port: 1}\nweb: *b\nkey: &k name\nmap: {*k : 2}\n")
        #expect(root["web"]?["host"]?.kind == .scalar("h"))
        #expect(root["web"]?.location.line == 2)
        #expect(root["map"]?["name"]?.kind == .scalar("2"))
    }

    @Test(arguments: [
        ("a: 1\na: 2\n", "c.yml:2:1: error: a: duplicate key (first at line 1); a key is written once in a mapping"),
        ("a: *nope\n", "c.yml:1:4: error: a: invalid YAML: alias *nope has no anchor &nope before it"),
        ("a: 1\n---\nb: 2\n", "c.yml:2:1: error: invalid YAML: a second document (---); a config source holds one"),
        ("a: [1, {b: c}: 2]\n", "c.yml:1:8: error: a[1]: mapping keys must be plain text"),
        ("a: {b: c\n", "c.yml:2:1: error: a: invalid YAML: while parsing a flow mapping did not find expected ',' or '}'"),
        ("a: b\u{0}c\n", "c.yml:1:5: error: invalid YAML: control characters are not allowed (U+0)"),
    ])
    func brokenYAMLIsOneLineWithFileLineAndColumn(_ yaml: String, _ expected: String) {
        #expect(failure(yaml) == expected)
    }

    @Test func nullsAndEmptyDocuments() throws {
        #expect(try parse("").kind == .null)
        #expect(try parse("# only a comment\n").kind == .null)
        let root = try parse("a:\nb: ~\nc: null\nd: \"null\"\ne: ''\n")
        #expect(root["a"]?.kind == .null && root["b"]?.kind == .null && root["c"]?.kind == .null)
        #expect(root["d"]?.kind == .scalar("null"))
        #expect(root["e"]?.kind == .scalar(""))
    }
}
