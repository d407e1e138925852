#!/usr/bin/env python3
"""Seeded mutation fuzzing of the config loader, through `healthmonitor validate` (issue #16).

Mutates the example configs (config.yml, config.compose.yml, examples/*.yml) with byte flips,
YAML tokens, anchors and aliases (small alias bombs too), tags, huge numbers, NULs and control
characters, deep nesting and spliced lines, and runs `healthmonitor validate` on each input: as
a file (--config), or inline in $CONFIG. An input fails the run when validate is killed by a
signal (a crash, or more than 1 GiB of address space), runs over 1 s twice in a row (once may be
the machine), or exits with anything but 0 (valid) or 2 (config error). The first failing input
is saved under .build/fuzz/ and the command that replays it printed.

Input N of seed S is the same on every machine and at any --jobs; how many inputs run depends
on the machine's speed within --seconds, which bounds the whole run (the seeds' own validation
first, to load the binary, included).

Usage: scripts/fuzz-config.py [--seconds 30] [--seed N] [--jobs 2] [--runs N] [BINARY]
       (FUZZ_SEED in the environment overrides the default seed; BINARY: .build/debug/healthmonitor)
"""
import argparse
import concurrent.futures
import glob
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIME_LIMIT = 1.0
MEMORY_LIMIT = 1 << 30

