internal import CCurl
import Synchronization

/// One transfer: owns a curl easy handle, the C memory it points into (header list, error
/// buffer) and the state its callbacks fill in.
///
/// `@unchecked Sendable`: after `HTTPClient` hands it to the loop, every field except
/// `cancelRequested` (an atomic) is touched only by the loop thread.
final class CurlTransfer: @unchecked Sendable {
    /// Called exactly once, on the loop thread, with the transfer's result.
    typealias Completion = @Sendable (Result<HTTPResponse, HTTPError>) -> Void

    let request: HTTPRequest
    /// The easy handle (`CURL *`); nil only when libcurl is out of memory.
    let handle: UnsafeMutableRawPointer?
    /// Set by `HTTPClient` before the transfer is queued; called exactly once by the loop.
    var completion: Completion?
    /// Set from any thread when the awaiting task is cancelled.
    let cancelRequested = Atomic<Bool>(false)

    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var body: [UInt8] = []
    private var bodyBytes: Int64 = 0
    private var stoppedAtMaxBytes = false
    private var responseHeaders: [(name: String, value: String)] = []
    private var responseHeaderBytes = 0
    /// libcurl's cumulative phase times when the last redirect (3xx) response began: libcurl adds
    /// every hop's phases together, so the final hop's own are the totals minus these.
    private var beforeFinalHop: HTTPTimings?
    private let collectLimit: Int
    private var scanner: BodyScanner?
    /// Read while the connection is open (a finished transfer's connection may be closed).
    private var tlsVersion: String?

    /// Response headers kept per response; more are dropped (a hostile server cannot grow us).
    private static let maxHeaderBytes = 64 * 1024

    init(request: HTTPRequest) {
        self.request = request
        handle = curl_easy_init()
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        switch request.responseBody {
        case .discard: collectLimit = 0
        case .collect(let limit): collectLimit = max(0, limit)
        }
        scanner = request.bodyPattern.map(BodyScanner.init)
    }

    deinit {
        if let handle { curl_easy_cleanup(handle) }
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
    }

    // MARK: Setting up

    /// Sets every option; returns the error that makes the request impossible, if any.
    func configure() -> HTTPError? {
        guard let handle else { return fail(.other, "libcurl could not create a transfer (out of memory)") }
        let r = request
        if r.headers.contains(where: { $0.name.contains(where: \.isNewline) || $0.value.contains(where: \.isNewline) }) {
            return fail(.invalidRequest, "a header name or value contains a line break")
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        var codes: [CURLcode] = []
        func long(_ option: CURLoption, _ value: Int) { codes.append(ccurl_easy_setopt_long(handle, option, value)) }
        func text(_ option: CURLoption, _ value: String) {
            // libcurl copies string options (since 7.17), so a temporary C string is enough.
            codes.append(value.withCString { ccurl_easy_setopt_ptr(handle, option, $0) })
        }
        text(CURLOPT_URL, r.url)
        long(CURLOPT_NOSIGNAL, 1)  // timeouts must not use signals in a threaded program
        // A lookup that times out (a DNS server that does not answer) is abandoned, not waited
        // for: without this, libcurl (7.87+) joins its resolver thread when the transfer ends, and
        // the one curl-multi thread shared by every download and HTTP notifier stops until
        // getaddrinfo gives up (30 s and more). The abandoned thread frees itself when its lookup
        // ends. libcurl before 7.87 does not know the option: its result is not checked.
        _ = ccurl_easy_setopt_long(handle, CURLOPT_QUICK_EXIT, 1)
        if r.connectOnly {
            // One scheme only: the one of the URL, which says what the connection speaks.
            let scheme = String(r.url.prefix { $0 != ":" }).lowercased()
            guard ["https", "smtps", "smtp"].contains(scheme) else {
                return fail(.invalidRequest, "a connect-only request takes an https, smtps or smtp URL")
            }
            text(CURLOPT_PROTOCOLS_STR, scheme)
            long(CURLOPT_CONNECT_ONLY, 1)
            // Not an HTTP server: offer no application protocol it might refuse.
            long(CURLOPT_SSL_ENABLE_ALPN, 0)
        } else {
            text(CURLOPT_PROTOCOLS_STR, "http,https")
        }
        text(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        if r.requireTLS { long(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
        if r.inspectTLS {
            long(CURLOPT_CERTINFO, 1)
            // Called once the connection is made (TLS and STARTTLS done), before any request is
            // sent, even with CONNECT_ONLY: the TLS version is read there, while the connection
            // is the transfer's (once finished, libcurl may have closed or detached it).
            codes.append(ccurl_easy_setopt_prereq_callback(handle, curlPrerequest))
            codes.append(ccurl_easy_setopt_ptr(handle, CURLOPT_PREREQDATA, me))
        }
        switch r.addressPreference {
        case .any: break
        case .ipv4: long(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V4))
        case .ipv6: long(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V6))
        }
        text(CURLOPT_USERAGENT, "healthmonitor")
        long(CURLOPT_FOLLOWLOCATION, r.followRedirects ? 1 : 0)
        long(CURLOPT_MAXREDIRS, max(0, r.maxRedirects))
        long(CURLOPT_TIMEOUT_MS, max(0, Int((r.timeout * 1000).rounded(.up))))
        if r.connectTimeout > 0 { long(CURLOPT_CONNECTTIMEOUT_MS, max(1, Int((r.connectTimeout * 1000).rounded(.up)))) }
        long(CURLOPT_SSL_VERIFYPEER, r.verifyTLS ? 1 : 0)
        long(CURLOPT_SSL_VERIFYHOST, r.verifyTLS ? 2 : 0)
        if let caFile = r.caFile { text(CURLOPT_CAINFO, caFile) }
        if r.freshConnection {
            long(CURLOPT_FRESH_CONNECT, 1)
            long(CURLOPT_FORBID_REUSE, 1)
        }
        codes.append(ccurl_easy_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        codes.append(ccurl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteBody))
        codes.append(ccurl_easy_setopt_ptr(handle, CURLOPT_WRITEDATA, me))
        codes.append(ccurl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        codes.append(ccurl_easy_setopt_ptr(handle, CURLOPT_HEADERDATA, me))
        if case .discard = r.responseBody { long(CURLOPT_BUFFERSIZE, 256 * 1024) }  // fewer callbacks for big bodies

        // An empty `Expect:` stops curl from waiting for `100 Continue` before large bodies.
        for line in r.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            guard let list = curl_slist_append(headerList, line) else {
                return fail(.other, "libcurl could not build the header list (out of memory)")
            }
            headerList = list
        }
        codes.append(ccurl_easy_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList))

        let method = r.method.uppercased()
        switch method {
        case "GET" where r.body.isEmpty: break
        case "HEAD": long(CURLOPT_NOBODY, 1)
        default:
            if method != "POST" { text(CURLOPT_CUSTOMREQUEST, method) }
            long(CURLOPT_POST, 1)
            codes.append(ccurl_easy_setopt_offt(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(r.body.count)))
            // COPYPOSTFIELDS: curl keeps its own copy, so the body's lifetime is curl's business.
            codes.append(r.body.withUnsafeBytes { raw in
                ccurl_easy_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, raw.baseAddress ?? UnsafeRawPointer(errorBuffer))
            })
        }
        if let bad = codes.first(where: { $0 != CURLE_OK }) {
            return fail(bad == CURLE_OUT_OF_MEMORY ? .other : .invalidRequest, String(cString: curl_easy_strerror(bad)), code: bad)
        }
        return nil
    }

