import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ConfigLoaderTests {
    @Test func scalarsAsStringsOrNumbersAndBooleanSpellings() throws {
        let config = try load(
            """
            notifiers:
              console: {report: always}
            checks:
              sample:
                a: {host: h, port: "9000", verify: "no", timeout: "500ms", sleep: 0.1}
                b: {host: h, port: 9000, verify: yes, timeout: 5m, sleep: "2"}
                c: {host: h, verify: 0}
            """)
        let byLabel = Dictionary(uniqueKeysWithValues: config.checks.map { ($0.label, $0) })
        #expect(byLabel["a"]?.options.int("port") == 9000)
        #expect(byLabel["b"]?.options.int("port") == 9000)
        #expect(byLabel["c"]?.options.int("port") == 80)
        #expect(byLabel["a"]?.options.bool("verify") == false)
        #expect(byLabel["b"]?.options.bool("verify") == true)
        #expect(byLabel["c"]?.options.bool("verify") == false)
        #expect(byLabel["a"]?.options.double("timeout") == 0.5)
        #expect(byLabel["b"]?.options.double("timeout") == 300)
        #expect(byLabel["a"]?.sleep == 0.1)
        #expect(byLabel["b"]?.sleep == 2)
        #expect(byLabel["c"]?.sleep == 60)
        #expect(config.checks.map(\.label) == ["a", "b", "c"])
    }

    @Test func notifierDefaultsAndCheckThresholdOverride() throws {
        let config = try load(
            """
            notifiers:
              console: {}
              ops:
                type: sink
                webhook: https://example.invalid/hook
                report: change
                threshold: 3
                resolved: true
                repeat: 10m
            checks:
              sample:
                web: {host: h, threshold: 2}
            """)
        let console = try #require(config.notifiers.first { $0.name == "console" })
        #expect(console.report == .failure)
        #expect(console.threshold == 1)
        #expect(console.queueSize == 10000)
        #expect(console.overflow == .dropOldest)
        let ops = try #require(config.notifiers.first { $0.name == "ops" })
        #expect(ops.type == "sink")
        #expect(ops.report == .change)
        #expect(ops.threshold == 3)
        #expect(ops.resolved)
        #expect(ops.repeatInterval == 600)
        #expect(config.checks.first?.threshold == 2)
    }

    @Test func aNotifierTypeMayDefaultToReportAlways() throws {
        let sinkKind = NotifierKind(name: "recorder", options: [], defaultReport: .always, make: { _ in RecordingNotifier() })
        let loader = ConfigLoader(checkKinds: [sampleCheckKind], notifierKinds: [sinkKind, sampleNotifierKind], environment: [:])
        let yaml = "notifiers:\n  recorder: {}\n  explicit: {type: recorder, report: change}\n  sink: {webhook: x}\nchecks:\n  sample:\n    a: {host: h}\n"
        let config = try loader.load([ConfigSource(section: .whole, name: "c.yml", text: yaml)])
        #expect(config.notifiers.map(\.report) == [.always, .change, .failure])
    }

    @Test func everyErrorIsCollectedWithFileLineColumnAndPath() {
        let diagnostics = errors(
            """
            notifiers:
              console:
                report: sometimes
            checks:
              sample:
                web:
                  port: many
                  timeout: -1
              pnig:
                x: {}
            """)
        let errs = diagnostics.filter { $0.severity == .error }
        #expect(errs.count == 5)
        let text = errs.map(\.description)
        #expect(text.contains("config.yml:3:13: error: notifiers.console.report: found \"sometimes\", expected one of always, change, failure"))
        #expect(text.contains("config.yml:7:13: error: checks.sample.web.port: found \"many\", expected an integer from 1 to 65535"))
        #expect(text.contains { $0.hasPrefix("config.yml:8:16: error: checks.sample.web.timeout: found \"-1\", expected a duration in seconds") })
        #expect(text.contains { $0.hasPrefix("config.yml:6:5: error: checks.sample.web.host: is required: expected text") })
        #expect(text.contains { $0.hasPrefix("config.yml:9:3: error: checks.pnig: unknown check type (did you mean \"ping\"?)") || $0.hasPrefix("config.yml:9:3: error: checks.pnig: unknown check type") && $0.contains("valid types: ") })
    }

    /// A duration too long for the scheduler's nanosecond integers is a config error, not a
    /// crash at the first run (`sleep: 1e300` trapped converting to Int64).
    @Test func anEndlessDurationIsRefused() {
        let errs = errors("checks:\n  sample:\n    web: {host: h, sleep: 1e300, timeout: 1000000000}\n")
        #expect(errs.filter { $0.severity == .error }.map(\.description) == [
            "config.yml:3:27: error: checks.sample.web.sleep: found \"1e300\", expected a duration in seconds (e.g. 30, 0.5, 500ms, 5m) of at least 0.001 s and at most 1000000000 s"
        ])
    }

    @Test func unknownCheckTypeListsValidChoices() {
        let diagnostics = errors("checks:\n  telnet:\n    x: {}\n")
        let message = diagnostics.first { $0.path == "checks.telnet" }?.message ?? ""
        for name in CheckKinds.all.map(\.name) + ["sample"] {
            #expect(message.contains(name))
        }
    }

    @Test func unknownNotifierIsAnErrorWithChoices() {
        let diagnostics = errors("notifiers:\n  slak: {}\nchecks:\n  sample:\n    a: {host: h}\n")
        let diagnostic = diagnostics.first { $0.path == "notifiers.slak" }
        #expect(diagnostic?.severity == .error)
        #expect(diagnostic?.message.contains("valid types: console, sink") == true)
        #expect(diagnostic?.location.line == 2)
    }

    @Test func unknownKeysAreWarningsWithDidYouMean() throws {
        let config = try load(
            """
            notifiers:
              console: {reprot: always}
            checks:
              sample:
                a: {host: h, slep: 5}
            """)
        let warnings = config.warnings.map(\.description)
        #expect(warnings.contains { $0.hasPrefix("config.yml:2:13: warning: notifiers.console.reprot: unknown option, ignored (did you mean \"report\"?)") })
        #expect(warnings.contains { $0.hasPrefix("config.yml:5:18: warning: checks.sample.a.slep: unknown option, ignored (did you mean \"sleep\"?)") })
        #expect(config.checks.first?.sleep == 60)
    }

    @Test func environmentSubstitution() throws {
        let config = try load(
            """
            checks:
              sample:
                a: {host: "${HOST}", port: "${PORT:-8080}", password: "x$${literal}"}
            """, environment: ["HOST": "db.example.org"])
        let options = try #require(config.checks.first?.options)
        #expect(options.string("host") == "db.example.org")
        #expect(options.int("port") == 8080)
        #expect(options.string("password") == "x${literal}")
    }

    /// Problems found after validation (when a check or notifier is built) point at the label.
    @Test func problemsWithAWholeMappingNameItsKey() throws {
        let config = try load("checks:\n  sample:\n    web: {host: h}\n")
        let problem = try #require(config.checks.first).options.problem("", "cannot set up check: boom")
        #expect(problem.description == "config.yml:3:5: error: checks.sample.web: cannot set up check: boom")
    }

    @Test func unsetVariableIsAnError() {
        let diagnostics = errors("checks:\n  sample:\n    a: {host: \"${NOPE}\"}\n")
        #expect(diagnostics.contains { $0.path == "checks.sample.a.host" && $0.message.contains("environment variable NOPE is not set") })
    }

    @Test func fileSuffixReadsSecretsFromFiles() throws {
        let dir = temporaryDirectory()
        let secret = try writeFile(dir, "pw", "hunter2\n")
        let config = try load("checks:\n  sample:\n    a: {host: h, password_file: \(secret)}\n")
        let check = try #require(config.checks.first)
        #expect(check.options.string("password") == "hunter2")
        #expect(check.maskedConfig["password"] == .string(SecretMasking.mask))
        let missing = errors("checks:\n  sample:\n    a: {host: h, password_file: \(dir)/absent}\n")
        #expect(missing.contains { $0.path == "checks.sample.a.password_file" && $0.message.contains("No such file or directory") })
    }

    @Test func invalidYAMLNamesTheLine() {
        let diagnostics = errors("checks:\n  sample:\n    a: {host: h\n  b: [\n")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.description.hasPrefix("config.yml:") == true)
        #expect(diagnostics.first?.message.hasPrefix("invalid YAML") == true)
        #expect((diagnostics.first?.location.line ?? 0) > 0)
    }

    /// A source over 4 MiB is refused by its size: a file before it is read (this one is sparse,
    /// 5 MiB of nothing), a device that never ends once it has said more, `$CONFIG` by its length.
    @Test func sourcesLargerThanTheLimitAreRefused() throws {
        let path = temporaryDirectory() + "/huge.yml"
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        #expect(ftruncate(fd, 5 << 20) == 0)
        close(fd)
        let inline = "# " + String(repeating: "x", count: 4 << 20) + "\n"
        let sources = ConfigSource.resolve(
            configFiles: [path, "/dev/zero"], checksFile: nil, notifiersFile: nil, environment: ["CONFIG": inline])
        #expect(throws: ConfigError.self) { try makeLoader().load(sources) }
        do {
            _ = try makeLoader().load(sources)
        } catch {
            let limit = "error: config source larger than 4 MiB (4194304 bytes), the limit of one source; split it into several (--config, --checks, --notifiers)"
            #expect(error.diagnostics.map(\.description) == ["\(path): \(limit)", "/dev/zero: \(limit)", "$CONFIG: \(limit)"])
        }
    }

    /// A label or notifier name goes into every console line, log line and mail subject: one
    /// config line must not forge a log line, move a terminal's cursor or reverse the text.
    @Test(arguments: [
        ("\"lab\\nFAKE LOG LINE\"", "checks.sample.lab\\nFAKE LOG LINE: label has the unprintable character \\n at position 4"),
        ("\"a\\rb\"", "checks.sample.a\\rb: label has the unprintable character \\r at position 2"),
        ("\"bell\\a\"", "checks.sample.bell\\u{07}: label has the unprintable character \\u{07} at position 5"),
        ("\"\u{202E}txt.exe\"", "checks.sample.\\u{202E}txt.exe: label has the unprintable character \\u{202E} at position 1"),
        (String(repeating: "x", count: 201), "checks.sample.\(String(repeating: "x", count: 201)): label is 201 characters long"),
    ])
    func unprintableOrLongLabelsAreErrors(_ label: String, _ expected: String) {
        let diagnostics = errors("checks:\n  sample:\n    \(label): {host: h}\n").filter { $0.severity == .error }
        #expect(diagnostics.map(\.description) == [
            "config.yml:3:5: error: \(expected); a label is printable text of at most 200 characters"
        ])
    }

    @Test func printableUnicodeLabelsAndNamesAreFine() throws {
        let long = String(repeating: "é", count: 200)
        let config = try load(
            "notifiers:\n  Störungen 👩‍💻:\n    type: sink\n    webhook: x\nchecks:\n  sample:\n    Prüfung: {host: h}\n    \(long): {host: h}\n    \"a b\\u00A0c\": {host: h}\n")
        #expect(config.checks.map(\.label) == ["Prüfung", long, "a b\u{A0}c"])
        #expect(config.notifiers.map(\.name) == ["Störungen 👩‍💻"])
    }

    @Test func notifierNamesFollowTheLabelRules() {
        let diagnostics = errors("notifiers:\n  \"ops\\nFAKE\": {type: sink, webhook: x}\nchecks:\n  sample:\n    a: {host: h}\n").filter { $0.severity == .error }
        #expect(diagnostics.map(\.description) == [
            "config.yml:2:3: error: notifiers.ops\\nFAKE: notifier name has the unprintable character \\n at position 4; a notifier name is printable text of at most 200 characters"
        ])
    }

    /// Whatever a diagnostic quotes from the config (a value, a key) stays on its line.
    @Test func diagnosticsAreOneLine() {
        let diagnostics = errors("checks:\n  sample:\n    a: {host: h, port: \"1\\r\\nerror: forged\", \"x\\ny\": 1}\n")
        #expect(diagnostics.map(\.description).allSatisfy { !$0.contains("\n") && !$0.contains("\r") })
        #expect(diagnostics.contains { $0.description.hasPrefix("config.yml:3:24: error: checks.sample.a.port: found \"1\\r\\nerror: forged\", expected") })
    }

    @Test func missingChecksIsAnError() {
        let diagnostics = errors("notifiers:\n  console: {}\n")
        #expect(diagnostics.contains { $0.path == "checks" && $0.message.hasPrefix("no checks configured") })
    }

    @Test func missingNotifiersFallsBackToConsoleWithAWarning() throws {
        let config = try load("checks:\n  sample:\n    a: {host: h}\n")
        #expect(config.notifiers.map(\.name) == ["console"])
        #expect(config.notifiers.first?.report == .always)
        #expect(config.warnings.contains { $0.path == "notifiers" })
    }

    @Test func missingFileIsAnError() {
        let loader = makeLoader()
        #expect(throws: ConfigError.self) {
            try loader.load([ConfigSource(section: .whole, name: "/nonexistent/config.yml")])
        }
        do {
            _ = try loader.load([ConfigSource(section: .whole, name: "/nonexistent/config.yml")])
        } catch {
            #expect(error.description.contains("/nonexistent/config.yml: error: cannot read config: No such file or directory"))
        }
    }

    @Test func sourcesMergeInOrderAndSectionsWrap() throws {
        let dir = temporaryDirectory()
        let base = try writeFile(dir, "base.yml", "notifiers:\n  console: {report: change}\nchecks:\n  sample:\n    a: {host: one, port: 1}\n")
        let site = try writeFile(dir, "site.yml", "checks:\n  sample:\n    a: {port: 2}\n    b: {host: two}\n")
        let checksOnly = try writeFile(dir, "checks.yml", "sample:\n  c: {host: three}\n")
        let sources = ConfigSource.resolve(
            configFiles: [base, site], checksFile: checksOnly, notifiersFile: nil,
            environment: ["NOTIFIERS": "console: {report: always}"])
        #expect(sources.map(\.name) == [base, site, checksOnly, "$NOTIFIERS"])
        let config = try makeLoader().load(sources)
        let byLabel = Dictionary(uniqueKeysWithValues: config.checks.map { ($0.label, $0) })
        #expect(byLabel["a"]?.options.string("host") == "one")
        #expect(byLabel["a"]?.options.int("port") == 2)
        #expect(byLabel["b"]?.options.string("host") == "two")
        #expect(byLabel["c"]?.options.string("host") == "three")
        #expect(config.notifiers.first?.report == .always)
    }

    @Test func environmentSourcesAsTheOriginal() {
        #expect(ConfigSource.resolve(configFiles: [], checksFile: nil, notifiersFile: nil, environment: [:]).map(\.name) == ["config.yml"])
        #expect(ConfigSource.resolve(configFiles: [], checksFile: nil, notifiersFile: nil, environment: ["HEALTHMONITOR_CONFIG_FILE": "/etc/hm.yml"]).map(\.name) == ["/etc/hm.yml"])
        #expect(ConfigSource.resolve(configFiles: [], checksFile: nil, notifiersFile: nil, environment: ["CONFIG_FILE": "a.yml", "HEALTHMONITOR_CONFIG_FILE": "b.yml"]).map(\.name) == ["a.yml"])
        #expect(ConfigSource.resolve(configFiles: ["cli.yml"], checksFile: nil, notifiersFile: nil, environment: ["CONFIG_FILE": "a.yml"]).map(\.name) == ["cli.yml"])
        let all = ConfigSource.resolve(
            configFiles: [], checksFile: nil, notifiersFile: nil,
            environment: ["CONFIG": "checks: {}", "CHECKS_FILE": "c.yml", "CHECKS": "x: {}", "NOTIFIERS_FILE": "n.yml", "NOTIFIERS": "y: {}"])
        #expect(all.map(\.name) == ["$CONFIG", "c.yml", "$CHECKS", "n.yml", "$NOTIFIERS"])
        #expect(all.map(\.section) == [.whole, .checks, .checks, .notifiers, .notifiers])
    }

    @Test func aCheckKeepsWhatWasWrittenAndSharesItsTypesDefaults() throws {
        let config = try load("checks:\n  sample:\n    a: {host: h1}\n    b: {host: h2, port: 81}\n")
        let (a, b) = (config.checks[0], config.checks[1])
        #expect(a.options.layers.written == ["host": "h1"] && b.options.layers.written == ["host": "h2", "port": .int(81)])
        #expect(a.options["port"] == .int(80) && b.options["port"] == .int(81) && a.options.int("port") == 80)
        let defaults: [String: JSONValue] = ["sleep": 60, "port": .int(80), "timeout": 30, "verify": true]
        #expect(a.options.layers.defaults == defaults && a.maskedConfig.defaults == defaults)
        #expect(a.options.values == defaults.merging(["host": "h1"]) { $1 } && b.options.values["port"] == .int(81))
        #expect(a.maskedConfig.written == ["host": "h1"] && a.maskedConfig.merged == a.options.values)
        // One dictionary of defaults for the type, not a copy per check (a native dictionary is
        // one reference to its storage).
        #expect(unsafeBitCast(a.maskedConfig.defaults, to: UInt.self) == unsafeBitCast(b.maskedConfig.defaults, to: UInt.self))
        #expect(unsafeBitCast(a.options.layers.defaults, to: UInt.self) == unsafeBitCast(b.options.layers.defaults, to: UInt.self))
        // The written values' storage is the masked config's (nothing in them is a secret).
        #expect(unsafeBitCast(a.options.layers.written, to: UInt.self) == unsafeBitCast(a.maskedConfig.written, to: UInt.self))
    }

    @Test func secretsAreMaskedInResultConfig() throws {
        let config = try load(
            """
            checks:
              sample:
                a: {host: "amqp://guest:guest@broker:5672/%2F", password: pw, headers: {Authorization: Bearer x, X-Trace: "1"}}
            """)
        let masked = try #require(config.checks.first?.maskedConfig)
        #expect(masked["password"] == .string(SecretMasking.mask))
        #expect(masked["headers"] == .object(["Authorization": .string(SecretMasking.mask), "X-Trace": .string(SecretMasking.mask)]))
        #expect(masked["host"] == .string("amqp://guest:\(SecretMasking.mask)@broker:5672/%2F"))
        #expect(masked["port"] == .int(80))
    }

    @Test func settingsSection() throws {
        let config = try load("settings: {state_dir: /var/lib/hm, shutdown_timeout: 3, host: probe-1}\nchecks:\n  sample:\n    a: {host: h}\n")
        #expect(config.settings.stateDirectory == "/var/lib/hm")
        #expect(config.settings.shutdownTimeout == 3)
        #expect(config.settings.host == "probe-1")
        #expect(config.settings.timerSlack == MonitorSettings.defaultTimerSlack)
    }

    /// `settings.timer_slack` is a percentage of a check's sleep (or off); anything else is an
    /// error at its line that says what was expected.
    @Test func timerSlackIsAPercentageOrOff() throws {
        let check = "checks:\n  sample:\n    a: {host: h}\n"
        #expect(try load("settings: {timer_slack: 2.5%}\n" + check).settings.timerSlack == 0.025)
        #expect(try load("settings: {timer_slack: off}\n" + check).settings.timerSlack == 0)
        #expect(try load("settings: {timer_slack: 0%}\n" + check).settings.timerSlack == 0)
        for bad in ["20%", "5", "-1%", "soon"] {
            let diagnostics = errors("settings:\n  timer_slack: \(bad)\n" + check).filter { $0.severity == .error }
            #expect(diagnostics.count == 1)
            #expect(diagnostics.first?.description == "config.yml:2:16: error: settings.timer_slack: found \"\(bad)\", expected a percentage of the check's sleep from 0% to 10% (2% is the default), or off")
        }
    }
}
