#!/usr/bin/env python3
"""A loopback TCP acceptor for the hostport benchmark: accepts and closes connections as fast as
it can (epoll, non-blocking accept in a loop, SO_LINGER 0 so closes leave no TIME_WAIT).

Usage: bench_acceptor.py PORT [HOST ...]   (default host 127.0.0.1; several hosts spread the
4-tuples over more addresses)."""
import select
import socket
import struct
import sys

port = int(sys.argv[1])
hosts = sys.argv[2:] or ["127.0.0.1"]
linger = struct.pack("ii", 1, 0)
listeners = {}
poller = select.epoll()
for host in hosts:
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4096)
    s.setblocking(False)
    listeners[s.fileno()] = s
    poller.register(s.fileno(), select.EPOLLIN)
print("listening", flush=True)
while True:
    for fd, _ in poller.poll():
        listener = listeners[fd]
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            conn.close()
