#!/usr/bin/env python3
"""Event-sink consumer: Clowder's `clowder.metrics` events into InfluxDB 1.x.

Written for healthmonitor's docker-compose stack, following the contract of Clowder's own
InfluxDB consumer (clowder-framework/event-sink-consumers, consumers/influxdb): a durable queue
bound to the durable fanout exchange, one message at a time (prefetch 1), acknowledged only once
the point is stored. Tags: type, category, user_id, healthy, author_id, extractor_name. Fields:
resource_id, response_time_avg/min/max/loss, uptime, dataset_id, service_name, dataset_name,
author_name, user_name, resource_name, size. Every other key is ignored. `created` is the time:
an integer whose digit count gives seconds, milliseconds or microseconds, or an ISO-8601 text.

Unlike a crash loop, an event that cannot be stored (no `created`, no field) is logged and
dropped; while InfluxDB is unreachable, the event is returned to the queue after a pause.

Environment: RABBITMQ_URI, RABBITMQ_EXCHANGENAME (clowder.metrics), RABBITMQ_QUEUENAME
(event.sink), INFLUXDB_URL (http://influxdb:8086), INFLUXDB_DATABASE (eventsink),
INFLUXDB_MEASUREMENT (events).
"""
import datetime
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pika

TAGS = ("type", "category", "user_id", "healthy", "author_id", "extractor_name")
FIELDS = (
    "resource_id", "response_time_avg", "response_time_min", "response_time_max", "response_time_loss",
    "uptime", "dataset_id", "service_name", "dataset_name", "author_name", "user_name", "resource_name", "size",
)

log = logging.getLogger("event-sink")


class Unstorable(Exception):
    """The event can never be stored: drop it (logged), do not requeue it."""


def escape_key(text):
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def tag_value(value):
    # As Python's InfluxDB client writes a tag: its str(), so a boolean is True / False.
    return escape_key(str(value))


def field_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "%di" % value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise Unstorable("field value of type %s" % type(value).__name__)


def timestamp(created):
    """(time, precision) for the line protocol."""
    if isinstance(created, bool):
        raise Unstorable("created is a boolean")
    if isinstance(created, int):
        digits = len(str(abs(created)))
        if digits <= 11:
            return created, "s"
        if digits <= 14:
            return created, "ms"
        if digits <= 17:
            return created, "u"
        return created, "ns"
    if isinstance(created, str):
        parsed = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return int(parsed.timestamp() * 1000), "ms"
    raise Unstorable("created is missing or not a time")


def line(event, measurement):
    """One line-protocol point, and its precision."""
    if not isinstance(event, dict):
        raise Unstorable("not a JSON object")
    try:
        when, precision = timestamp(event.get("created"))
    except ValueError as error:
        raise Unstorable("created: %s" % error)
    tags = "".join(",%s=%s" % (escape_key(k), tag_value(event[k])) for k in TAGS if k in event and event[k] is not None)
    fields = ",".join("%s=%s" % (escape_key(k), field_value(event[k])) for k in FIELDS if k in event and event[k] is not None)
    if not fields:
        raise Unstorable("no field InfluxDB could store")
    return "%s%s %s %d" % (escape_key(measurement), tags, fields, when), precision


class Influx:
    def __init__(self, url, database):
        self.url = url.rstrip("/")
        self.database = database

    def query(self, statement):
        body = urllib.parse.urlencode({"q": statement}).encode()
        urllib.request.urlopen(self.url + "/query", data=body, timeout=10).read()

    def write(self, point, precision):
        params = urllib.parse.urlencode({"db": self.database, "precision": precision})
        request = urllib.request.Request(self.url + "/write?" + params, data=point.encode(), method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).read()
        except urllib.error.HTTPError as error:
            if 400 <= error.code < 500:  # a point InfluxDB refuses (e.g. a field type conflict)
                raise Unstorable("InfluxDB refused it: HTTP %d %s" % (error.code, error.read()[:200]))
            raise


def main():
    logging.basicConfig(level=os.getenv("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # `docker stop` sends SIGTERM, and PID 1 has no default action for it: stop cleanly (the
    # message being handled, not yet acknowledged, is delivered again to the next consumer).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uri = os.getenv("RABBITMQ_URI", "amqp://guest:guest@rabbitmq/%2F")
    exchange = os.getenv("RABBITMQ_EXCHANGENAME", "clowder.metrics")
    queue = os.getenv("RABBITMQ_QUEUENAME", "event.sink")
    measurement = os.getenv("INFLUXDB_MEASUREMENT", "events")
    influx = Influx(os.getenv("INFLUXDB_URL", "http://influxdb:8086"), os.getenv("INFLUXDB_DATABASE", "eventsink"))

    while True:
        try:
            influx.query('CREATE DATABASE "%s"' % influx.database.replace('"', '\\"'))
            break
        except (urllib.error.URLError, OSError) as error:
            log.warning("InfluxDB not reachable yet: %s", error)
            time.sleep(2)

    def on_message(channel, method, properties, body):
        try:
            point, precision = line(json.loads(body), measurement)
            influx.write(point, precision)
        except (Unstorable, ValueError) as error:
            log.error("event dropped (%s): %.300s", error, body)
            channel.basic_ack(method.delivery_tag)
            return
        except (urllib.error.URLError, OSError) as error:
            log.warning("InfluxDB write failed, event returned to the queue: %s", error)
            time.sleep(2)
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        channel.basic_ack(method.delivery_tag)

    while True:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(uri))
            channel = connection.channel()
            channel.exchange_declare(exchange=exchange, exchange_type="fanout", durable=True)
            channel.queue_declare(queue=queue, durable=True)
            channel.queue_bind(queue=queue, exchange=exchange)
            channel.basic_qos(prefetch_count=1)
            channel.basic_consume(queue=queue, on_message_callback=on_message)
            log.info("consuming %s (bound to %s) into %s/%s", queue, exchange, influx.database, measurement)
            channel.start_consuming()
        except pika.exceptions.AMQPConnectionError as error:
            log.warning("broker connection lost, reconnecting: %s", error)
            time.sleep(2)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
