import Foundation

#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The built `healthmonitor` executable, run as a user would.
enum Binary {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let path = repository.appendingPathComponent(".build/debug/healthmonitor").path

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A started `healthmonitor`: its process and the files its output goes to.
    struct Launched {
        var process: ChildProcess
        var stdoutPath: String
        var stderrPath: String

        /// Waits (without blocking a thread) for the exit and reads the output.
        func finish() async -> Output {
            let status = await process.exitStatus()
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            return Output(status: status, stdout: out, stderr: err)
        }
    }

    /// Starts the binary in `directory` (through `env -C`, with the config variables of the
    /// test run's own environment removed), output to files; never blocks a thread.
    static func start(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Launched {
        let outputs = scratchDirectory()
        var envArguments = ["-C", directory ?? repository.path]
        for key in ["CONFIG", "CONFIG_FILE", "HEALTHMONITOR_CONFIG_FILE", "CHECKS", "CHECKS_FILE", "NOTIFIERS", "NOTIFIERS_FILE"] {
            envArguments += ["-u", key]
        }
        envArguments += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let process = try ChildProcess(
            "/usr/bin/env", envArguments + [path] + arguments, output: outputs + "/stdout", errorOutput: outputs + "/stderr")
        return Launched(process: process, stdoutPath: outputs + "/stdout", stderrPath: outputs + "/stderr")
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) async throws -> Output {
        try await start(arguments, environment: environment, directory: directory).finish()
    }
}

func scratchDirectory() -> String {
    let path = NSTemporaryDirectory() + "hm-cli-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite(.serialized) struct CommandLineTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
    }

