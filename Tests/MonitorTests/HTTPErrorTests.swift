import Testing

@testable import Monitor

@Suite struct HTTPErrorTests {
    @Test func scrubRemovesTheURLAndItsPath() {
        let url = "https://hooks.slack.com/services/T0/B0/SECRET?x=1"
        let text = "Could not fetch https://hooks.slack.com/services/T0/B0/SECRET?x=1; also /services/T0/B0/SECRET?x=1"
        let scrubbed = HTTPError.scrub(text, url: url)
        #expect(!scrubbed.contains("SECRET"))
        #expect(scrubbed == "Could not fetch <url>; also /…")
    }

    @Test func descriptionNamesMethodAndHostOnly() {
        let error = HTTPError(kind: .status(500), method: "POST", host: "hooks.slack.com", detail: "boom")
        #expect(error.description == "POST hooks.slack.com: HTTP 500: boom")
        #expect(HTTPError(kind: .timeout, method: "GET", host: "h", detail: "").description == "GET h: timed out")
    }

    @Test func permanentOnlyForErrorsARetryCannotFix() {
        func permanent(_ kind: HTTPError.Kind) -> Bool {
            HTTPError(kind: kind, method: "POST", host: "h", detail: "").isPermanent
        }
        #expect(permanent(.status(400)))
        #expect(permanent(.status(404)))
        #expect(permanent(.tls))
        #expect(!permanent(.status(429)))
        #expect(!permanent(.status(503)))
        #expect(!permanent(.connect))
        #expect(!permanent(.cancelled))
    }
}
