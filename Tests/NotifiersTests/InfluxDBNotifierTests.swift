import Monitor
import Testing

@testable import Notifiers

@Suite struct InfluxDBNotifierTests {
    func options(_ values: [String: JSONValue], version: Int) -> Options {
        var all: [String: JSONValue] = ["verify": true, "timeout": 10, "flush_interval": 5, "flush_size": 1000, "buffer_size": 10000]
        if version == 1 {
            all.merge(["hostname": "localhost", "port": 8086, "ssl": false, "database": "healthmonitor"]) { $1 }
        }
        all.merge(values) { $1 }
        return Options(all, path: "notifiers.influx")
    }

    func header(_ request: HTTPRequest, _ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    @Test func v1WriteRequest() throws {
        let target = try InfluxDBNotifier.target(
            options(["hostname": "influx.example.org", "port": 8087, "ssl": true, "database": "health & co", "username": "writer", "password": "pa:ss"], version: 1),
            version: 1)
        let request = target.write(["m f=1i 1", "m f=2i 2"])
        #expect(request.method == "POST")
        #expect(request.url == "https://influx.example.org:8087/write?db=health%20%26%20co&precision=ns")
        #expect(String(decoding: request.body, as: UTF8.self) == "m f=1i 1\nm f=2i 2\n")
        #expect(header(request, "Authorization") == "Basic " + Base64.encode(Array("writer:pa:ss".utf8)))
        #expect(header(request, "Content-Type") == "text/plain; charset=utf-8")
        #expect(!request.url.contains("pa"))  // the password is never in the URL
    }

    @Test func v1CreateDatabase() throws {
        let target = try InfluxDBNotifier.target(options(["database": #"we"ird\db"#], version: 1), version: 1)
        let request = try #require(target.createDatabase())
        #expect(request.url == "http://localhost:8086/query")
        #expect(String(decoding: request.body, as: UTF8.self) == "q=" + InfluxDBTarget.percentEncoded(#"CREATE DATABASE "we\"ird\\db""#))
        #expect(header(request, "Authorization") == nil)
    }

    @Test func v1IPv6Host() throws {
        let target = try InfluxDBNotifier.target(options(["hostname": "::1"], version: 1), version: 1)
        #expect(target.baseURL == "http://[::1]:8086")
    }

    @Test func v2WriteRequest() throws {
        let target = try InfluxDBNotifier.target(
            options(["url": "https://influx.example.org/prefix/", "token": "t0k=n", "org": "my org", "bucket": "health/ch"], version: 2),
            version: 2)
        let request = target.write(["m f=1i 1"])
        #expect(request.url == "https://influx.example.org/prefix/api/v2/write?org=my%20org&bucket=health%2Fch&precision=ns")
        #expect(header(request, "Authorization") == "Token t0k=n")
        #expect(target.createDatabase() == nil)
        #expect(target.host == "influx.example.org")
    }

    @Test(arguments: [
        (["hostname": "http://influx:8086"], 1, "hostname"),
        (["database": ""], 1, "database"),
        (["password": "p"], 1, "username"),
        (["url": "influx.example.org", "token": "t", "org": "o", "bucket": "b"], 2, "url"),
        (["url": "http://influx/?org=x", "token": "t", "org": "o", "bucket": "b"], 2, "url"),
        (["url": "http://influx", "token": "", "org": "o", "bucket": "b"], 2, "token"),
        (["url": "http://influx", "token": "t", "org": "o", "bucket": ""], 2, "bucket"),
    ] as [([String: JSONValue], Int, String)])
    func problems(_ values: [String: JSONValue], _ version: Int, _ option: String) {
        #expect {
            _ = try InfluxDBNotifier.target(options(values, version: version), version: version)
        } throws: { error in
            (error as? ConfigDiagnostic)?.path == "notifiers.influx.\(option)"
        }
    }

    @Test func percentEncoding() {
        #expect(InfluxDBTarget.percentEncoded("a-z_0.9~") == "a-z_0.9~")
        #expect(InfluxDBTarget.percentEncoded("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9")
    }
}
