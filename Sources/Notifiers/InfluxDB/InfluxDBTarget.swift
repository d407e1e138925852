import Monitor

/// Where and how points are written: the InfluxDB 1.x HTTP API (`/write?db=…`, database created
/// through `/query`) or the 2.x API (`/api/v2/write?org=…&bucket=…`, token authentication).
/// Builds the requests; sending is the notifier's job.
struct InfluxDBTarget: Sendable {
    enum API: Sendable {
        /// InfluxDB 1.x: `database`, and Basic authentication when `username` is set.
        case v1(database: String, username: String?, password: String?)
        /// InfluxDB 2.x (and 1.8+'s compatibility API): organisation, bucket, API token.
        case v2(org: String, bucket: String, token: String)
    }

    var api: API
    /// `http(s)://host:port` plus any path prefix, without a trailing slash.
    var baseURL: String
    var verifyTLS: Bool
    var caFile: String?
    /// Seconds one request may take.
    var timeout: Double

    /// The host, for log lines (never the URL: it may carry a path that is nobody's business).
    var host: String { HTTPRequest.host(of: baseURL) }

    /// The write request for `lines` (newline-separated line protocol, nanosecond precision).
    func write<Lines: Sequence<String>>(_ lines: Lines) -> HTTPRequest {
        var body: [UInt8] = []
        for line in lines {
            body += line.utf8
            body.append(10)
        }
        let url: String
        var headers: [(name: String, value: String)] = [("Content-Type", "text/plain; charset=utf-8")]
        switch api {
        case .v1(let database, _, _):
            url = baseURL + "/write?db=" + Self.percentEncoded(database) + "&precision=ns"
        case .v2(let org, let bucket, let token):
            url = baseURL + "/api/v2/write?org=" + Self.percentEncoded(org) + "&bucket=" + Self.percentEncoded(bucket)
                + "&precision=ns"
            headers.append(("Authorization", "Token " + token))
        }
        headers += basicAuthorization
        return request("POST", url, headers: headers, body: body)
    }

    /// `CREATE DATABASE "name"` for 1.x (a no-op when it exists); `nil` for 2.x, whose buckets
    /// are created by an administrator.
    func createDatabase() -> HTTPRequest? {
        guard case .v1(let database, _, _) = api else { return nil }
        let statement = "CREATE DATABASE " + Self.quotedIdentifier(database)
        return request(
            "POST", baseURL + "/query",
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + basicAuthorization,
            body: Array(("q=" + Self.percentEncoded(statement)).utf8))
    }

    private var basicAuthorization: [(name: String, value: String)] {
        guard case .v1(_, let username?, let password) = api else { return [] }
        // Basic authentication rather than `u=`/`p=` query parameters keeps the password out of
        // URLs, and so out of proxy and server access logs.
        return [("Authorization", "Basic " + Base64.encode(Array("\(username):\(password ?? "")".utf8)))]
    }

    private func request(_ method: String, _ url: String, headers: [(name: String, value: String)], body: [UInt8]) -> HTTPRequest {
        HTTPRequest(
            method: method, url: url, headers: headers, body: body, timeout: timeout, connectTimeout: min(timeout, 5),
            verifyTLS: verifyTLS, caFile: caFile, responseBody: .collect(limit: 16 * 1024))
    }

    /// An InfluxQL identifier in double quotes, with `"` and `\` escaped.
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    /// `text` for a URL query value or form field: everything but unreserved characters
    /// (RFC 3986) percent-encoded as UTF-8.
    static func percentEncoded(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF")
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
