#ifndef HEALTHMONITOR_CAMQP_SHIM_H
#define HEALTHMONITOR_CAMQP_SHIM_H
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
#endif
