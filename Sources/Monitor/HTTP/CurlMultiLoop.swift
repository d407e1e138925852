internal import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs every transfer of one `HTTPClient` on one curl multi handle, on one dedicated thread.
///
/// Other threads never touch the multi handle: they append a command to `inbox` (a mutex-guarded
/// queue) and call `curl_multi_wakeup`, which interrupts `curl_multi_poll`. The thread adds
/// and removes easy handles, drives them with `curl_multi_perform`, and resumes each
/// transfer's completion when libcurl reports it done. So the cooperative pool never waits on
/// the network, and thousands of transfers cost one thread.
///
/// We use curl's multi interface rather than SwiftNIO: libcurl already is the event loop
/// (TLS, redirects, DNS via its threaded resolver), and this keeps one HTTP stack in the program.
final class CurlMultiLoop: @unchecked Sendable {
    // @unchecked: `multi` and `active` belong to the loop thread; `inbox` is `Locked`.
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer)
        case stop
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Locked<[Command]>([])
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    private let stopped = Atomic<Bool>(false)
    /// Names the client in diagnostics.
    let name: String

    init(name: String) {
        LibCurl.initialize()
        guard let multi = curl_multi_init() else { preconditionFailure("curl_multi_init failed (out of memory)") }
        self.multi = multi
        self.name = name
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<CurlMultiLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    /// Queues a transfer; its completion is called on the loop thread.
    func submit(_ transfer: CurlTransfer) {
        send(.add(transfer))
    }

    /// Stops a transfer early; its completion is called with `.cancelled`.
    func cancel(_ transfer: CurlTransfer) {
        transfer.cancelRequested.store(true, ordering: .sequentiallyConsistent)
        send(.cancel(transfer))
    }

    /// Cancels every transfer and ends the thread.
    func stop() {
        send(.stop)
    }

    private func send(_ command: Command) {
        // Wake the loop while holding the lock: the loop frees the multi handle only after it has
        // set `stopped` under the same lock, so a wakeup never reaches a freed handle.
        let accepted = inbox.withLock { queue -> Bool in
            if stopped.load(ordering: .sequentiallyConsistent) { return false }
            queue.append(command)
            curl_multi_wakeup(multi)
            return true
        }
        if !accepted, case .add(let transfer) = command {
            finish(transfer, .failure(transfer.fail(.cancelled, "the HTTP client was shut down")))
        }
    }

    // MARK: Loop thread

    private func run() {
        var running: Int32 = 0
        var messagesLeft: Int32 = 0
        while true {
            let commands = inbox.withLock { queue -> [Command] in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for command in commands {
                switch command {
                case .add(let transfer): start(transfer)
                case .cancel(let transfer): abort(transfer)
                case .stop:
                    inbox.withLock { _ in stopped.store(true, ordering: .sequentiallyConsistent) }
                }
            }
            if stopped.load(ordering: .sequentiallyConsistent) {
                let rest = inbox.withLock { queue -> [Command] in
                    defer { queue.removeAll() }
                    return queue
                }
                for case .add(let transfer) in rest {
                    finish(transfer, .failure(transfer.fail(.cancelled, "the HTTP client was shut down")))
                }
                for transfer in Array(active.values) { abort(transfer, reason: "the HTTP client was shut down") }
                curl_multi_cleanup(multi)
                return
            }
            // Errors here are libcurl-internal (out of memory, a bad handle); each transfer
            // still reports its own result, so there is nothing to map for a caller.
            curl_multi_perform(multi, &running)
            while let message = curl_multi_info_read(multi, &messagesLeft) {
                guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle,
                    let transfer = active.removeValue(forKey: handle)
                else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, handle)
                finish(transfer, transfer.outcome(code))
            }
            // Sleeps until a socket is ready, a curl timer fires, or `curl_multi_wakeup`.
            if curl_multi_poll(multi, nil, 0, 1000, nil) != CURLM_OK {
                usleep(10_000)  // never spin on a failing poll
            }
        }
    }

    private func start(_ transfer: CurlTransfer) {
        if transfer.cancelRequested.load(ordering: .sequentiallyConsistent) {
            finish(transfer, .failure(transfer.fail(.cancelled, "the request was cancelled")))
            return
        }
        if let error = transfer.configure() {
            finish(transfer, .failure(error))
            return
        }
        let handle = transfer.handle!
        let code = curl_multi_add_handle(multi, handle)
        guard code == CURLM_OK else {
            finish(transfer, .failure(transfer.fail(.other, String(cString: curl_multi_strerror(code)))))
            return
        }
        active[handle] = transfer
    }

    /// Removes a running transfer and reports it cancelled (with what it received so far).
    private func abort(_ transfer: CurlTransfer, reason: String = "the request was cancelled") {
        guard let handle = transfer.handle, active[handle] === transfer else { return }
        active[handle] = nil
        curl_multi_remove_handle(multi, handle)
        var error = transfer.fail(.cancelled, reason)
        error.partial = transfer.snapshot()
        finish(transfer, .failure(error))
    }

    private func finish(_ transfer: CurlTransfer, _ result: Result<HTTPResponse, HTTPError>) {
        let completion = transfer.completion
        transfer.completion = nil
        completion?(result)
    }
}

/// libcurl's process-wide initialisation, done exactly once.
public enum LibCurl {
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    /// Runs `curl_global_init` the first time it is called; later calls do nothing. Call it
    /// before any other libcurl function (the HTTP client does).
    public static func initialize() {
        precondition(initialised, "curl_global_init failed")
    }
}
