"""A small program for pyebpf's demo: a fake report job with three stages.

It runs for about four seconds; pyebpf shows where that time goes
(parse_records, compute_stats and render_report, roughly 3:2:1).
"""
import json
import math
import time


def make_records(n):
    return [json.dumps({"id": i, "value": (i * 7919) % 1000, "tag": "t%d" % (i % 13)})
            for i in range(n)]


def parse_records(lines):
    return [json.loads(line) for line in lines]


def compute_stats(records):
    values = [r["value"] for r in records]
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return {"mean": mean, "stdev": math.sqrt(var), "max": max(values)}


def render_report(stats, records):
    rows = ["%-6s %8.2f" % (r["tag"], r["value"]) for r in records[:2000]]
    return "\n".join(rows) + "\n%r" % (stats,)


def work_for(seconds, fn, *args):
    end = time.monotonic() + seconds
    result = None
    while time.monotonic() < end:
        result = fn(*args)
    return result


def main():
    lines = make_records(2000)
    records = work_for(2.0, parse_records, lines)
    stats = work_for(1.3, compute_stats, records)
    report = work_for(0.7, render_report, stats, records)
    print("report: %d lines" % report.count("\n"))


if __name__ == "__main__":
    main()
