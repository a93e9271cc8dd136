#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A loopback receiver for Pyroscope's ingest API, for the agent's tests.

    python3 tests/integration/ingest_receiver.py [--host 127.0.0.1] [--port 4040]
                                                 [--dir OUT] [--status CODE]
                                                 [--path /ingest]

Accepts what `pyebpf agent` sends:

    POST /ingest?name=NAME&from=FROM&until=UNTIL&format=pprof&sampleRate=RATE&spyName=SPY

with a multipart/form-data body: part "profile" (a gzipped pprof) and part
"sample_type_config" (JSON). Each upload it accepts is kept in memory (an
Upload) and, with --dir, written as NNNNNN.pb.gz (the profile) and
NNNNNN.json (everything else: query, headers, sample type config, the time
it arrived). It answers 200 with an empty body; a request it cannot take
(another path or method, a missing or malformed parameter, a body that is
not multipart, no gzipped profile part, unreadable JSON) gets 400 and is
kept in `rejected` with the reason, so a test can fail on it. --status
CODE answers every well-formed upload with CODE instead (a backend that
fails, 5xx, or refuses, 4xx) and does not keep it.

By hand it prints one line per request. From a test:

    r = Receiver(port=0, out_dir=None).start()
    ... r.url, r.port, r.uploads(), r.wait_for(lambda ups: ..., timeout)
    r.stop(); r.start()    # down and up again on the same port

stop() also closes the connections a client keeps alive, so a stopped
receiver takes nothing more. Standard library only, Python >= 3.7.
"""

import argparse
import gzip
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

NAME = re.compile(r"^(?P<service>[^{}]+)\{(?P<labels>[^{}]*)\}$")
REQUIRED = ("name", "from", "until", "format", "sampleRate", "spyName")


class BadRequest(Exception):
    pass


class Upload:
    """One accepted ingest call."""

    def __init__(self, seq, query, headers, parts, received):
        self.seq = seq  # order of arrival, from 1
        self.received = received  # Unix time it arrived
        self.query = query  # {param: value}
        self.headers = headers  # {lowercased header name: value}
        self.name = query["name"]
        m = NAME.match(self.name)
        if not m:
            raise BadRequest("name %r is not SERVICE{k=v,...}" % self.name)
        self.service = m.group("service")
        self.label_keys = []  # in the order sent
        self.labels = {}
        for kv in filter(None, m.group("labels").split(",")):
            k, sep, v = kv.partition("=")
            if not sep or not k or k in self.labels:
                raise BadRequest("name %r: bad or repeated label %r" % (self.name, kv))
            self.label_keys.append(k)
            self.labels[k] = v
        try:
            self.start = int(query["from"])
            self.end = int(query["until"])
            self.rate = int(query["sampleRate"])
        except ValueError:
            raise BadRequest("from, until and sampleRate must be integers: %r" % query)
        self.profile = parts.get("profile")  # gzipped pprof bytes
        if not self.profile:
            raise BadRequest("no \"profile\" part")
        if self.profile[:2] != b"\x1f\x8b":
            raise BadRequest("the profile part is not gzipped")
        try:
            gzip.decompress(self.profile)
        except (OSError, EOFError) as e:
            raise BadRequest("the profile part does not gunzip: %s" % e)
        raw = parts.get("sample_type_config")
        if raw is None:
            raise BadRequest("no \"sample_type_config\" part")
        try:
            self.sample_type_config = json.loads(raw.decode())
        except ValueError as e:
            raise BadRequest("sample_type_config is not JSON: %s" % e)
        self.path = None  # the .pb.gz file, with a directory

    @property
    def kind(self):
        """The profile type: the sample_type_config's single key."""
        keys = list(self.sample_type_config) if isinstance(self.sample_type_config, dict) else []
        return keys[0] if len(keys) == 1 else "?"

    def describe(self):
        return "#%d %s %d-%d %s (%d bytes)" % (self.seq, self.kind, self.start, self.end,
                                               self.name, len(self.profile))

    def meta(self):
        return {"seq": self.seq, "received": self.received, "query": self.query,
                "headers": self.headers, "sample_type_config": self.sample_type_config}