    @Test func validateAcceptsTheBundledConfig() async throws {
        let out = try await Binary.run(["validate", "--config", "config.yml"], directory: Binary.repository.path)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("configuration OK (config.yml)"))
        #expect(out.stdout.contains("filewrite/tmp"))
    }

    /// The original tool's README example loads unchanged.
    @Test func validateAcceptsTheOriginalExample() async throws {
        let out = try await Binary.run(["validate", "--config", "examples/seed-config.yml"], directory: Binary.repository.path)
        #expect(out.status == 0, "\(out.stderr)")
        for line in [
            "ping/clowder  every 60.0 s", "ping/google  every 600.0 s", "hostport/clowder  every 10.0 s",
            "download/clowder  every 900.0 s, threshold 2", "console (console)  report change, threshold 0",
            "slack (slack)  report failure, threshold 600",
        ] {
            #expect(out.stdout.contains(line), "missing: \(line)")
        }
        // A broken copy of it is rejected with every problem named.
        let dir = scratchDirectory()
        let seed = try String(contentsOfFile: Binary.repository.path + "/examples/seed-config.yml", encoding: .utf8)
        let broken = seed.replacingOccurrences(of: "port: 9000", with: "port: nine-thousand")
            .replacingOccurrences(of: "count: 3", with: "count: -3")
            .replacingOccurrences(of: "  download:", with: "  downlaod:")
        try broken.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
        let rejected = try await Binary.run(["validate"], directory: dir)
        #expect(rejected.status == 2)
        #expect(rejected.stderr.contains("configuration has 3 errors"), "\(rejected.stderr)")
        #expect(rejected.stderr.contains("error: checks.hostport.clowder.port: found \"nine-thousand\", expected an integer from 1 to 65535"))
        #expect(rejected.stderr.contains("error: checks.ping.google.count: found \"-3\""))
        #expect(rejected.stderr.contains("error: checks.downlaod: unknown check type (did you mean \"download\"?)"))
    }

    /// A cluster URI that cannot be used is a config error at the line it was written on, in
    /// `validate` as in `run`, never a bare message.
    @Test func aBadClusterURINamesTheFileTheLineAndTheKey() async throws {
        let dir = scratchDirectory()
        try """
            settings:
              cluster: {uri: "http://broker.example/"}
            checks:
              hostport:
                web: {host: 127.0.0.1, port: 9, locations: [eu]}
            notifiers:
              console: {}
            """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        for command in ["validate", "run"] {
            let out = try await Binary.run([command, "--config", "c.yml"], directory: dir)
            #expect(out.status == 2, "\(command): \(out.stderr)")
            #expect(out.stderr.contains("c.yml:2:18: error: settings.cluster.uri: not a valid AMQP URI; expected amqp://"), "\(command): \(out.stderr)")
        }
    }

    /// Every YAML example of README.md and examples/ validates with no warning. README blocks
    /// show one section: the other is filled in minimally (`--checks` / `--notifiers`), each
    /// `${NAME}` gets a value, and the files they name (`/run/secrets/NAME`, CA files) are made in
    /// a scratch folder.
    @Test func everyDocumentedExampleValidatesWithoutWarnings() async throws {
        let readme = try String(contentsOfFile: Binary.repository.path + "/README.md", encoding: .utf8)
        var examples: [(name: String, text: String)] = []
        for (index, block) in readme.components(separatedBy: "```yaml\n").dropFirst().enumerated() {
            guard let end = block.range(of: "```") else { continue }
            examples.append(("README.md YAML block \(index + 1)", String(block[..<end.lowerBound])))
        }
        let exampleFiles = (try? FileManager.default.contentsOfDirectory(atPath: Binary.repository.path + "/examples")) ?? []
        for file in exampleFiles.sorted() where file.hasSuffix(".yml") || file.hasSuffix(".yaml") {
            examples.append(("examples/\(file)", try String(contentsOfFile: Binary.repository.path + "/examples/" + file, encoding: .utf8)))
        }
        #expect(examples.count >= 10, "found \(examples.count) examples")

        let dir = scratchDirectory()
        try "random:\n  a: {}\n".write(toFile: dir + "/checks.yml", atomically: true, encoding: .utf8)
        try "console: {}\n".write(toFile: dir + "/notifiers.yml", atomically: true, encoding: .utf8)
        for (name, original) in examples {
            var text = original.replacingOccurrences(of: "/run/secrets/", with: dir + "/secrets/")
                .replacingOccurrences(of: "/etc/ssl/certs/", with: dir + "/secrets/")
            var environment: [String: String] = [:]
            var rest = Substring(text)
            while let open = rest.range(of: "${") {
                let after = rest[open.upperBound...]
                guard let close = after.firstIndex(of: "}") else { break }
                let variable = after[..<close].split(separator: ":", maxSplits: 1)[0]
                environment[String(variable)] = variable.contains("WEBHOOK") ? "https://hooks.example.org/services/T0/B0/x" : "secret-0123456789abcdef"
                rest = after[close...]
            }
            for line in text.split(separator: "\n") where line.contains(dir + "/secrets/") {
                guard let start = line.range(of: dir + "/secrets/") else { continue }
                let path = String(line[start.lowerBound...].prefix { !$0.isWhitespace && $0 != "\"" && $0 != "," && $0 != "}" })
                try FileManager.default.createDirectory(atPath: dir + "/secrets", withIntermediateDirectories: true)
                let secret = path.lowercased().contains("webhook") ? "https://hooks.example.org/services/T0/B0/x" : "secret-0123456789abcdef"
                try secret.write(toFile: path, atomically: true, encoding: .utf8)
            }
            text = text.replacingOccurrences(of: "state_dir: /var/lib/healthmonitor", with: "state_dir: \(dir)/state")
            try text.write(toFile: dir + "/example.yml", atomically: true, encoding: .utf8)
            var arguments = ["validate", "--config", "example.yml", "--state-dir", dir + "/state"]
            let lines = text.split(separator: "\n")
            if !lines.contains(where: { $0.hasPrefix("checks:") }) { arguments += ["--checks", "checks.yml"] }
            if !lines.contains(where: { $0.hasPrefix("notifiers:") }) { arguments += ["--notifiers", "notifiers.yml"] }
            let out = try await Binary.run(arguments, environment: environment, directory: dir)
            #expect(out.status == 0, "\(name) does not validate:\n\(original)\n\(out.stderr)")
            #expect(!out.stdout.contains("warning") && !out.stderr.contains("warning"), "\(name) has warnings:\n\(out.stdout)\(out.stderr)")
        }
    }

    @Test func validateRejectsABrokenConfigWithEveryError() async throws {
        let dir = scratchDirectory()
        try """
        notifiers:
          console:
            report: sometimes
          slak:
            webhook: x
        checks:
          random:
            demo:
              mark: high
              seed: 1
          filewrite:
            tmp:
              sleep: -5
        """.write(toFile: dir + "/broken.yml", atomically: true, encoding: .utf8)
        let out = try await Binary.run(["validate", "--config", "broken.yml"], directory: dir)
        #expect(out.status == 2)
        #expect(out.stderr.contains("configuration has 5 errors"))
        #expect(out.stderr.contains("broken.yml:3:13: error: notifiers.console.report: found \"sometimes\", expected one of always, change, failure"))
        #expect(out.stderr.contains("broken.yml:4:3: error: notifiers.slak: unknown notifier type \"slak\""))
        #expect(out.stderr.contains("broken.yml:9:13: error: checks.random.demo.mark: found \"high\", expected a number from 0.0 to 1.0"))
        #expect(out.stderr.contains("broken.yml:13:14: error: checks.filewrite.tmp.sleep: found \"-5\""))
        #expect(out.stderr.contains("broken.yml:12:5: error: checks.filewrite.tmp.file: is required"))
    }

    /// Problems found only when a notifier is built are reported by `validate` too.
    @Test func validateBuildsNotifiers() async throws {
        let dir = scratchDirectory()
        try "notifiers:\n  email: {to: \"not an address\"}\nchecks:\n  random: {r: {}}\n"
            .write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        let out = try await Binary.run(["validate", "--config", "c.yml"], directory: dir)
        #expect(out.status == 2)
        #expect(out.stderr.contains("c.yml:2:15: error: notifiers.email.to: \"not an address\" is not an e-mail address"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/state"))
    }

    @Test func configFromTheEnvironment() async throws {
        let out = try await Binary.run(
            ["validate"], environment: ["CONFIG": "checks:\n  random:\n    r: {seed: 3}\n", "NOTIFIERS": "console: {report: change}"],
            directory: scratchDirectory())
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("configuration OK ($CONFIG, $NOTIFIERS)"))
        #expect(out.stdout.contains("console (console)  report change"))
    }

    @Test func missingDefaultConfigSaysWhatToDo() async throws {
        let out = try await Binary.run(["validate"], directory: scratchDirectory())
        #expect(out.status == 2)
        #expect(out.stderr.contains("config.yml: error: cannot read config: No such file or directory (no config given: pass --config FILE, or set CONFIG_FILE or CONFIG)"))
    }

    @Test func onceExitsOneWhenAnyCheckFails() async throws {
        let dir = scratchDirectory()
        let good = "notifiers:\n  console: {report: always, format: json}\nchecks:\n  random:\n    up: {mark: 0, seed: 1}\nsettings: {state_dir: \(dir)/state}\n"
        try good.write(toFile: dir + "/good.yml", atomically: true, encoding: .utf8)
        let ok = try await Binary.run(["once", "--config", "good.yml"], directory: dir)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("1 checks, 1 succeeded, 0 failed"))
        let line = try #require(ok.stdout.split(separator: "\n").first { $0.hasPrefix("{") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["check"] as? String == "random")
        #expect(object["label"] as? String == "up")

        let bad = good.replacingOccurrences(of: "up: {mark: 0, seed: 1}", with: "up: {mark: 0, seed: 1}\n    down: {mark: 1, seed: 1}")
        try bad.write(toFile: dir + "/bad.yml", atomically: true, encoding: .utf8)
        let failed = try await Binary.run(["once", "--config", "bad.yml"], directory: dir)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("2 checks, 1 succeeded, 1 failed"))
        #expect(failed.stdout.contains("FAIL    random/down"))
    }

    /// SIGTERM stops scheduling, flushes the notifiers and exits 0; the alert state survives the
    /// restart, so the same failure streak is not alerted twice.
    @Test func sigtermFlushesAndStateSurvivesARestart() async throws {
        let dir = scratchDirectory()
        try """
        notifiers:
          console: {report: failure, threshold: 2, format: json}
        checks:
          random:
            down: {mark: 1, seed: 1, sleep: 0.05}
        settings: {state_dir: \(dir)/state}
        """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)

        // Signals are handled once the monitor has started (config read, notifiers built);
        // the runs below count from then: with a core kept busy, a debug build's start has
        // taken more than 0.5 s, and a SIGTERM before it ended the process (status 143).
        func started(_ launched: Binary.Launched) async throws {
            for _ in 0..<600 {
                let log = (try? String(contentsOfFile: launched.stderrPath, encoding: .utf8)) ?? ""
                if log.contains("healthmonitor started") { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the monitor did not start within 30 s")
        }
        func runFor(_ seconds: Double) async throws -> (Int32, [String], String) {
            let launched = try Binary.start(["run", "--config", "c.yml"], directory: dir)
            try await started(launched)
            try await Task.sleep(for: .seconds(seconds))
            launched.process.signal(SIGTERM)
            let out = await launched.finish()
            return (out.status, out.stdout.split(separator: "\n").map(String.init), out.stderr)
        }
        // While it runs, `health` sees a fresh heartbeat.
        let running = try Binary.start(["run", "--config", "c.yml"], directory: dir)
        try await started(running)
        try await Task.sleep(for: .milliseconds(500))
        let health = try await Binary.run(["health", "--config", "c.yml"], directory: dir)
        #expect(health.status == 0, "\(health.stdout)")
        #expect(health.stdout.hasPrefix("healthy: heartbeat "))
        running.process.signal(SIGTERM)
        #expect(await running.finish().status == 0)
        try? FileManager.default.removeItem(atPath: dir + "/state")

        let (status1, lines1, log1) = try await runFor(0.8)
        #expect(status1 == 0, "\(log1)")
        #expect(lines1.count == 1)  // one alert for the streak
        #expect(log1.contains("healthmonitor stopped"))
        let (status2, lines2, log2) = try await runFor(0.5)
        #expect(status2 == 0, "\(log2)")
        #expect(lines2.isEmpty)  // same streak after the restart: not repeated
        let state = try String(contentsOfFile: dir + "/state/policy/console.json", encoding: .utf8)
        // The stopped monitor's heartbeat goes stale.
        let stale = try await Binary.run(["health", "--state-dir", "state", "--max-age", "0.001"], directory: dir)
        #expect(stale.status == 1)
        #expect(stale.stdout.hasPrefix("unhealthy: heartbeat "))
        #expect(state.contains("\"openAlert\":true"))
    }
}
