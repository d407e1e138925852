import Testing

@testable import Monitor

@Suite struct HTTPRequestTests {
    @Test(arguments: [
        ("https://hooks.slack.com/services/T0/B0/SECRET", "hooks.slack.com"),
        ("http://user:pw@example.org:8080/x?token=1", "example.org"),
        ("https://[::1]:8443/path", "[::1]"),
        ("http://127.0.0.1", "127.0.0.1"),
        ("http://host?q=1", "host"),
        ("not a url", "?"),
    ])
    func hostOnly(url: String, host: String) {
        #expect(HTTPRequest.host(of: url) == host)
    }

    @Test func postJSONSetsMethodTypeAndBody() {
        let request = HTTPRequest.postJSON(#"{"a":1}"#, to: "http://h/x", headers: [("X-T", "v")])
        #expect(request.method == "POST")
        #expect(request.headers.map(\.name) == ["Content-Type", "X-T"])
        #expect(request.headers.first?.value == "application/json")
        #expect(request.body == Array(#"{"a":1}"#.utf8))
    }
}
