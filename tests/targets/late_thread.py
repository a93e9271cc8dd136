"""Integration target: a thread started after the profiler attached.

Usage: late_thread.py SECONDS (stdin | DELAY)

Prints "ready", then waits for a line on stdin (the harness sends it once
the profiler has been running for a while) or sleeps DELAY seconds, then
starts a threading.Thread running late_worker() for SECONDS. The worker
first prints "stack " and a JSON list of [function, filename] pairs, root
first, as the interpreter itself sees its stack (co_qualname on 3.11+,
co_name before), which is what a profiler should report for it.
Must run on CPython 3.6.
"""
import json
import sys
import threading
import time


def late_worker(seconds):
    frames = []
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        frames.append([getattr(code, "co_qualname", code.co_name),
                       code.co_filename])
        frame = frame.f_back
    frames.reverse()
    sys.stdout.write("stack " + json.dumps(frames) + "\n")
    sys.stdout.flush()
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:
        for i in range(2000):
            total += i * i % 7
    return total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    delay = sys.argv[2] if len(sys.argv) > 2 else "1.0"
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if delay == "stdin":
        sys.stdin.readline()
    else:
        time.sleep(float(delay))
    t = threading.Thread(target=late_worker, args=(seconds,),
                         name="late-worker")
    t.start()
    t.join()


main()
