import Monitor
import Testing

@Suite struct ConfigNodeTests {
    @Test func mergeOverridesKeyByKeyAndKeepsTheOrder() throws {
        let base = try ConfigNode.parse(yaml: "a: {x: 1, y: 2}\nb: 3\n", name: "base.yml")
        let site = try ConfigNode.parse(yaml: "a: {y: 20}\nc: 4\n", name: "site.yml")
        let merged = base.merged(with: site)
        #expect(merged.entries?.map(\.key) == ["a", "b", "c"])
        #expect(merged["a"]?["x"]?.kind == .scalar("1"))
        #expect(merged["a"]?["y"]?.kind == .scalar("20"))
        #expect(merged["c"]?.kind == .scalar("4"))
    }

    /// Two sources of 50,000 checks each (a 100,000-check config split under the 4 MiB limit,
    /// or `$CONFIG` and `$CHECKS`) took minutes to merge, a search of the list per key. Loose
    /// bound on the thread's CPU time, so that only that comes back: a dictionary does it in
    /// milliseconds in a release build, 3 s (wall) under ThreadSanitizer in CI.
    @Test func largeSourcesMergeInLinearTime() throws {
        func source(_ labels: Range<Int>, _ value: Int) throws -> ConfigNode {
            try ConfigNode.parse(yaml: labels.map { "c\($0): \(value)\n" }.joined(), name: "c\(value).yml")
        }
        let first = try source(0..<50_000, 1)
        let second = try source(25_000..<75_000, 2)
        var merged = first
        let cpu = threadCPUSeconds { merged = first.merged(with: second) }
        #expect(merged.entries?.count == 75_000)
        #expect(merged["c24999"]?.kind == .scalar("1") && merged["c25000"]?.kind == .scalar("2"))
        #expect(cpu < 15, "\(cpu) s of CPU")
    }
}
