// The RabbitMQ notifier's floor: librabbitmq publishing COUNT persistent messages of SIZE bytes
// (delivery mode 2, mandatory, the properties the notifier sets) to a durable queue with
// publisher confirms, at most WINDOW unconfirmed, as fast as the broker takes them. Prints the
// messages per second (first publish to last confirm) and this process's CPU per message.
// The queue is declared first and deleted at the end.
//
// With EXCHANGE_TYPE (the notifier's `exchange_type`; `fanout` by default there), the messages go
// through a durable exchange of that type named after the queue and bound to it with the empty
// routing key, as the notifier publishes them, so the broker routes them the same way; without
// it, to the default exchange (the queue by name, no binding to look up).
//
// Usage: amqp_publish HOST PORT VHOST QUEUE COUNT SIZE WINDOW [EXCHANGE_TYPE]   (user and password guest)
#define _GNU_SOURCE
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "floor.h"

static void die_on_reply(amqp_rpc_reply_t reply, const char *what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "amqp_publish: %s failed (reply type %d)\n", what, reply.reply_type);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: amqp_publish HOST PORT VHOST QUEUE COUNT SIZE WINDOW [EXCHANGE_TYPE]\n");
        return 2;
    }
    const char *host = argv[1], *vhost = argv[3], *queue = argv[4];
    int port = atoi(argv[2]);
    long count = atol(argv[5]), size = atol(argv[6]), window = atol(argv[7]);
    const char *exchangeType = argc == 9 ? argv[8] : NULL;
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (!socket || amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) {
        fprintf(stderr, "amqp_publish: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    die_on_reply(amqp_login(conn, vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "channel.open");
    amqp_confirm_select(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "confirm.select");
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    die_on_reply(amqp_get_rpc_reply(conn), "queue.declare");
    amqp_bytes_t exchange = amqp_empty_bytes, routingKey = amqp_cstring_bytes(queue);
    if (exchangeType) {
        exchange = amqp_cstring_bytes(queue);
        routingKey = amqp_empty_bytes;
        amqp_exchange_declare(conn, 1, exchange, amqp_cstring_bytes(exchangeType), 0, 1, 0, 0, amqp_empty_table);
        die_on_reply(amqp_get_rpc_reply(conn), "exchange.declare");
        amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), exchange, routingKey, amqp_empty_table);
        die_on_reply(amqp_get_rpc_reply(conn), "queue.bind");
    }

    char *body = malloc(size);
    memset(body, 'x', size);
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                   AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.app_id = amqp_cstring_bytes("healthmonitor");
    props.delivery_mode = 2;
    char id[40];

    double cpu0 = cpu();
    double start = now();
    long published = 0, confirmed = 0;
    while (confirmed < count) {
        while (published < count && published - confirmed < window) {
            snprintf(id, sizeof id, "01a2%028ld", published);
            props.message_id = amqp_cstring_bytes(id);
            props.timestamp = (uint64_t)start;
            amqp_bytes_t b = {(size_t)size, body};
            if (amqp_basic_publish(conn, 1, exchange, routingKey, 1, 0, &props, b) != AMQP_STATUS_OK) {
                fprintf(stderr, "amqp_publish: publish failed\n");
                return 1;
            }
            published++;
        }
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) {
            fprintf(stderr, "amqp_publish: lost the connection\n");
            return 1;
        }
        if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            long tag = (long)ack->delivery_tag;
            confirmed = ack->multiple ? tag : confirmed + 1;
        } else if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf(stderr, "amqp_publish: the broker refused a message\n");
            return 1;
        }
        amqp_maybe_release_buffers(conn);
    }
    double elapsed = now() - start;
    double used = cpu() - cpu0;
    printf("%.0f msg/s %.2f us_per_msg %ld messages %ld bytes window %ld exchange %s\n", count / elapsed, 1e6 * used / count, count, size, window,
           exchangeType ? exchangeType : "(default)");
    amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
    if (exchangeType) amqp_exchange_delete(conn, 1, exchange, 0);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}
