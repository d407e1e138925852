#if canImport(Glibc)
import Glibc
#endif
import Monitor

/// TLS servers on 127.0.0.1 with certificates made for the test, started by a test and stopped
/// when it ends: Debian's `/usr/bin/python3` with `python3-cryptography` (installed by
/// `scripts/test.sh`). Nothing is committed: a throwaway CA and every key are generated into a
/// temporary directory that `stop()` removes.
///
/// HTTPS servers (`GET /healthz` answers `healthy`), one per certificate:
/// - `valid`: `localhost` (and 127.0.0.1), signed by the CA, 90 days and 1 hour left;
/// - `expiring`: the same, 3 days and 1 hour left;
/// - `expired`: the same, expired 2 days ago;
/// - `selfsigned`: `localhost`, signed by itself;
/// - `wronghost`: `wrong.example`, signed by the CA.
///
/// SMTP servers (greeting, EHLO, STARTTLS, QUIT): `smtp` (the valid certificate after
/// STARTTLS), `smtp_expiring`, and `smtp_plain`, which offers no STARTTLS.
final class TLSTestServers: Sendable {
    let ports: [String: Int]
    let pid: pid_t
    let directory: String

    /// The CA's certificate (PEM), for `ca_file`.
    var caFile: String { directory + "/ca.pem" }

    private init(ports: [String: Int], pid: pid_t, directory: String) {
        self.ports = ports
        self.pid = pid
        self.directory = directory
    }

    /// The port of server `name` (see the list above).
    func port(_ name: String) -> Int { ports[name] ?? 1 }

    /// Runs `body` with fresh servers and certificates, stopped and removed afterwards.
    static func with<T>(_ body: (TLSTestServers) async throws -> T) async throws -> T {
        let servers = try start()
        defer { servers.stop() }
        return try await body(servers)
    }

    static func start() throws -> TLSTestServers {
        let directory = try LocalHTTPServer.makeTemporaryDirectory()
        let scriptPath = directory + "/tls_servers.py"
        try LocalHTTPServer.writeFile(scriptPath, script)
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw LocalHTTPServer.ServerError("pipe failed") }
        let pid = try LocalHTTPServer.spawn(["/usr/bin/python3", "-u", scriptPath, directory], stdout: pipeFDs[1])
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        // The script prints `PORTS {"valid": n, …}` once every server listens.
        let text = LocalHTTPServer.firstLine(of: pipeFDs[0])
        guard text.hasPrefix("PORTS "), case .object(let members)? = try? JSONValue.parse(String(text.dropFirst(6))) else {
            kill(pid, SIGKILL)
            _ = LocalHTTPServer.waitFor(pid)
            _ = try? LocalHTTPServer.run(["/bin/rm", "-rf", directory])
            throw LocalHTTPServer.ServerError("TLS test servers did not start (printed \"\(text)\"); is python3-cryptography installed?")
        }
        return TLSTestServers(ports: members.compactMapValues(\.intValue), pid: pid, directory: directory)
    }

    func stop() {
        kill(pid, SIGKILL)
        _ = LocalHTTPServer.waitFor(pid)
        _ = try? LocalHTTPServer.run(["/bin/rm", "-rf", directory])
    }

    static let script = #"""
import datetime, json, socket, socketserver, ssl, sys, threading, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

directory = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)

def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "healthmonitor tests"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])

def certificate(subject, key, issuer, issuer_key, not_before, not_after, sans=None, ca=False):
    builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(s) for s in sans] + [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)

def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

ca_key = ec.generate_private_key(ec.SECP256R1())
ca = certificate("healthmonitor test CA", ca_key, "healthmonitor test CA", ca_key, now - DAY, now + 3650 * DAY, ca=True)
write(os.path.join(directory, "ca.pem"), ca.public_bytes(serialization.Encoding.PEM))

leaves = {
    "valid": ("localhost", now - DAY, now + 90 * DAY + datetime.timedelta(hours=1), ["localhost"], True),
    "expiring": ("localhost", now - DAY, now + 3 * DAY + datetime.timedelta(hours=1), ["localhost"], True),
    "expired": ("localhost", now - 30 * DAY, now - 2 * DAY, ["localhost"], True),
    "selfsigned": ("localhost", now - DAY, now + 90 * DAY, ["localhost"], False),
    "wronghost": ("wrong.example", now - DAY, now + 90 * DAY, ["wrong.example"], True),
}
contexts = {}
for label, (cn, nb, na, sans, signed) in leaves.items():
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate(cn, key, "healthmonitor test CA" if signed else cn, ca_key if signed else key, nb, na, sans)
    chain = cert.public_bytes(serialization.Encoding.PEM) + (ca.public_bytes(serialization.Encoding.PEM) if signed else b"")
    cert_path, key_path = os.path.join(directory, label + ".pem"), os.path.join(directory, label + ".key")
    write(cert_path, chain)
    write(key_path, pem_key(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    contexts[label] = context

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        body = b"healthy" if self.path == "/healthz" else b"not found"
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class HTTPSServer(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass

ports = {}
for label, context in contexts.items():
    server = HTTPSServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    ports[label] = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for a STARTTLS probe: greeting, EHLO, STARTTLS, then QUIT over TLS."""
    offer_tls = True
    def handle(self):
        conn = self.request
        def send(line):
            conn.sendall(line.encode() + b"\r\n")
        send("220 localhost ESMTP test")
        reader = conn.makefile("rb")
        while True:
            line = reader.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip().upper()
            if command.startswith("EHLO") or command.startswith("HELO"):
                if self.offer_tls:
                    send("250-localhost")
                    send("250 STARTTLS")
                else:
                    send("250 localhost")
            elif command == "STARTTLS" and self.offer_tls:
                send("220 ready to start TLS")
                try:
                    conn = contexts[self.server.cert].wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                reader = conn.makefile("rb")
            elif command == "QUIT":
                send("221 bye")
                return
            else:
                send("502 not implemented")

class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    def handle_error(self, request, client_address):
        pass

for label, cert, offer in (("smtp", "valid", True), ("smtp_expiring", "expiring", True), ("smtp_plain", "valid", False)):
    handler = type("H", (SMTPHandler,), {"offer_tls": offer})
    server = SMTPServer(("127.0.0.1", 0), handler)
    server.cert = cert
    ports[label] = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

print("PORTS " + json.dumps(ports), flush=True)
threading.Event().wait()
"""#
}
