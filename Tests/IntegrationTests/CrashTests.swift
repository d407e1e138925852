import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` at random moments while 100 checks flap and every status change is an alert: the
/// policy state on disk always parses (no torn write), holds only configured checks, and the
/// temporaries a killed write leaves are removed at the next start.
@Suite(.serialized) struct CrashTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
    }

    @Test func policyStateSurvivesRandomKills() async throws {
        let dir = scratchDirectory()
        var checks = ""
        for n in 0..<100 { checks += "    c\(n): {sleep: 0.05, seed: \(n), mark: 0.5}\n" }
        try """
        settings: {state_dir: \(dir)/state}
        notifiers:
          console: {report: change, format: json}
        checks:
          random:
        \(checks)
        """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        let configured = Set((0..<100).map { "random/c\($0)" })
        let stateFile = dir + "/state/policy/console.json"
        var generator = SystemRandomNumberGenerator()
        var parsed = 0
        let kills = 200
        for _ in 0..<kills {
            let launched = try Binary.start(["run", "--config", "c.yml"], directory: dir)
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...400, using: &generator)))
            launched.process.signal(SIGKILL)
            _ = await launched.finish()
            guard FileManager.default.fileExists(atPath: stateFile) else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: stateFile))
            let state = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "torn state file")
            #expect(Set(state.keys).isSubset(of: configured))
            parsed += 1
        }
        #expect(parsed >= kills * 3 / 4, "the state file existed after \(parsed) of \(kills) kills")
        // A start removes what the killed writes left behind. (Two seconds: a SIGTERM before the
        // monitor traps signals, a few hundred ms into a start on a loaded machine, ends it as
        // the default action does.)
        let launched = try Binary.start(["run", "--config", "c.yml"], directory: dir)
        try await Task.sleep(for: .seconds(2))
        launched.process.signal(SIGTERM)
        #expect(await launched.finish().status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/state/policy").filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}