def parse_multipart(ctype, body):
    """{part name: bytes} of a multipart/form-data body."""
    m = re.search(r'boundary="?([^";]+)"?', ctype or "")
    if not (ctype or "").lower().startswith("multipart/form-data") or not m:
        raise BadRequest("content type %r is not multipart/form-data with a boundary" % ctype)
    delim = b"--" + m.group(1).encode()
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BadRequest("multipart body has no closing boundary")
    parts = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise BadRequest("multipart part not framed by CRLF")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("multipart part without a blank line after its headers")
        name = None
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-disposition":
                nm = re.search(r'\bname="([^"]*)"', v)
                name = nm.group(1) if nm else None
        if name is None:
            raise BadRequest("multipart part without a Content-Disposition name")
        if name in parts:
            raise BadRequest("multipart part %r twice" % name)
        parts[name] = data
    return parts


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue answered
    server_version = "ingest-receiver"

    def setup(self):
        super().setup()
        self.server.receiver._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.receiver._conn_closed(self.connection)

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionAbortedError("the client went away mid-request")
        return data

    def _answer(self, code, text=""):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        rec = self.server.receiver
        rec._reject(self, "GET %s: only POST %s is served" % (self.path, rec.path))
        self._answer(400, "only POST %s\n" % rec.path)

    def do_POST(self):
        rec = self.server.receiver
        try:
            body = self._body()
        except (ConnectionError, ValueError):
            self.close_connection = True  # a client that stopped mid-upload
            return
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path != rec.path:
                raise BadRequest("POST %s: not %s" % (url.path, rec.path))
            q = urllib.parse.parse_qs(url.query, keep_blank_values=True, strict_parsing=True)
            for k, v in q.items():
                if len(v) != 1:
                    raise BadRequest("parameter %s given %d times" % (k, len(v)))
            query = {k: v[0] for k, v in q.items()}
            missing = [k for k in REQUIRED if not query.get(k)]
            if missing:
                raise BadRequest("missing parameters: %s" % ", ".join(missing))
            parts = parse_multipart(self.headers.get("Content-Type"), body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            up = Upload(0, query, headers, parts, time.time())
        except (BadRequest, ValueError) as e:
            rec._reject(self, str(e))
            self._answer(400, "%s\n" % e)
            return
        code = rec.status
        if code == 200:
            rec._accept(up)
        else:
            rec._note("answered %d: %s" % (code, up.describe()))
        self._answer(code)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a client dropping its connection (an agent stopping) is normal
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Receiver:
    """The receiver, in background threads of this process."""

    def __init__(self, host="127.0.0.1", port=0, out_dir=None, status=200, echo=False,
                 path="/ingest", tls=None):
        self.host = host
        self.tls = tls  # an ssl.SSLContext: serve HTTPS
        self.path = path  # the ingest path: /ingest, or PREFIX/ingest
        self.port = port
        self.out_dir = out_dir
        self.status = status  # the answer to a well-formed upload
        self.echo = echo  # print a line per request
        self.rejected = []  # (request line, reason)
        self._uploads = []
        self._lock = threading.Condition()
        self._conns = set()
        self._server = None
        self._thread = None
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host, self.port)

    def start(self):
        """Listen (on the same port as before, after a stop)."""
        self._server = _Server((self.host, self.port), _Handler)
        if self.tls:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening and drop every open connection."""
        if not self._server:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server = None

    @property
    def running(self):
        return self._server is not None

    def uploads(self):
        with self._lock:
            return list(self._uploads)

    def wait_for(self, pred, timeout):
        """Waits until pred(uploads) is true; returns it (falsy on timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = pred(list(self._uploads))
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                self._lock.wait(min(left, 0.2))

    def _conn_opened(self, conn):
        with self._lock:
            self._conns.add(conn)

    def _conn_closed(self, conn):
        with self._lock:
            self._conns.discard(conn)

    def _note(self, line):
        if self.echo:
            print(line, flush=True)

    def _reject(self, handler, reason):
        with self._lock:
            self.rejected.append((handler.requestline, reason))
        self._note("rejected %s: %s" % (handler.requestline, reason))

    def _accept(self, up):
        with self._lock:
            up.seq = len(self._uploads) + 1
            if self.out_dir:
                base = os.path.join(self.out_dir, "%06d" % up.seq)
                with open(base + ".pb.gz", "wb") as f:
                    f.write(up.profile)
                with open(base + ".json", "w") as f:
                    json.dump(up.meta(), f, indent=1, sort_keys=True)
                up.path = base + ".pb.gz"
            self._uploads.append(up)
            self._lock.notify_all()
        self._note(up.describe())


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ap.add_argument("--port", type=int, default=4040, help="port, 0 for any (4040)")
    ap.add_argument("--path", default="/ingest",
                    help="the ingest path (/ingest; PREFIX/ingest for a server URL with a path)")
    ap.add_argument("--dir", help="write each upload there as NNNNNN.pb.gz and NNNNNN.json")
    ap.add_argument("--status", type=int, default=200,
                    help="HTTP status for well-formed uploads (200; e.g. 500 or 400 to "
                         "play a failing backend)")
    args = ap.parse_args(argv)
    try:
        r = Receiver(args.host, args.port, args.dir, args.status, echo=True,
                     path=args.path).start()
    except OSError as e:
        print("ingest_receiver: cannot listen on %s:%d: %s" % (args.host, args.port,
                                                              e.strerror or e),
              file=sys.stderr)
        return 1
    print("listening on %s" % r.url, flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