TOKENS = [b": ", b"- ", b"[", b"]", b"{", b"}", b",", b"? ", b"|", b">-", b"---\n", b"...\n", b"%YAML 1.2\n",
          b"%TAG ! tag:x,2024:\n", b"<<: ", b"&a ", b"*a", b"!!str ", b"!!int ", b"!!binary ", b"!custom ",
          b"!<tag:x> ", b"#", b"'", b'"', b"\t", b"\n", b"\r\n", b"\r", b"\\", b"${X}", b"${X:-d}", b"$${",
          b"${", b"~", b"null", b".nan", b".inf", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\x00", b"\x07", b"\x1b[2J"]
VALUES = [b"1e400", b"-1e400", b"1e300", b"99999999999999999999999999", b"0x7fffffffffffffff",
          b"-9223372036854775809", b"9223372036854775808", b".inf", b"-.inf", b".nan", b"0o777777777777777777777",
          b"1_000_000", b"-0", b"0", b"-1", b"1.5e-320", b"500ms", b"5m", b"1e9s", b"''", b'""', b"~",
          b'"a\\nFAKE LOG LINE"', b'"\\r\\n\\u202e\\a\\0"', b"\x00", b"[]", b"{}", b"[1, [2, [3]]]", b"{a: {b: c}}",
          b"*nope", b"&x v", b"!!binary aGVsbG8=", b"!!float x", b"|\n  multi\n  line", b"'" + b"x" * 10000 + b"'",
          b"[" * 100 + b"]" * 100, b"{a: " * 80 + b"1" + b"}" * 80, "Prüfung 👩‍💻".encode(), b"\xff\xfe"]


def seeds():
    paths = [os.path.join(ROOT, p) for p in ("config.yml", "config.compose.yml")]
    paths += sorted(glob.glob(os.path.join(ROOT, "examples", "*.yml")))
    return [(os.path.relpath(p, ROOT), open(p, "rb").read()) for p in paths]


def bomb(rng):
    """A small alias bomb: DEPTH levels of WIDTH aliases each (the limits must stop the big ones)."""
    depth, width = rng.randint(2, 9), rng.randint(2, 12)
    lines = [b"x-bomb:", b"  - &b0 [" + b", ".join([b"lol"] * width) + b"]"]
    for level in range(1, depth + 1):
        lines.append(b"  - &b%d [" % level + b", ".join([b"*b%d" % (level - 1)] * width) + b"]")
    use = b"  - {? *b%d : x}" % depth if rng.random() < 0.3 else b"  - *b%d" % depth
    return b"\n".join(lines + [use]) + b"\n"


def mutate(rng, text, corpus):
    lines = text.split(b"\n")
    kind = rng.randrange(12)
    if kind == 0 and text:  # flip a bit
        i = rng.randrange(len(text))
        return text[:i] + bytes([text[i] ^ (1 << rng.randrange(8))]) + text[i + 1:]
    if kind == 1:  # a token anywhere
        i = rng.randint(0, len(text))
        return text[:i] + rng.choice(TOKENS) + text[i:]
    if kind == 2:  # a value after a colon replaced
        candidates = [n for n, line in enumerate(lines) if b": " in line]
        if candidates:
            n = rng.choice(candidates)
            lines[n] = lines[n][:lines[n].index(b": ") + 2] + rng.choice(VALUES)
        return b"\n".join(lines)
    if kind == 3:  # an anchor on one value, aliases of it elsewhere
        candidates = [n for n, line in enumerate(lines) if b": " in line]
        if len(candidates) >= 2:
            a, b = rng.sample(candidates, 2)
            name = b"a%d" % rng.randrange(3)
            lines[a] = lines[a].replace(b": ", b": &" + name + b" ", 1)
            lines[b] = lines[b][:lines[b].index(b": ") + 2] + b"*" + name
        return b"\n".join(lines)
    if kind == 4:  # a small alias bomb at the top
        return bomb(rng) + text
    if kind == 5:  # a tag before a value
        i = rng.randint(0, len(text))
        return text[:i] + rng.choice([b"!!str ", b"!!map ", b"!!seq ", b"!!int ", b"!!null ", b"!x ", b"!<a> "]) + text[i:]
    if kind == 6:  # a line duplicated, dropped, swapped or re-indented
        n, m = rng.randrange(len(lines)), rng.randrange(len(lines))
        op = rng.randrange(4)
        if op == 0:
            lines.insert(m, lines[n])
        elif op == 1:
            del lines[n]
        elif op == 2:
            lines[n], lines[m] = lines[m], lines[n]
        else:
            lines[n] = (b" " * rng.randint(0, 12)) + lines[n].lstrip(b" ")
        return b"\n".join(lines)
    if kind == 7:  # lines of another seed spliced in
        other = rng.choice(corpus).split(b"\n")
        start = rng.randrange(len(other))
        n = rng.randint(0, len(lines))
        return b"\n".join(lines[:n] + other[start:start + rng.randint(1, 8)] + lines[n:])
    if kind == 8:  # NULs and other control characters
        i = rng.randint(0, len(text))
        return text[:i] + bytes(rng.choice([0, 1, 7, 8, 11, 12, 27, 127]) for _ in range(rng.randint(1, 4))) + text[i:]
    if kind == 9:  # truncated
        return text[:rng.randint(0, len(text))]
    if kind == 10:  # a label (a key of a mapping) with a control character or made long
        candidates = [n for n, line in enumerate(lines) if line.rstrip().endswith(b":") and line.startswith(b"    ")]
        if candidates:
            n = rng.choice(candidates)
            key = lines[n].strip()[:-1]
            label = rng.choice([b'"' + key + b'\\nFAKE LOG LINE"', key + b"\x07", key * 50, b'"\\u202e' + key + b'"'])
            lines[n] = lines[n][:lines[n].index(key)] + label + b":"
        return b"\n".join(lines)
    # deep nesting
    depth = rng.choice([10, 63, 64, 65, 200, 1001])
    i = rng.randint(0, len(text))
    return text[:i] + b"[" * depth + b"x" + b"]" * depth + text[i:]


def make_input(seed, index, corpus):
    """Input INDEX of SEED: a seed config with 1 to 6 mutations; how it is passed (file or $CONFIG)."""
    rng = random.Random(f"{seed}:{index}")
    text = rng.choice(corpus)
    for _ in range(rng.randint(1, 6)):
        text = mutate(rng, text, corpus)
    inline = rng.random() < 0.25 and b"\x00" not in text
    return text, inline


def validate(binary, work, name, text, inline, timeout):
    """Runs validate once: (exit code or None when over the time limit, seconds)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": work, "HOME": work}
    args = [binary, "validate"]
    if inline:
        env["CONFIG"] = text
    else:
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(text)
        args += ["--config", path]
    start = time.monotonic()
    try:
        code = subprocess.run(args, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        code = None
    return code, time.monotonic() - start


def problem(code):
    if code is None:
        return f"ran over {TIME_LIMIT:g} s, twice"
    if code < 0:
        return f"was killed by signal {-code} (a crash, or over {MEMORY_LIMIT >> 30} GiB of memory)"
    if code not in (0, 2):
        return f"exited {code} (expected 0 or 2)"
    return None


def outcome(code):
    return f"over {TIME_LIMIT:g} s" if code is None else f"signal {-code}" if code < 0 else f"exit {code}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", nargs="?", default=os.path.join(ROOT, ".build/debug/healthmonitor"))
    parser.add_argument("--seconds", type=float, default=30, help="bound on the whole run (default 30)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "16")))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=0, help="stop after this many inputs (default: only the time bound)")
    options = parser.parse_args()
    binary = os.path.abspath(options.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"fuzz-config: {binary} not found; build it first (swift build)")
    deadline = time.monotonic() + options.seconds
    # Every validate inherits the limit (set here rather than in each child: the children are
    # started from threads, where a preexec_fn is not safe).
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    corpus = seeds()
    print(f"fuzz-config: seed {options.seed} (FUZZ_SEED=N or --seed N to change), {len(corpus)} seed configs, "
          f"{options.seconds:g} s, {options.jobs} jobs, {binary}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hm-fuzz-") as work:
        # The seeds first, without the time limit (the first run loads the binary from disk).
        for name, text in corpus:
            code, _ = validate(binary, work, "seed.yml", text, False, max(1, deadline - time.monotonic()))
            if code != 0:
                sys.exit(f"fuzz-config: the seed {name} does not validate (exit {code}); fix it or the binary first")
        codes, slowest, retried, index, failure = {}, 0.0, 0, 0, None

        def run(i):
            text, inline = make_input(options.seed, i, [t for _, t in corpus])
            code, seconds = validate(binary, work, f"input-{i}.yml", text, inline, TIME_LIMIT)
            again = code is None
            if again:  # over the limit: once more, to tell a hang from a busy machine
                code, seconds = validate(binary, work, f"input-{i}.yml", text, inline, TIME_LIMIT)
            return i, text, inline, code, seconds, again

        with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
            running = set()
            while failure is None:
                while (len(running) < 2 * options.jobs and time.monotonic() < deadline
                       and (options.runs == 0 or index < options.runs)):
                    running.add(pool.submit(run, index))
                    index += 1
                if not running:
                    break
                done, running = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: f.result()[0]):
                    i, text, inline, code, seconds, again = future.result()
                    codes[code] = codes.get(code, 0) + 1
                    slowest = max(slowest, seconds if code is not None else TIME_LIMIT)
                    retried += again and code is not None
                    if problem(code) and (failure is None or i < failure[0]):
                        failure = (i, text, inline, code)
            for future in running:
                future.cancel()
        elapsed = options.seconds - (deadline - time.monotonic())
        total = sum(codes.values())
        counts = ", ".join(f"{outcome(c)} x{n}" for c, n in sorted(codes.items(), key=str))
        print(f"fuzz-config: {total} inputs in {elapsed:.1f} s ({total / max(elapsed, 0.001):.0f}/s): {counts}; "
              f"slowest {slowest:.2f} s; {retried} over {TIME_LIMIT:g} s once, fine the second time")
        if failure:
            i, text, inline, code = failure
            saved_dir = os.path.join(ROOT, ".build", "fuzz")
            os.makedirs(saved_dir, exist_ok=True)
            saved = os.path.join(saved_dir, f"failure-seed{options.seed}-input{i}.yml")
            with open(saved, "wb") as f:
                f.write(text)
            replay = f'CONFIG="$(cat {saved})" {binary} validate' if inline else f"{binary} validate --config {saved}"
            print(f"fuzz-config: FAILED: input {i} of seed {options.seed} {problem(code)}\n"
                  f"  saved to {saved}\n  replay: {replay}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
