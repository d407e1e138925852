import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP (or HTTPS) server on 127.0.0.1, started by a test and stopped when it ends:
/// Debian's `/usr/bin/python3` running `ThreadingHTTPServer` with the routes below. No
/// environment variable needed, so these tests never skip.
///
/// Routes: `/bytes/N` (N bytes, `?length=0` without Content-Length), `/slow/N?chunk=K&delay=S`
/// (K bytes every S seconds), `/redirect/H?to=PATH` (H hops of 302, then PATH), `/status/CODE`
/// (`?retry_after=`), `/headers` (the request headers as JSON), `/echo`, `/hook/BEHAVIOUR/…`
/// (recorded; `ok`, `fail500xN` (first N fail), `failnthN` (request N fails), `throttleN` with `?ra=` seconds, `throttledate`, `bad` = 400,
/// `gone` = 404), `/_requests?prefix=/hook/…` (the recorded requests as JSON), `/healthz`
/// (`healthy`), `/json` (a status document), `/errorpage` (a 200 with an error page),
/// `/haystack/N?word=W&at=K` (N bytes of `x` with W at offset K, sent in 1 MiB writes).
final class LocalHTTPServer: Sendable {
    let port: Int
    let pid: pid_t
    let scheme: String
    let directory: String

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`, matching the certificate).
    var base: String { scheme == "https" ? "https://localhost:\(port)" : "http://127.0.0.1:\(port)" }

    /// Certificate and key of a TLS server, and the directory they are in.
    struct TLSFiles: Sendable {
        var certificate: String
        var key: String
    }

    private init(port: Int, pid: pid_t, scheme: String, directory: String) {
        self.port = port
        self.pid = pid
        self.scheme = scheme
        self.directory = directory
    }

    /// Runs `body` with a fresh server (HTTPS with a new self-signed certificate when `tls`),
    /// and stops the server afterwards, whatever happens.
    static func with<T>(tls: Bool = false, _ body: (LocalHTTPServer) async throws -> T) async throws -> T {
        let server = try start(tls: tls)
        defer { server.stop() }
        return try await body(server)
    }

    static func start(tls: Bool = false) throws -> LocalHTTPServer {
        let directory = try makeTemporaryDirectory()
        let scriptPath = directory + "/server.py"
        try writeFile(scriptPath, script)
        var arguments = ["/usr/bin/python3", "-u", scriptPath]
        if tls {
            let files = try makeSelfSignedCertificate(in: directory)
            arguments += ["--tls", files.certificate, files.key]
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw ServerError("pipe failed") }
        let pid = try spawn(arguments, stdout: pipeFDs[1])
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        // The server prints `PORT n` once it listens.
        let text = firstLine(of: pipeFDs[0])
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            kill(pid, SIGKILL)
            _ = waitFor(pid)
            throw ServerError("test HTTP server did not start (printed \"\(text)\")")
        }
        return LocalHTTPServer(port: port, pid: pid, scheme: tls ? "https" : "http", directory: directory)
    }

    /// Stops the server and removes its directory.
    func stop() {
        kill(pid, SIGKILL)
        _ = Self.waitFor(pid)
        _ = try? Self.run(["/bin/rm", "-rf", directory])
    }

    /// The certificate of a TLS server (PEM), to trust it as a CA file.
    var certificateFile: String { directory + "/cert.pem" }

    // MARK: Processes and files

    struct ServerError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func makeSelfSignedCertificate(in directory: String) throws -> TLSFiles {
        let files = TLSFiles(certificate: directory + "/cert.pem", key: directory + "/key.pem")
        let status = try run([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", files.key,
            "-out", files.certificate, "-days", "30", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ], quiet: true)
        guard status == 0 else { throw ServerError("openssl req failed with status \(status)") }
        return files
    }

    /// The first line a child writes to `fd` (without its newline), read byte by byte so nothing
    /// after it is taken from the pipe; what there is at end of file.
    static func firstLine(of fd: Int32) -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 10 { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "hm-http-test-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ServerError("mkdtemp failed") }
        return String(cString: made)
    }

    static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else { throw ServerError("cannot write \(path)") }
        defer { fclose(file) }
        fputs(text, file)
    }

    /// Starts `arguments` (an absolute path first) with stdout to `stdout` (or inherited).
    static func spawn(_ arguments: [String], stdout: Int32? = nil, quiet: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdout { posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if quiet {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for case let p? in argv { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard rc == 0 else { throw ServerError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Runs a command to its end and returns its exit status.
    @discardableResult
    static func run(_ arguments: [String], quiet: Bool = false) throws -> Int32 {
        waitFor(try spawn(arguments, quiet: quiet))
    }

    static func waitFor(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    static let script = #"""
import json, sys, time, threading, ssl, email.utils
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

lock = threading.Lock()
records = []
counters = {}
CHUNK = b"x" * (1024 * 1024)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream(self, total, chunk=len(CHUNK), delay=0.0, length=True):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent = 0
        while sent < total:
            n = min(chunk, total - sent)
            self.wfile.write(CHUNK[:n] if n <= len(CHUNK) else b"x" * n)
            sent += n
            if delay:
                time.sleep(delay)

    def handle_any(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            head = parts[0]
            if head == "bytes":
                return self.stream(int(parts[1]), length=query.get("length", "1") == "1")
            if head == "slow":
                return self.stream(int(parts[1]), int(query.get("chunk", "1024")), float(query.get("delay", "0.1")))
            if head == "redirect":
                hops = int(parts[1])
                target = "/redirect/%d" % (hops - 1) if hops > 1 else query.get("to", "/bytes/100")
                if hops > 1 and "to" in query:
                    target += "?to=" + query["to"]
                return self.reply(302, b"moved", [("Location", target)])
            if head == "status":
                code = int(parts[1])
                extra = [("Retry-After", query["retry_after"])] if "retry_after" in query else []
                return self.reply(code, ("status %d body" % code).encode(), extra)
            if head == "healthz":
                return self.reply(200, b"healthy", [("Content-Type", "text/plain")])
            if head == "json":
                data = json.dumps({"status": "ok", "db": {"connected": True, "latency_ms": 12.5}, "queue": [4, 5, 6],
                                   "version": "2.4.1", "token": "s3cr3t-value"}).encode()
                return self.reply(200, data, [("Content-Type", "application/json")])
            if head == "errorpage":
                return self.reply(200, b"<html><body>Internal error: password=hunter2 at https://app:pw@db.example/x</body></html>")
            if head == "haystack":
                total, at, word = int(parts[1]), int(query.get("at", "0")), query.get("word", "needle").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                sent = 0
                while sent < total:
                    n = min(len(CHUNK), total - sent)
                    piece = bytearray(CHUNK[:n])
                    lo, hi = max(at, sent), min(at + len(word), sent + n)
                    if lo < hi:
                        piece[lo - sent:hi - sent] = word[lo - at:hi - at]
                    self.wfile.write(piece)
                    sent += n
                return
            if head == "headers":
                data = json.dumps({k: v for k, v in self.headers.items()}).encode()
                return self.reply(200, data, [("Content-Type", "application/json")])
            if head == "echo":
                return self.reply(200, body, [("Content-Type", self.headers.get("Content-Type", "")), ("X-Method", self.command)])
            if head == "_requests":
                prefix = query.get("prefix", "/")
                with lock:
                    data = json.dumps([r for r in records if r["path"].startswith(prefix)]).encode()
                return self.reply(200, data, [("Content-Type", "application/json")])
            if head == "hook":
                with lock:
                    records.append({"method": self.command, "path": url.path, "query": url.query,
                                    "headers": {k: v for k, v in self.headers.items()},
                                    "body": body.decode("utf-8", "replace"), "time": time.time()})
                    counters[url.path] = counters.get(url.path, 0) + 1
                    n = counters[url.path]
                behaviour = parts[1] if len(parts) > 1 else "ok"
                if behaviour.startswith("fail500x") and n <= int(behaviour[8:]):
                    return self.reply(500, b"upstream exploded")
                if behaviour == "throttledate":
                    if n == 1:
                        when = email.utils.formatdate(time.time() + 2, usegmt=True)
                        return self.reply(429, b"rate limited", [("Retry-After", when)])
                elif behaviour.startswith("throttle") and n <= int(behaviour[8:]):
                    return self.reply(429, b"rate limited", [("Retry-After", query.get("ra", "1"))])
                if behaviour.startswith("failnth") and n == int(behaviour[7:]):
                    return self.reply(500, b"upstream exploded")
                if behaviour == "bad":
                    return self.reply(400, b"invalid_payload")
                if behaviour == "gone":
                    return self.reply(404, b"no_service")
                return self.reply(200, b"ok", [("Content-Type", "text/plain")])
            return self.reply(404, b"no such route")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass


def main():
    args = sys.argv[1:]
    server = Server(("127.0.0.1", 0), Handler)
    if args and args[0] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args[1], args[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()

main()
"""#
}