    // MARK: Callbacks (loop thread)

    /// Counts (and with `.collect`, keeps) body bytes; returns fewer than offered to stop the
    /// transfer at `maxBytes`.
    fileprivate func receiveBody(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        var accepted = count
        if let limit = request.maxBytes, Int64(count) > limit - bodyBytes {
            accepted = Int(max(0, limit - bodyBytes))
            stoppedAtMaxBytes = true
        }
        bodyBytes += Int64(accepted)
        if scanner != nil, accepted > 0, let data {
            data.withMemoryRebound(to: UInt8.self, capacity: accepted) { scanner!.consume(UnsafeBufferPointer(start: $0, count: accepted)) }
        }
        if body.count < collectLimit, accepted > 0, let data {
            let keep = min(collectLimit - body.count, accepted)
            data.withMemoryRebound(to: UInt8.self, capacity: keep) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: keep)) }
        }
        return accepted
    }

    /// Keeps the headers of the latest response (a redirect or `100 Continue` starts a new set).
    fileprivate func receiveHeader(_ data: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int {
        guard let data else { return count }
        let line = data.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
        if line.hasPrefix("HTTP/") {
            responseHeaders.removeAll()
            responseHeaderBytes = 0
            // A 3xx response: if it is followed, the next hop's phases are counted from here.
            if line.split(separator: " ").dropFirst().first?.hasPrefix("3") == true { beforeFinalHop = cumulativeTimings() }
        } else if let colon = line.firstIndex(of: ":"), responseHeaderBytes + count <= Self.maxHeaderBytes {
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t", "\r", "\n", "\r\n"])
            responseHeaders.append((name, value))
            responseHeaderBytes += count
        }
        return count
    }

    // MARK: Finishing

    /// The TLS version of the live connection, if it is one.
    fileprivate func readTLSVersion() {
        guard let handle, let version = ccurl_tls_version(handle) else { return }
        tlsVersion = String(cString: version)
    }

    /// The outcome once libcurl reported `code` for this transfer.
    func outcome(_ code: CURLcode) -> Result<HTTPResponse, HTTPError> {
        var response = snapshot()
        if var scanner, code == CURLE_OK || (code == CURLE_WRITE_ERROR && stoppedAtMaxBytes) {
            response.bodyMatched = scanner.finish()
        }
        if code == CURLE_OK || (code == CURLE_WRITE_ERROR && stoppedAtMaxBytes) { return .success(response) }
        var text = String(cString: errorBuffer)
        if text.isEmpty { text = String(cString: curl_easy_strerror(code)) }
        var error = fail(Self.kind(of: code), text, code: code)
        error.partial = response
        return .failure(error)
    }

    /// What the transfer has received so far.
    func snapshot() -> HTTPResponse {
        var response = HTTPResponse(
            headers: responseHeaders, body: body, bodyBytes: bodyBytes, stoppedAtMaxBytes: stoppedAtMaxBytes)
        guard let handle else { return response }
        var status = 0
        if ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK { response.status = status }
        var redirects = 0
        if ccurl_easy_getinfo_long(handle, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK { response.redirects = redirects }
        var ip: UnsafeMutablePointer<CChar>?
        if ccurl_easy_getinfo_string(handle, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK, let ip { response.primaryIP = String(cString: ip) }
        var osErrno = 0
        if ccurl_easy_getinfo_long(handle, CURLINFO_OS_ERRNO, &osErrno) == CURLE_OK { response.connectErrno = Int32(osErrno) }
        if let scanner { response.bodyPreview = scanner.preview }
        if request.inspectTLS { response.tls = tlsDetails(handle) }
        let cumulative = cumulativeTimings()
        if redirects > 0, let base = beforeFinalHop {
            response.timings = cumulative.finalHop(after: base)
        } else {
            response.timings = cumulative
        }
        return response
    }

    /// The certificate chain libcurl read and the version read earlier; `nil` when no TLS
    /// handshake completed (plain HTTP, or the handshake failed).
    private func tlsDetails(_ handle: UnsafeMutableRawPointer) -> TLSDetails? {
        var info: UnsafeMutablePointer<curl_certinfo>?
        var certificates: [[String]] = []
        if ccurl_easy_getinfo_certinfo(handle, &info) == CURLE_OK, let info, info.pointee.num_of_certs > 0, let lists = info.pointee.certinfo {
            for i in 0..<Int(info.pointee.num_of_certs) {
                var lines: [String] = []
                var node = lists[i]
                while let current = node {
                    if let data = current.pointee.data { lines.append(String(cString: data)) }
                    node = current.pointee.next
                }
                certificates.append(lines)
            }
        }
        let chain = TLSDetails.chain(fromCertinfo: certificates)
        guard !chain.isEmpty || tlsVersion != nil else { return nil }
        return TLSDetails(version: tlsVersion, chain: chain)
    }

    /// libcurl's phase times as it reports them: with redirects followed, each phase is the sum
    /// over the hops, `totalMicros` and `redirectMicros` run from the start.
    private func cumulativeTimings() -> HTTPTimings {
        guard let handle else { return HTTPTimings() }
        func micros(_ info: CURLINFO) -> Int64 {
            var value: curl_off_t = 0
            return ccurl_easy_getinfo_offt(handle, info, &value) == CURLE_OK ? Int64(value) : 0
        }
        return HTTPTimings(
            nameLookupMicros: micros(CURLINFO_NAMELOOKUP_TIME_T), connectMicros: micros(CURLINFO_CONNECT_TIME_T),
            appConnectMicros: micros(CURLINFO_APPCONNECT_TIME_T),
            startTransferMicros: micros(CURLINFO_STARTTRANSFER_TIME_T), totalMicros: micros(CURLINFO_TOTAL_TIME_T),
            redirectMicros: micros(CURLINFO_REDIRECT_TIME_T))
    }

    /// An error for this request, its text cleaned of the URL.
    func fail(_ kind: HTTPError.Kind, _ text: String, code: CURLcode? = nil) -> HTTPError {
        HTTPError(
            kind: kind, method: request.method.uppercased(), host: request.host,
            detail: HTTPError.scrub(text, url: request.url), curlCode: code.map { Int($0.rawValue) })
    }

    static func kind(of code: CURLcode) -> HTTPError.Kind {
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT: .invalidRequest
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .dns
        case CURLE_COULDNT_CONNECT: .connect
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED:
            .tls
        case CURLE_TOO_MANY_REDIRECTS: .tooManyRedirects
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
            CURLE_HTTP3, CURLE_WEIRD_SERVER_REPLY:
            .transfer
        case CURLE_ABORTED_BY_CALLBACK: .cancelled
        default: .other
        }
    }
}

// C callbacks: no captures, the transfer comes back through the userdata pointer.
private let curlWriteBody: ccurl_data_callback = { data, size, count, userdata in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    return transfer.receiveBody(data, size * count)
}

private let curlPrerequest: ccurl_prereq_callback = { userdata, _, _, _, _ in
    Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue().readTLSVersion()
    return 0  // CURL_PREREQFUNC_OK
}

private let curlWriteHeader: ccurl_data_callback = { data, size, count, userdata in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
    return transfer.receiveHeader(data, size * count)
}

extension Substring {
    /// Without the given characters at either end (no Foundation).
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
