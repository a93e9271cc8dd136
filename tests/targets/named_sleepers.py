"""Integration target: ten named threads and the main thread, all asleep.

Usage: named_sleepers.py SECONDS

Starts ten threads named Sleeper-1..Sleeper-10, each asleep in doze() on a
line marked LINE:doze-sleep, while the main thread sleeps in main() on
LINE:main-sleep. Prints "ready" once every thread is asleep (each has
signalled just before its sleep), then lives SECONDS. Ground truth for
pyebpf dump: exactly eleven Python threads, MainThread and the ten
sleepers by name, every one idle, every sleeper's leaf frame doze on
LINE:doze-sleep. Must run on CPython 3.6.
"""
import sys
import threading
import time


def doze(started, seconds):
    started.release()
    time.sleep(seconds)  # LINE:doze-sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    started = threading.Semaphore(0)
    threads = [threading.Thread(target=doze, args=(started, seconds + 5),
                                name="Sleeper-%d" % i) for i in range(1, 11)]
    for t in threads:
        t.daemon = True
        t.start()
    for _ in threads:
        started.acquire()
    # the last sleeper released the semaphore just before its sleep: give
    # it a moment to get there
    time.sleep(0.2)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    time.sleep(seconds)  # LINE:main-sleep


main()  # LINE:module-call
