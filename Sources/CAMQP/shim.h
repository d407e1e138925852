#ifndef HEALTHMONITOR_CAMQP_SHIM_H
#define HEALTHMONITOR_CAMQP_SHIM_H
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>

// amqp_login is variadic (the SASL method decides the trailing arguments), which Swift cannot
// call; this shim fixes the PLAIN method's user and password arguments.
static inline amqp_rpc_reply_t camqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                 int channel_max, int frame_max, int heartbeat,
                                                 const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN,
                      user, password);
}

// amqp_login_with_properties is variadic too. This shim logs in with PLAIN and adds client
// properties: the `connection.blocked` capability (librabbitmq 0.11 does not announce it, so a
// broker under a resource alarm would stop reading silently instead of sending
// connection.blocked / connection.unblocked) and a `connection_name` shown by the management UI.
static inline amqp_rpc_reply_t camqp_login_plain_notify_blocked(amqp_connection_state_t state,
                                                                const char *vhost, int channel_max,
                                                                int frame_max, int heartbeat,
                                                                const char *connection_name,
                                                                const char *user,
                                                                const char *password) {
    amqp_table_entry_t capabilities[1];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 1;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
    amqp_table_t table = {2, properties};
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}
// Bytes a TCP socket takes now without waiting: half its send buffer (the kernel reports twice
// the payload it allows, for its bookkeeping) less what is queued and not yet acknowledged; 0 when
// either cannot be read. ioctl is variadic, which Swift cannot call.
static inline long camqp_send_room(int fd) {
    int queued = 0, size = 0;
    socklen_t length = sizeof size;
    if (ioctl(fd, SIOCOUTQ, &queued) != 0 || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) != 0) return 0;
    long room = (long)size / 2 - queued;
    return room > 0 ? room : 0;
}

// Encodes one basic.publish on `channel` (its method, content header and body frames, the body
// split at `frame_max`) into out[0..cap), so that many messages go out in one write: librabbitmq's
// amqp_basic_publish sends each frame with a system call of its own. Returns the bytes written,
// or -1 when they do not fit in `cap`, or another negative librabbitmq status.
static inline long camqp_encode_publish(amqp_channel_t channel, size_t frame_max, amqp_bytes_t exchange,
                                        amqp_bytes_t routing_key, int mandatory,
                                        amqp_basic_properties_t *properties, amqp_bytes_t body,
                                        uint8_t *out, size_t cap) {
    size_t at = 0;
    size_t chunk = (frame_max > 8 ? frame_max : 131072) - 8;
    // A frame: type, channel, payload size (big-endian), payload, frame-end octet.
#define CAMQP_PUT16(p, v) do { (p)[0] = (uint8_t)((v) >> 8); (p)[1] = (uint8_t)(v); } while (0)
#define CAMQP_PUT32(p, v) do { CAMQP_PUT16(p, (uint32_t)(v) >> 16); CAMQP_PUT16((p) + 2, (uint32_t)(v)); } while (0)
    // Method frame: method id, then the arguments.
    if (cap < 12 + 1) return -1;
    out[0] = AMQP_FRAME_METHOD;
    CAMQP_PUT16(out + 1, channel);
    CAMQP_PUT32(out + 7, AMQP_BASIC_PUBLISH_METHOD);
    amqp_basic_publish_t method;
    method.ticket = 0;
    method.exchange = exchange;
    method.routing_key = routing_key;
    method.mandatory = mandatory ? 1 : 0;
    method.immediate = 0;
    amqp_bytes_t arguments = {cap - 12 - 1, out + 11};
    int n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &method, arguments);
    if (n < 0) return n == AMQP_STATUS_BAD_AMQP_DATA ? -1 : n;
    CAMQP_PUT32(out + 3, 4 + n);
    at = 11 + (size_t)n;
    out[at++] = AMQP_FRAME_END;
    // Content header frame: class, weight, body size (64 bits), then the properties.
    if (cap < at + 19 + 1) return -1;
    uint8_t *header = out + at;
    header[0] = AMQP_FRAME_HEADER;
    CAMQP_PUT16(header + 1, channel);
    CAMQP_PUT16(header + 7, AMQP_BASIC_CLASS);
    CAMQP_PUT16(header + 9, 0);
    CAMQP_PUT32(header + 11, (uint64_t)body.len >> 32);
    CAMQP_PUT32(header + 15, body.len);
    amqp_bytes_t encoded = {cap - at - 19 - 1, header + 19};
    n = amqp_encode_properties(AMQP_BASIC_CLASS, properties, encoded);
    if (n < 0) return n == AMQP_STATUS_BAD_AMQP_DATA ? -1 : n;
    CAMQP_PUT32(header + 3, 12 + n);
    at += 19 + (size_t)n;
    out[at++] = AMQP_FRAME_END;
    // Body frames.
    for (size_t offset = 0; offset < body.len; offset += chunk) {
        size_t len = body.len - offset < chunk ? body.len - offset : chunk;
        if (cap < at + 7 + len + 1) return -1;
        out[at] = AMQP_FRAME_BODY;
        CAMQP_PUT16(out + at + 1, channel);
        CAMQP_PUT32(out + at + 3, len);
        memcpy(out + at + 7, (const uint8_t *)body.bytes + offset, len);
        at += 7 + len;
        out[at++] = AMQP_FRAME_END;
    }
#undef CAMQP_PUT32
#undef CAMQP_PUT16
    return (long)at;
}

#endif
