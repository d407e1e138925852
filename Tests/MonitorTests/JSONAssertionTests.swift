import Testing

@testable import Monitor

@Suite struct JSONAssertionTests {
    static let document = try! JSONValue.parse(
        #"{"status":"ok","db":{"connected":true,"latency_ms":12.5},"queue":[4,5,6],"version":"2.4.1","a key":{"x":null},"token":"s3cr3t","n":"7"}"#)

    @Test(arguments: [
        ("$", [JSONPath.Step]()),
        ("$.status", [.member("status")]),
        ("$.db.latency_ms", [.member("db"), .member("latency_ms")]),
        ("$.queue[0]", [.member("queue"), .index(0)]),
        ("$.queue[-1]", [.member("queue"), .index(-1)]),
        ("$['a key'].x", [.member("a key"), .member("x")]),
        (#"$["it's"]"#, [.member("it's")]),
        (#"$['a\'b']"#, [.member("a'b")]),
    ])
    func pathsParse(text: String, steps: [JSONPath.Step]) throws {
        #expect(try JSONPath(text).steps == steps)
    }

    @Test(arguments: [
        ("status", "no $ at the start"),
        ("$..status", "recursive descent (..) is not supported"),
        ("$.queue[*]", "wildcards are not supported"),
        ("$.*", "wildcards are not supported"),
        ("$.queue[?(@ > 1)]", "is not an index or a quoted name"),
        ("$['open", "an unclosed ['name']"),
        ("$.queue[1", "an unclosed ["),
        ("$.", "an empty name"),
    ])
    func pathsOutsideTheSubsetAreRefused(text: String, reason: String) {
        do {
            _ = try JSONPath(text)
            Issue.record("\(text) accepted")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(error.description.contains("supported: $ then .name"))
        }
    }

    @Test func pathsFindValues() throws {
        let d = Self.document
        #expect(try JSONPath("$.status").value(in: d) == "ok")
        #expect(try JSONPath("$.queue[-1]").value(in: d) == 6)
        #expect(try JSONPath("$.queue[3]").value(in: d) == nil)
        #expect(try JSONPath("$.queue[-4]").value(in: d) == nil)
        #expect(try JSONPath("$['a key'].x").value(in: d) == .null)
        #expect(try JSONPath("$.status.deeper").value(in: d) == nil)
        #expect(try JSONPath("$.db[0]").value(in: d) == nil)
    }

    static func assertion(_ path: String, _ test: JSONAssertion.Test) -> JSONAssertion {
        JSONAssertion(path: try! JSONPath(path), test: test)
    }

    /// Each assertion that fails says the path, what was found and what was expected.
    @Test(arguments: [
        ("$.status", JSONAssertion.Test.equals("ok"), nil),
        ("$.status", .equals("degraded"), #"$.status is "ok", expected "degraded""#),
        ("$.db.latency_ms", .equals("12.5"), nil),
        ("$.queue[0]", .equals("4.0"), nil),
        ("$.n", .equals("7"), nil),
        ("$.db.connected", .equals("true"), nil),
        ("$.db.connected", .equals("false"), #"$.db.connected is true, expected "false""#),
        ("$['a key'].x", .equals(.null), nil),
        ("$.queue", .equals("[4,5,6]"), nil),
        ("$.missing", .equals("ok"), #"$.missing is missing, expected "ok""#),
        ("$.db.connected", .exists(true), nil),
        ("$.db.gone", .exists(true), "$.db.gone is missing, expected it to exist"),
        ("$.status", .exists(false), #"$.status is "ok", expected it to be absent"#),
        ("$.version", .matches(#"^2\."#), nil),
        ("$.version", .matches(#"^3\."#), #"$.version is "2.4.1", expected to match ^3\."#),
        ("$.db.latency_ms", .lessThan(100), nil),
        ("$.db.latency_ms", .lessThan(10), "$.db.latency_ms is 12.5, expected < 10"),
        ("$.queue[2]", .greaterThan(5), nil),
        ("$.queue[0]", .greaterThan(5.5), "$.queue[0] is 4, expected > 5.5"),
        ("$.status", .lessThan(1), #"$.status is "ok", expected a number < 1"#),
        ("$.token", .equals("other"), #"$.token is ********, expected "other""#),
        ("$.db", .equals("x"), #"$.db is {"connected":true,"latency_ms":12.5}, expected "x""#),
    ] as [(String, JSONAssertion.Test, String?)])
    func assertionsSayWhatTheyFound(path: String, test: JSONAssertion.Test, failure: String?) {
        #expect(Self.assertion(path, test).failure(in: Self.document) == failure)
    }

    // MARK: The config, through the real loader

    static func load(_ yaml: String) throws(ConfigError) -> MonitorConfig {
        try ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: [], environment: [:])
            .load([ConfigSource(section: .whole, name: "config.yml", text: yaml + "\nnotifiers: {}\n")])
    }

    static func build(_ yaml: String) throws -> DownloadCheck {
        let config = try load(yaml)
        return try DownloadCheck(options: try #require(config.checks.first).options)
    }

    @Test func expectJSONIsReadFromTheConfig() throws {
        let check = try Self.build(
            """
            checks:
              download:
                api:
                  url: https://api.example.org/health
                  expect_json:
                    - {path: $.status, equals: ok}
                    - {path: $.db.connected, exists: true}
                    - {path: $.version, matches: '^2\\.'}
                    - {path: $.queue.length, "<": 100}
                    - path: $.uptime
                      ">": 0.5
            """)
        #expect(check.jsonAssertions.map(\.path.description) == ["$.status", "$.db.connected", "$.version", "$.queue.length", "$.uptime"])
        #expect(check.request.responseBody == .collect(limit: 1 << 20))
        #expect(check.jsonMaxBytes == 1 << 20)
    }

    /// A mistake inside `expect_json` is reported at the item's own line, key and all.
    @Test(arguments: [
        ("- {path: status, equals: ok}", "config.yml:7:18: error: checks.download.api.expect_json[1].path: no $ at the start in JSONPath \"status\""),
        ("- {path: $.a, equal: ok}", "config.yml:7:30: error: checks.download.api.expect_json[1].equal: unknown key; an item has path and one of equals, exists, matches, <, >"),
        ("- {path: $.a}", "config.yml:7:11: error: checks.download.api.expect_json[1]: no test: expected one of equals, exists, matches, <, >"),
        ("- {path: $.a, equals: 1, exists: true}", "config.yml:7:11: error: checks.download.api.expect_json[1]: more than one test (equals, exists): give one per item"),
        ("- {path: $.a, exists: maybe}", "config.yml:7:31: error: checks.download.api.expect_json[1].exists: found \"maybe\", expected true or false"),
        ("- {path: $.a, \"<\": lots}", "config.yml:7:28: error: checks.download.api.expect_json[1].<: found \"lots\", expected a number"),
        ("- {path: $.a, matches: \"(\"}", "config.yml:7:32: error: checks.download.api.expect_json[1].matches: not a regular expression"),
        ("- {equals: ok}", "config.yml:7:11: error: checks.download.api.expect_json[1]: no path: expected a JSONPath like $.status"),
        ("- ok", "config.yml:7:11: error: checks.download.api.expect_json[1]: found \"ok\", expected a mapping like {path: $.status, equals: ok}"),
    ])
    func expectJSONMistakesNameTheirLine(item: String, diagnostic: String) throws {
        let yaml = """
            checks:
              download:
                api:
                  url: https://api.example.org/health
                  expect_json:
                    - {path: $.status, equals: ok}
                    \(item)
            """
        do {
            _ = try Self.build(yaml)
            Issue.record("accepted: \(item)")
        } catch let error as ConfigDiagnostic {
            #expect(error.description.hasPrefix(diagnostic), "\(error.description)")
        }
    }

    @Test func expectBodyTakesTextOrARegex() throws {
        let text = try Self.build("checks:\n  download:\n    a:\n      url: http://h/healthz\n      expect_body: healthy\n")
        guard case .substring("healthy") = text.request.bodyPattern else { Issue.record("not a substring"); return }
        let regex = try Self.build("checks:\n  download:\n    a:\n      url: http://h/\n      expect_body: {regex: '^ok$'}\n")
        guard case .regex("^ok$") = regex.request.bodyPattern else { Issue.record("not a regex"); return }
        #expect(regex.request.responseBody == .discard)

        for (written, message) in [
            ("{regex: '('}", "config.yml:5:28: error: checks.download.a.expect_body.regex: not a regular expression"),
            ("{text: x}", #"config.yml:5:20: error: checks.download.a.expect_body: found {"text":"x"}, expected text the body must contain, or {regex: PATTERN}"#),
            ("[a, b]", #"config.yml:5:20: error: checks.download.a.expect_body: found ["a","b"], expected"#),
        ] {
            do {
                _ = try Self.build("checks:\n  download:\n    a:\n      url: http://h/\n      expect_body: \(written)\n")
                Issue.record("accepted: \(written)")
            } catch let error as ConfigDiagnostic {
                #expect(error.description.hasPrefix(message), "\(error.description)")
            }
        }
    }

    @Test func methodAndBody() throws {
        let post = try Self.build(
            "checks:\n  download:\n    a:\n      url: http://h/api\n      method: POST\n      body: '{\"q\":1}'\n      headers: {Content-Type: application/json}\n")
        #expect(post.request.method == "POST" && post.request.body == Array(#"{"q":1}"#.utf8))
        let directory = temporaryDirectory()
        let file = try writeFile(directory, "body.json", "{\"from\":\"file\"}\n")
        let put = try Self.build("checks:\n  download:\n    a:\n      url: http://h/api\n      method: put\n      body_file: \(file)\n")
        #expect(put.request.method == "PUT" && put.request.body == Array("{\"from\":\"file\"}\n".utf8))
        let head = try Self.build("checks:\n  download:\n    a:\n      url: http://h/\n      method: head\n")
        #expect(head.request.method == "HEAD")

        for (extra, message) in [
            ("body: x", "checks.download.a.body: a request body needs method POST or PUT (method is GET)"),
            ("method: post\n      body: x\n      body_file: /nonexistent", "checks.download.a.body_file: both body and body_file are set; give only one"),
            ("method: post\n      body_file: /nonexistent/body", "checks.download.a.body_file: cannot read /nonexistent/body"),
            ("method: head\n      expect_body: ok", "checks.download.a.expect_body: a HEAD response has no body to search; use GET"),
            ("method: delete", "checks.download.a.method: found \"delete\", expected one of get, head, post, put"),
        ] {
            do {
                _ = try Self.build("checks:\n  download:\n    a:\n      url: http://h/\n      \(extra)\n")
                Issue.record("accepted: \(extra)")
            } catch let error as ConfigDiagnostic {
                #expect(error.description.contains(message), "\(error.description)")
            } catch let error as ConfigError {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }

    /// A POST body may log in: it never leaves the process in a result's config.
    @Test func aRequestBodyIsMaskedInResults() {
        let masked = SecretMasking.masked(["url": "http://h/login", "body": #"{"user":"u","password":"p"}"#, "method": "post"])
        #expect(masked.objectValue?["body"] == .string(SecretMasking.mask))
        #expect(masked.objectValue?["method"] == "post")
    }
}
