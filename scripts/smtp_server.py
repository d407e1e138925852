#!/usr/bin/python3
"""Capturing SMTP test server for the healthmonitor integration tests.

Run with the Debian system python (/usr/bin/python3), which has the
python3-aiosmtpd package. Started and stopped by scripts/services.sh.

Listeners (all on --host, default 127.0.0.1):
  --port        (2525) plain SMTP, STARTTLS offered, AUTH PLAIN/LOGIN after
                STARTTLS only; mail without AUTH is accepted too.
  --plain-port  (2526) plain SMTP, no TLS, no AUTH.
  --smtps-port  (2465) implicit TLS (SMTPS), AUTH PLAIN/LOGIN offered.
Credentials: --user / --password (default hm / secret); wrong ones get 535.

Every accepted message is written to --messages-dir as one JSON file
  <arrival ns, 20 digits>-<seq, 6 digits>-<port>.json
(lexical order == arrival order; written to a .tmp file then renamed, so a
reader never sees a partial file). Fields:
  mail_from, rcpt_tos (list), data (raw message text, utf-8, undecodable
  bytes replaced), port (int), auth_user (str or null), tls (bool),
  peer ("host:port"), received_at (ISO-8601 UTC), received_ts (epoch float).
"""

import argparse
import datetime
import itertools
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_seq = itertools.count(1)
_seq_lock = threading.Lock()


class CaptureHandler:
    def __init__(self, messages_dir, port):
        self.messages_dir = messages_dir
        self.port = port

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        with _seq_lock:
            seq = next(_seq)
            stamp = time.time_ns()
        transport = server.transport
        tls = session.ssl is not None or (
            transport is not None and transport.get_extra_info("ssl_object") is not None
        )
        user = session.auth_data if session.authenticated else None
        if isinstance(user, LoginPassword):
            user = user.login
        if isinstance(user, bytes):
            user = user.decode("utf-8", "replace")
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            data = content
        else:
            data = content.decode("utf-8", "replace")
        peer = session.peer
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": data,
            "port": self.port,
            "auth_user": user,
            "tls": bool(tls),
            "peer": f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer),
            "received_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "received_ts": now,
        }
        name = f"{stamp:020d}-{seq:06d}-{self.port}.json"
        tmp = os.path.join(self.messages_dir, "." + name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        os.replace(tmp, os.path.join(self.messages_dir, name))
        logging.info("stored %s from=%s to=%s tls=%s user=%s",
                     name, envelope.mail_from, envelope.rcpt_tos, tls, user)
        return "250 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login.decode("utf-8", "replace") == user
                and auth_data.password.decode("utf-8", "replace") == password):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--plain-port", type=int, default=2526)
    p.add_argument("--smtps-port", type=int, default=2465, help="0 disables SMTPS")
    p.add_argument("--cert", required=True, help="PEM certificate")
    p.add_argument("--key", required=True, help="PEM private key")
    p.add_argument("--messages-dir", required=True)
    p.add_argument("--user", default="hm")
    p.add_argument("--password", default="secret")
    p.add_argument("--pid-file")
    args = p.parse_args()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.makedirs(args.messages_dir, exist_ok=True)

    tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ctx.load_cert_chain(args.cert, args.key)
    auth = make_authenticator(args.user, args.password)

    controllers = [
        # STARTTLS offered; AUTH allowed only after STARTTLS (aiosmtpd default).
        Controller(CaptureHandler(args.messages_dir, args.port),
                   hostname=args.host, port=args.port, server_hostname="localhost",
                   tls_context=tls_ctx, authenticator=auth, auth_require_tls=True),
        # Plain, no TLS, no AUTH.
        Controller(CaptureHandler(args.messages_dir, args.plain_port),
                   hostname=args.host, port=args.plain_port, server_hostname="localhost"),
    ]
    if args.smtps_port:
        # Implicit TLS. The connection is already encrypted, so AUTH needs no
        # STARTTLS (aiosmtpd only knows about STARTTLS, hence auth_require_tls=False).
        controllers.append(
            Controller(CaptureHandler(args.messages_dir, args.smtps_port),
                       hostname=args.host, port=args.smtps_port, server_hostname="localhost",
                       ssl_context=tls_ctx, authenticator=auth, auth_require_tls=False))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    started = []
    try:
        for c in controllers:
            c.start()
            started.append(c)
            logging.info("listening on %s:%d", c.hostname, c.port)
        if args.pid_file:
            with open(args.pid_file, "w") as f:
                f.write(f"{os.getpid()}\n")
        while not stop.wait(1.0):
            pass
    finally:
        for c in reversed(started):
            try:
                c.stop()
            except Exception as e:  # noqa: BLE001
                logging.warning("stop %s:%d: %s", c.hostname, c.port, e)
        logging.info("stopped")


if __name__ == "__main__":
    main()
