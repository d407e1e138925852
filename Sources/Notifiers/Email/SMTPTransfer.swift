internal import CCurl
import Monitor
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How the connection to the mail server is secured.
enum MailTLS: String, Sendable, Hashable {
    /// Plain SMTP, then `STARTTLS`; the transfer fails when the server does not offer it.
    case starttls
    /// TLS from the first byte (SMTPS, usually port 465).
    case ssl
    /// No encryption.
    case none
}

/// Where and how to submit mail.
struct SMTPSettings: Sendable, Hashable {
    var host: String
    var port: Int
    var tls: MailTLS
    /// Verify the server certificate and host name.
    var verify: Bool
    /// A PEM file of trusted CA certificates, instead of the system's.
    var caFile: String?
    var username: String?
    /// Secret: never logged, never part of an error description.
    var password: String?
    /// Seconds for the whole transfer (connecting included).
    var timeout: Double

    /// `smtp://host:port` or `smtps://host:port` (no credentials: those go in separate options).
    var url: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return (tls == .ssl ? "smtps" : "smtp") + "://\(bracketed):\(port)"
    }
}

/// Why a message could not be submitted: curl's error and the server's last reply code.
struct SMTPError: Error, CustomStringConvertible, PermanentError {
    var server: String
    var curlCode: Int
    var detail: String
    /// The last SMTP reply code (e.g. 535 for bad credentials), 0 when none came.
    var replyCode: Int

    var description: String {
        "SMTP to \(server) failed: \(detail)" + (replyCode > 0 ? " (server replied \(replyCode))" : "")
            + " [curl \(curlCode)]"
    }

    /// Failures a retry cannot mend: credentials refused (CURLE_LOGIN_DENIED, 67), an untrusted
    /// certificate (CURLE_PEER_FAILED_VERIFICATION, 60), no STARTTLS on offer
    /// (CURLE_USE_SSL_FAILED, 64), a recipient or sender refused with a 5xx reply.
    var isPermanent: Bool {
        [67, 60, 64].contains(curlCode) || (500..<600).contains(replyCode)
    }
}

/// Ends a submission in progress from another thread: curl's progress callback checks it at
/// least once a second (also while a server stalls), and the transfer then fails with
/// `CURLE_ABORTED_BY_CALLBACK`. The e-mail notifier sets it when its task is cancelled (the
/// shutdown deadline), so a stalled server cannot hold the monitor's stop for `timeout`.
final class SMTPAbort: Sendable {
    private let flag = Atomic<Bool>(false)

    func abort() { flag.store(true, ordering: .relaxed) }
    var isAborted: Bool { flag.load(ordering: .relaxed) }
}

/// One SMTP submission through libcurl's easy interface: connect, EHLO, optional STARTTLS and
/// AUTH, MAIL FROM, RCPT TO for each recipient, DATA, QUIT.
///
/// Blocking: call it only on a `DedicatedThread`. Each transfer owns its easy handle and the C
/// memory the handle points into (recipient list, error buffer, upload source) until it ends.
final class SMTPTransfer {
    private let handle: UnsafeMutableRawPointer
    private var recipients: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private let source: UploadSource

    /// The bytes `DATA` uploads; read by curl's read callback.
    private final class UploadSource {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    private init(handle: UnsafeMutableRawPointer, message: [UInt8]) {
        self.handle = handle
        self.source = UploadSource(message)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        if let recipients { curl_slist_free_all(recipients) }
        errorBuffer.deallocate()
    }

    /// Submits `message` (CRLF line ends) from `sender` to `recipients`. Blocks.
    static func send(
        message: String, sender: String, recipients: [String], settings: SMTPSettings, abort: SMTPAbort = SMTPAbort()
    ) throws(SMTPError) {
        LibCurl.initialize()
        guard let handle = curl_easy_init() else {
            throw SMTPError(server: settings.url, curlCode: -1, detail: "curl_easy_init failed", replyCode: 0)
        }
        let transfer = SMTPTransfer(handle: handle, message: Array(message.utf8))
        try withExtendedLifetime(abort) { () throws(SMTPError) in
            try transfer.perform(sender: sender, recipients: recipients, settings: settings, abort: abort)
        }
    }

