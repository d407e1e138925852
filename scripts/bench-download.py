#!/usr/bin/python3
"""Memory benchmark of the `download` check: peak RSS of `healthmonitor once` downloading a
1 KiB body versus a 1 GiB body (generated on the fly by a local HTTP server), so the growth
caused by the body is measured in a process of its own.

Usage: scripts/bench-download.py [--binary .build/release/healthmonitor] [--size-mib 1024]
Build first: make release (or pass --binary .build/debug/healthmonitor).
"""
import argparse, os, platform, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = b"x" * (1 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        total = int(self.path.strip("/").split("/")[-1])
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        try:
            while sent < total:
                n = min(len(CHUNK), total - sent)
                self.wfile.write(CHUNK[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            pass


def run_once(binary, url, workdir):
    config = os.path.join(workdir, "bench.yml")
    with open(config, "w") as f:
        f.write(f"""notifiers:
  console:
    report: always
checks:
  download:
    bench:
      url: {url}
      timeout: 600
settings:
  state_dir: {workdir}/state
""")
    start = time.monotonic()
    child = subprocess.Popen([binary, "once", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - start
    if child.returncode != 0:
        sys.exit(f"healthmonitor once failed ({child.returncode}):\n{output}")
    line = next((l for l in output.splitlines() if "download/bench" in l), "")
    return usage.ru_maxrss, usage.ru_utime + usage.ru_stime, elapsed, line


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/healthmonitor")
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/bytes/"
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory() as workdir:
        small_rss, _, _, _ = run_once(args.binary, base + "1024", workdir)
        big_rss, cpu, elapsed, line = run_once(args.binary, base + str(size), workdir)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, {platform.platform()}")
    print(f"binary: {args.binary}")
    print(f"peak RSS, 1 KiB download:  {small_rss / 1024:.1f} MiB")
    print(f"peak RSS, {args.size_mib} MiB download: {big_rss / 1024:.1f} MiB")
    print(f"growth caused by the body: {(big_rss - small_rss) / 1024:.1f} MiB")
    print(f"healthmonitor CPU for the big run: {cpu:.2f} s in {elapsed:.2f} s wall")
    print(f"result line: {line.strip()}")


main()
