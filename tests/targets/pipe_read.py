"""Integration target: a thread blocked reading a pipe another process feeds.

Usage: pipe_read.py SECONDS

main() starts a shell that writes one byte to a pipe every 200 ms, then
calls reader(), which reads the pipe one byte at a time until SECONDS have
passed. The process has one thread and it is almost always blocked in
read(2): ground truth with --idle is reader on LINE:read-call with
[off-cpu:io] read below it. The feeder is another process (not profiled).
Must run on CPython 3.6.
"""
import os
import subprocess
import sys
import time


def reader(fd, seconds):
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        n += len(os.read(fd, 1))  # LINE:read-call
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    r, w = os.pipe()
    feeder = subprocess.Popen(["sh", "-c", "while :; do printf x; sleep 0.2; done"],
                              stdin=subprocess.DEVNULL, stdout=w)
    os.close(w)
    sys.stdout.write("ready %d\n" % feeder.pid)
    sys.stdout.flush()
    try:
        reader(r, seconds)  # LINE:main-call
    finally:
        feeder.kill()
        feeder.wait()


main()  # LINE:module-call
