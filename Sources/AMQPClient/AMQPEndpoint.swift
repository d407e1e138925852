internal import CAMQP
import Monitor

/// Where and how to reach a RabbitMQ broker, read from an `amqp://` / `amqps://` URI.
///
/// `amqp://user:password@host:port/vhost` (vhost percent-encoded: `%2F` is `/`); without user
/// and password librabbitmq's defaults (`guest`) apply, without a vhost `/`.
package struct AMQPEndpoint: Sendable, Hashable {
    package var host: String
    package var port: Int
    package var user: String
    package var password: String
    package var vhost: String
    package var tls: Bool
    /// The URI with the password masked, for logs.
    package var display: String

    /// Why a URI cannot be used. It does not repeat the URI: one that failed to parse cannot be
    /// trusted to have its password masked (the config error names the file, line and key).
    package struct InvalidURI: Error, CustomStringConvertible {
        package var description: String {
            "not a valid AMQP URI; expected amqp://user:password@host:5672/vhost or amqps://… (vhost / written %2F)"
        }
    }

    package init(uri: String) throws(InvalidURI) {
        let masked = SecretMasking.maskURLPassword(uri)
        // amqp_parse_url edits the buffer in place and points the result into it: copy each
        // part out before the buffer goes away.
        var buffer = Array(uri.utf8CString)
        let parts = buffer.withUnsafeMutableBufferPointer { raw -> (String, Int, String, String, String, Bool)? in
            var parsed = amqp_connection_info()
            amqp_default_connection_info(&parsed)
            guard amqp_parse_url(raw.baseAddress, &parsed) == AMQP_STATUS_OK.rawValue else { return nil }
            return (
                String(cString: parsed.host), Int(parsed.port), String(cString: parsed.user),
                String(cString: parsed.password), String(cString: parsed.vhost), parsed.ssl != 0
            )
        }
        guard let parts, !parts.0.isEmpty else { throw InvalidURI() }
        (host, port, user, password, vhost, tls) = parts
        display = masked
    }
}