    private func perform(sender: String, recipients list: [String], settings: SMTPSettings, abort: SMTPAbort) throws(SMTPError) {
        func fail(_ code: CURLcode, _ what: String) -> SMTPError {
            SMTPError(
                server: settings.url, curlCode: Int(code.rawValue),
                detail: what + ": " + String(cString: curl_easy_strerror(code)), replyCode: 0)
        }
        func set(_ option: CURLoption, _ value: Int) throws(SMTPError) {
            let code = ccurl_easy_setopt_long(handle, option, value)
            if code != CURLE_OK { throw fail(code, "setting option \(option.rawValue)") }
        }
        func set(_ option: CURLoption, _ value: String) throws(SMTPError) {
            // curl copies string options (since 7.17), so a temporary C string is enough.
            let code = value.withCString { ccurl_easy_setopt_ptr(handle, option, $0) }
            if code != CURLE_OK { throw fail(code, "setting option \(option.rawValue)") }
        }
        func set(_ option: CURLoption, pointer: UnsafeRawPointer?) throws(SMTPError) {
            let code = ccurl_easy_setopt_ptr(handle, option, pointer)
            if code != CURLE_OK { throw fail(code, "setting option \(option.rawValue)") }
        }

        for recipient in list {
            // curl_slist_append copies the string.
            guard let appended = curl_slist_append(recipients, "<" + recipient + ">") else {
                throw SMTPError(server: settings.url, curlCode: -1, detail: "out of memory", replyCode: 0)
            }
            recipients = appended
        }

        try set(CURLOPT_URL, settings.url)
        try set(CURLOPT_MAIL_FROM, "<" + sender + ">")
        try set(CURLOPT_MAIL_RCPT, pointer: UnsafeRawPointer(recipients))
        try set(CURLOPT_UPLOAD, 1)
        try set(CURLOPT_READDATA, pointer: UnsafeRawPointer(Unmanaged.passUnretained(source).toOpaque()))
        let read: ccurl_data_callback = { buffer, size, count, userdata in
            let source = Unmanaged<UploadSource>.fromOpaque(userdata!).takeUnretainedValue()
            let n = min(size * count, source.bytes.count - source.offset)
            if n > 0, let buffer {
                source.bytes.withUnsafeBytes { bytes in
                    _ = memcpy(buffer, bytes.baseAddress! + source.offset, n)
                }
                source.offset += n
            }
            return n
        }
        // A read callback has the same C signature as a write callback, so the existing shim fits.
        let code = ccurl_easy_setopt_data_callback(handle, CURLOPT_READFUNCTION, read)
        if code != CURLE_OK { throw fail(code, "setting the read callback") }

        try set(CURLOPT_NOPROGRESS, 0)
        try set(CURLOPT_XFERINFODATA, pointer: UnsafeRawPointer(Unmanaged.passUnretained(abort).toOpaque()))
        let progress: ccurl_xferinfo_callback = { userdata, _, _, _, _ in
            Unmanaged<SMTPAbort>.fromOpaque(userdata!).takeUnretainedValue().isAborted ? 1 : 0
        }
        let progressCode = ccurl_easy_setopt_xferinfo_callback(handle, progress)
        if progressCode != CURLE_OK { throw fail(progressCode, "setting the progress callback") }
        try set(CURLOPT_NOSIGNAL, 1)  // several threads use curl; no SIGALRM for timeouts
        try set(CURLOPT_CONNECTTIMEOUT_MS, Int(min(settings.timeout, 10) * 1000))
        try set(CURLOPT_TIMEOUT_MS, Int(settings.timeout * 1000))
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeRawPointer(errorBuffer))
        if settings.tls == .starttls { try set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }
        if !settings.verify {
            try set(CURLOPT_SSL_VERIFYPEER, 0)
            try set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let caFile = settings.caFile { try set(CURLOPT_CAINFO, caFile) }
        if let username = settings.username { try set(CURLOPT_USERNAME, username) }
        if let password = settings.password { try set(CURLOPT_PASSWORD, password) }

        let result = curl_easy_perform(handle)
        if result != CURLE_OK {
            var reply = 0
            _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
            let detail = String(cString: errorBuffer)
            throw SMTPError(
                server: settings.url, curlCode: Int(result.rawValue),
                detail: detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail, replyCode: reply)
        }
    }
}
