#!/usr/bin/env python3
"""Soak driver for Benchmarks/soak/soak.sh (stdlib only: asyncio).

Against one running `switchyard serve` (PROXY, process PROXY_PID) in front of N `switchyard sim`
replicas, in one asyncio process:

  idle     IDLE client connections to the proxy, opened before the load and held for the whole
           run without sending a byte; any that closes is reopened (and counted).
  load     WORKERS workers, each looping: POST /v1/chat/completions, streaming, with
           stream_options.include_usage, a short text prompt, max_tokens uniform in 8..128; the SSE
           stream is read to its end; with probability CANCEL_PROB the client closes the socket
           after a random number of events. After a non-200 answer a worker pauses ERROR_PAUSE
           (0.1 s), so that a backend answering 500 at once does not become a tight loop. Keep-alive connections are reused while the proxy keeps
           them open. Every request is classified:
             ok             200, the stream ends with [DONE] and carries no error event
             error_event    200, the stream ends with a `data: {"error":...}` event, then [DONE]
             cancelled      we closed the socket mid-stream
             refused        non-200 with x-switchyard-reason (counted by "status reason")
             backend_status non-200 without x-switchyard-reason (a backend's own answer)
             broken         anything else: no [DONE], a truncated or unterminated body, a
                            malformed event, a reset, a connect failure, a client timeout.
           Each broken request is logged in broken.jsonl with the faults in force.
  faults   every FAULT_EVERY (uniform) seconds one random sim without a fault gets a random fault
           (POST /sim/faults), held FAULT_HOLD seconds, then cleared with {}; never more than
           MAX_FAULTED sims at once. Faults are posted over one keep-alive control connection per
           sim opened at the start: a sim told to refuse_connections closes every NEW connection,
           including the one that would clear the fault.
  samples  every SAMPLE_INTERVAL s one row of samples.csv: the proxy's VmRSS and open fds, idle
           connections open, requests by class, /switchyard/status (queue, per-backend status and
           in_flight), the faults in force.
  end      load and faults stop (requests in flight finish, at most 60 s), every fault is cleared,
           the proxy gets up to QUIET_WAIT s to go quiet, then /switchyard/status must show every
           backend with in_flight 0 and reserved_tokens 0 and queue.requests 0 (the leak check;
           pending_prompt_tokens and queue.tokens not 0 are listed too but do not fail it);
           /metrics is read for switchyard_retries_total, switchyard_upstream_errors_total and
           switchyard_backend_in_rotation.

Writes to OUT: samples.csv, faults.jsonl, broken.jsonl, status-final.json, metrics-final.txt,
sims-final.json, summary.json, summary.txt. Exit status 1 if any request was broken or a slot
leaked, 2 on a setup failure, else 0.
"""
import argparse
import asyncio
import csv
import json
import os
import random
import resource
import sys
import time
from datetime import datetime, timezone

FAULTS = [
    {"refuse_connections": True},
    {"error_status": 503},
    {"error_status": 500},
    {"stall_first_token_ms": 4000},
    {"close_after_events": 5},
    {"health_status": 503},
    {"slow_factor": 3},
]
PROMPTS = [
    "Summarise the plot of a short story about a lighthouse keeper in two sentences.",
    "List three uses of a paperclip.",
    "What is the capital of Australia, and why is it not Sydney?",
    "Write a haiku about load balancers.",
    "Explain backpressure in one paragraph.",
    "Translate 'good morning' into French, German and Japanese.",
    "Describe the colour blue to someone who cannot see.",
    "Give a one-line definition of a reverse proxy.",
]
CLASSES = ["ok", "error_event", "cancelled", "refused", "backend_status", "broken"]
MIB = 1024 * 1024


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def host_port(url):
    rest = url.split("://", 1)[1].rstrip("/")
    host, port = rest.rsplit(":", 1)
    return host, int(port)


class _State:
    status = None
    events = 0


class Broken(Exception):
    """A response that is not a well-formed HTTP/1.1 answer or SSE stream."""


# ---------------------------------------------------------------- HTTP/1.1 on asyncio streams

class Conn:
    """One client connection with its own read buffer (keep-alive aware)."""

    def __init__(self, reader, writer):
        self.reader, self.writer, self.buf = reader, writer, bytearray()
        self.requests = 0

    @classmethod
    async def open(cls, host, port, timeout=5.0):
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        return cls(r, w)

    async def fill(self, what):
        data = await self.reader.read(65536)
        if not data:
            raise EOFError(what)
        self.buf += data

    async def read_head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(self.buf) > 65536:
                raise Broken("response head over 64 KiB")
            await self.fill("connection closed before the response head" + (" (none of it)" if not self.buf else ""))
        head = bytes(self.buf[:i]).decode("latin-1")
        del self.buf[: i + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise Broken(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise Broken(f"bad header line {line!r}")
            name = name.strip().lower()
            headers[name] = (headers[name] + ", " if name in headers else "") + value.strip()
        return int(parts[1]), headers

    async def body_pieces(self, headers):
        """Yields the body's bytes as they arrive; returns at its proper end; raises on truncation."""
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            while True:
                while b"\r\n" not in self.buf:
                    await self.fill("connection closed inside a chunk size line")
                i = self.buf.find(b"\r\n")
                size_text = bytes(self.buf[:i]).split(b";")[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise Broken(f"bad chunk size {bytes(self.buf[:i])[:40]!r}")
                del self.buf[: i + 2]
                if size == 0:
                    # trailers (none expected), then the final CRLF
                    while True:
                        while b"\r\n" not in self.buf:
                            await self.fill("connection closed inside the chunked trailer")
                        j = self.buf.find(b"\r\n")
                        line = bytes(self.buf[:j])
                        del self.buf[: j + 2]
                        if not line:
                            return
                while len(self.buf) < size + 2:
                    # hand on what there is so far, so the stream is seen as it arrives
                    await self.fill(f"connection closed inside a chunk ({len(self.buf)} of {size} bytes)")
                piece = bytes(self.buf[:size])
                if self.buf[size: size + 2] != b"\r\n":
                    raise Broken("chunk not followed by CRLF")
                del self.buf[: size + 2]
                yield piece
        elif "content-length" in headers:
            remaining = int(headers["content-length"])
            while remaining > 0:
                if not self.buf:
                    await self.fill(f"connection closed with {remaining} body bytes missing")
                piece = bytes(self.buf[:remaining])
                del self.buf[: len(piece)]
                remaining -= len(piece)
                yield piece
        else:  # delimited by the close
            while True:
                if self.buf:
                    piece = bytes(self.buf)
                    self.buf.clear()
                    yield piece
                data = await self.reader.read(65536)
                if not data:
                    return
                self.buf += data

    async def read_body(self, headers):
        out = bytearray()
        async for piece in self.body_pieces(headers):
            out += piece
        return bytes(out)

    def close(self, abort=False):
        try:
            if abort:
                self.writer.transport.abort()
            else:
                self.writer.close()
        except Exception:
            pass


def request_bytes(method, path, host, body=b"", extra=None, close=False):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def http_once(url, method, path, body=b"", timeout=10.0):
    """One request on a fresh connection: (status, headers, body)."""
    host, port = host_port(url)

    async def go():
        c = await Conn.open(host, port, timeout)
        try:
            c.writer.write(request_bytes(method, path, f"{host}:{port}", body, close=True))
            status, headers = await c.read_head()
            return status, headers, await c.read_body(headers)
        finally:
            c.close()

    return await asyncio.wait_for(go(), timeout)


# ---------------------------------------------------------------- the soak

class Soak:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.phost, self.pport = host_port(a.proxy)
        self.out = a.out
        self.stopping = asyncio.Event()       # load and faults stop
        self.idle_stop = False
        self.t0 = None                        # monotonic start of the load
        self.counts = {c: 0 for c in CLASSES}
        self.refused = {}                     # "status reason" -> n
        self.backend_status = {}              # status -> n
        self.broken_reasons = {}
        self.ok_e2e, self.ok_ttft = [], []
        self.ok_missing_usage = 0
        self.retried_ok = 0                   # ok responses with x-switchyard-attempts
        self.in_progress = 0
        self.conn_reuses = 0
        self.idle_open = 0
        self.idle_reopens = 0
        self.idle_open_failures = 0
        self.idle_peer_closes = []            # first few (t, what)
        self.idle_unexpected_bytes = 0
        self.idle_writers = set()
        self.active_faults = {}               # sim name -> fault dict
        self.fault_log = []
        self.max_faulted_seen = 0
        self.samples = []
        self.broken_f = open(os.path.join(self.out, "broken.jsonl"), "w")
        self.faults_f = open(os.path.join(self.out, "faults.jsonl"), "w")
        self.model = None
        self.ctl = {}                         # sim name -> Conn (control connection)
        self.ctl_lock = {}
        kinds = [k for k in a.fault_kinds.split(",") if k]
        self.fault_menu = [f for f in FAULTS if not kinds or next(iter(f)) in kinds]
        if not self.fault_menu:
            raise SystemExit(f"--fault-kinds {a.fault_kinds!r} selects no fault")

    def t(self):
        return time.monotonic() - self.t0 if self.t0 is not None else 0.0

    def log(self, msg):
        print(f"[{now_iso()} t={self.t():7.1f}s] {msg}", flush=True)

    # ------------------------------------------------------------ proxy process figures
    def rss_mib(self):
        try:
            with open(f"/proc/{self.a.proxy_pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None

    def fds(self):
        try:
            return len(os.listdir(f"/proc/{self.a.proxy_pid}/fd"))
        except OSError:
            return None

    def cpu_s(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None

    def proxy_alive(self):
        return os.path.exists(f"/proc/{self.a.proxy_pid}/status")

    # ------------------------------------------------------------ idle connections
    async def hold_idle(self, i, opened):
        first = True
        while not self.idle_stop:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(self.phost, self.pport), 10)
            except (OSError, asyncio.TimeoutError) as e:
                self.idle_open_failures += 1
                if self.idle_open_failures <= 5:
                    self.log(f"idle connection {i}: open failed: {e!r}")
                await asyncio.sleep(1)
                continue
            if not first:
                self.idle_reopens += 1
            if first:
                opened.release()
            first = False
            self.idle_open += 1
            self.idle_writers.add(w)
            what = "closed by the proxy (EOF)"
            try:
                data = await r.read(4096)
                if data:
                    self.idle_unexpected_bytes += len(data)
                    what = f"proxy wrote {data[:80]!r}"
            except asyncio.CancelledError:
                what = None
                raise
            except OSError as e:
                what = f"error {e!r}"
            finally:
                self.idle_open -= 1
                self.idle_writers.discard(w)
                try:
                    w.transport.abort()
                except Exception:
                    pass
                if what and not self.idle_stop:
                    if len(self.idle_peer_closes) < 20:
                        self.idle_peer_closes.append({"t": round(self.t(), 1), "wall": now_iso(), "conn": i, "what": what})
                        self.log(f"idle connection {i} {what}; reopening")
            await asyncio.sleep(0.5)

    async def open_idle(self):
        n = self.a.idle
        self.idle_tasks = []
        opened = asyncio.Semaphore(0)
        batch = 250
        t = time.monotonic()
        for start in range(0, n, batch):
            k = min(batch, n - start)
            for i in range(start, start + k):
                self.idle_tasks.append(asyncio.create_task(self.hold_idle(i, opened)))
            for _ in range(k):
                try:
                    await asyncio.wait_for(opened.acquire(), 30)
                except asyncio.TimeoutError:
                    raise SystemExit(f"could not open idle connection {start}..{start + k}: {self.idle_open} open, "
                                     f"{self.idle_open_failures} failures")
        self.log(f"{self.idle_open} idle connections open after {time.monotonic() - t:.1f} s "
                 f"({self.idle_open_failures} open failures)")

    # ------------------------------------------------------------ one request
    def classify(self, cls, detail=None, **extra):
        self.counts[cls] += 1
        if cls == "broken":
            self.broken_reasons[detail] = self.broken_reasons.get(detail, 0) + 1
            rec = {"t": round(self.t(), 3), "wall": now_iso(), "reason": detail,
                   "faults_now": {k: v for k, v in self.active_faults.items()}, **extra}
            self.broken_f.write(json.dumps(rec) + "\n")
            self.broken_f.flush()
            if self.counts["broken"] <= 20:
                self.log(f"BROKEN: {json.dumps(rec)}")

    async def one_request(self, conn):
        """Returns the connection to reuse, or None."""
        a = self.a
        max_tokens = self.rng.randint(8, 128)
        cancel_after = self.rng.randint(1, max_tokens) if self.rng.random() < a.cancel_prob else None
        body = json.dumps({
            "model": self.model,
            "messages": [{"role": "user", "content": self.rng.choice(PROMPTS)}],
            "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True},
        }).encode()
        faults_at_start = dict(self.active_faults)
        start = time.monotonic()
        reused = conn is not None
        info = {"reused_conn": reused, "max_tokens": max_tokens, "cancel_after": cancel_after,
                "faults_at_start": faults_at_start}
        if conn is None:
            try:
                conn = await Conn.open(self.phost, self.pport)
            except (OSError, asyncio.TimeoutError) as e:
                self.classify("broken", f"connect to proxy failed: {type(e).__name__}", error=repr(e), **info)
                await asyncio.sleep(0.2)
                return None
        else:
            self.conn_reuses += 1
        conn.requests += 1
        st = _State()
        try:
            return await asyncio.wait_for(self.exchange(conn, body, info, st, cancel_after, start), self.a.request_timeout)
        except asyncio.TimeoutError:  # (before the OSError clause: TimeoutError is an OSError)
            conn.close(abort=True)
            self.classify("broken", f"client timeout ({self.a.request_timeout:g} s)", events=st.events, **info)
            return None
        except Broken as e:
            conn.close(abort=True)
            self.classify("broken", str(e), events=st.events, **info)
            return None
        except (EOFError, OSError, asyncio.IncompleteReadError) as e:
            conn.close(abort=True)
            what = str(e) if isinstance(e, EOFError) else f"{type(e).__name__}: {e}"
            if st.status is None and reused:
                what = "reused keep-alive connection: " + what
            self.classify("broken", what if isinstance(e, EOFError) else type(e).__name__, error=what,
                          events=st.events, **info)
            return None

    async def exchange(self, conn, body, info, st, cancel_after, start):
        """One request/response on conn; classifies it unless it raises. Returns conn to reuse or None."""
        conn.writer.write(request_bytes("POST", "/v1/chat/completions", f"{self.phost}:{self.pport}", body))
        await conn.writer.drain()
        status, headers = await conn.read_head()
        st.status = status
        info.update(status=status, backend=headers.get("x-switchyard-backend"),
                    request_id=headers.get("x-request-id"), attempts=headers.get("x-switchyard-attempts"))
        keep = "close" not in headers.get("connection", "").lower()
        if status != 200:
            resp = await conn.read_body(headers)
            reason = headers.get("x-switchyard-reason")
            if reason:
                key = f"{status} {reason}"
                self.refused[key] = self.refused.get(key, 0) + 1
                self.classify("refused")
            else:
                self.backend_status[str(status)] = self.backend_status.get(str(status), 0) + 1
                self.classify("backend_status")
                if self.backend_status[str(status)] <= 3:
                    self.log(f"backend status {status} from {info['backend']}: {resp[:160]!r}")
            await asyncio.sleep(self.a.error_pause)  # no tight loop on instant answers (a 500-ing backend)
            if not keep:
                conn.close()
                return None
            return conn
        ctype = headers.get("content-type", "")
        if "text/event-stream" not in ctype:
            resp = await conn.read_body(headers)
            raise Broken(f"200 with content-type {ctype!r}")
        sse = bytearray()
        done = error = usage = False
        first_t = None
        async for piece in conn.body_pieces(headers):
            sse += piece
            while True:
                i = sse.find(b"\n\n")
                if i < 0:
                    break
                ev = bytes(sse[:i])
                del sse[: i + 2]
                data = [ln[5:].strip() for ln in ev.split(b"\n") if ln.startswith(b"data:")]
                if not data:
                    continue
                payload = b"\n".join(data)
                if done:
                    raise Broken("an event after [DONE]")
                if payload == b"[DONE]":
                    done = True
                    continue
                if error:
                    raise Broken("an event after the error event")
                st.events += 1
                try:
                    obj = json.loads(payload)
                except ValueError:
                    raise Broken("an event that is not JSON")
                if "error" in obj:
                    error = True
                    e = obj["error"]
                    info["error_event"] = str(e.get("message", "") if isinstance(e, dict) else e)[:200]
                elif obj.get("usage") and not obj.get("choices"):
                    usage = True
                elif first_t is None:
                    first_t = time.monotonic()
                if cancel_after is not None and st.events >= cancel_after and not done:
                    conn.close(abort=True)
                    self.classify("cancelled")
                    return None
        if sse.strip():
            raise Broken("the body ended inside an event")
        if not done:
            raise Broken("the stream ended without [DONE]" + (" (after an error event)" if error else ""))
        if error:
            self.classify("error_event")
        else:
            self.classify("ok")
            self.ok_e2e.append((time.monotonic() - start) * 1000)
            if first_t is not None:
                self.ok_ttft.append((first_t - start) * 1000)
            if not usage:
                self.ok_missing_usage += 1
            if headers.get("x-switchyard-attempts"):
                self.retried_ok += 1
        if not keep:
            conn.close()
            return None
        return conn

    async def worker(self, wid):
        conn = None
        while not self.stopping.is_set():
            self.in_progress += 1
            try:
                conn = await self.one_request(conn)
            finally:
                self.in_progress -= 1
        if conn is not None:
            conn.close()

    # ------------------------------------------------------------ faults
    async def ctl_post(self, sim, body):
        """POST /sim/faults over the sim's keep-alive control connection (reopened if it was lost)."""
        name, url = sim
        host, port = host_port(url)
        async with self.ctl_lock[name]:
            for attempt in (1, 2):
                c = self.ctl.get(name)
                try:
                    if c is None:
                        c = await Conn.open(host, port)
                        self.ctl[name] = c
                    c.writer.write(request_bytes("POST", "/sim/faults", f"{host}:{port}", json.dumps(body).encode()))
                    status, headers = await asyncio.wait_for(c.read_head(), 5)
                    resp = await asyncio.wait_for(c.read_body(headers), 5)
                    return status, resp.decode(errors="replace")
                except Exception as e:
                    if c is not None:
                        c.close(abort=True)
                    self.ctl[name] = None
                    if attempt == 2:
                        return None, repr(e)

    def log_fault(self, sim, fault, action, status, resp):
        rec = {"t": round(self.t(), 2), "wall": now_iso(), "sim": sim[0], "url": sim[1], "action": action,
               "fault": fault, "status": status, "active": sorted(self.active_faults)}
        if status != 200:
            rec["response"] = resp[:200]
        self.fault_log.append(rec)
        self.faults_f.write(json.dumps(rec) + "\n")
        self.faults_f.flush()
        self.log(f"fault {action} {sim[0]} {json.dumps(fault)} -> {status}")

    async def wait_or_stop(self, seconds):
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def fault_episode(self, sim, fault, hold):
        self.active_faults[sim[0]] = fault
        self.max_faulted_seen = max(self.max_faulted_seen, len(self.active_faults))
        status, resp = await self.ctl_post(sim, fault)
        self.log_fault(sim, fault, "apply", status, resp)
        await self.wait_or_stop(hold)
        status, resp = await self.ctl_post(sim, {})
        self.active_faults.pop(sim[0], None)
        self.log_fault(sim, {}, "clear", status, resp)

    async def faults_loop(self):
        lo, hi = self.a.fault_every
        episodes = []
        while True:
            await self.wait_or_stop(self.rng.uniform(lo, hi))
            if self.stopping.is_set():
                break
            free = [s for s in self.a.sims if s[0] not in self.active_faults]
            if len(self.active_faults) >= self.a.max_faulted or not free:
                self.log(f"fault skipped: {sorted(self.active_faults)} already faulted")
                continue
            sim = self.rng.choice(free)
            fault = self.rng.choice(self.fault_menu)
            hold = self.rng.uniform(*self.a.fault_hold)
            episodes.append(asyncio.create_task(self.fault_episode(sim, fault, hold)))
        await asyncio.gather(*episodes)

    # ------------------------------------------------------------ samples
    async def status(self):
        try:
            st, _, body = await http_once(self.a.proxy, "GET", "/switchyard/status", timeout=10)
            return json.loads(body) if st == 200 else None
        except Exception:
            return None

    async def sample(self, phase):
        st = await self.status()
        row = {
            "t_s": round(self.t(), 1), "wall": now_iso(), "phase": phase,
            "rss_mib": round(self.rss_mib() or 0, 2), "fds": self.fds(),
            "proxy_cpu_s": self.cpu_s(self.a.proxy_pid), "loadgen_cpu_s": self.cpu_s(os.getpid()),
            "idle_open": self.idle_open, "idle_reopens": self.idle_reopens,
            "in_progress": self.in_progress, **{c: self.counts[c] for c in CLASSES},
            "queue_requests": st["queue"]["requests"] if st else "", "queue_tokens": st["queue"]["tokens"] if st else "",
        }
        for name, _ in self.a.sims:
            b = next((b for b in (st or {}).get("backends", []) if b["name"] == name), None)
            row[f"{name}_status"] = b.get("status", "?") if b else ""
            row[f"{name}_in_flight"] = b["in_flight"] if b else ""
        row["faults"] = " ".join(f"{k}:{','.join(f'{a}={b}' for a, b in v.items())}" for k, v in sorted(self.active_faults.items()))
        self.samples.append(row)
        if not hasattr(self, "csv_w"):
            self.csv_f = open(os.path.join(self.out, "samples.csv"), "w", newline="")
            self.csv_w = csv.DictWriter(self.csv_f, fieldnames=list(row))
            self.csv_w.writeheader()
        self.csv_w.writerow(row)
        self.csv_f.flush()
        inflight = "/".join(str(row[f"{n}_in_flight"]) for n, _ in self.a.sims)
        stat = "/".join((row[f"{n}_status"] or "?")[:4] for n, _ in self.a.sims)
        self.log(f"{phase}: rss {row['rss_mib']:.1f} MiB fds {row['fds']} idle {self.idle_open} (reopens {self.idle_reopens}) "
                 f"ok {self.counts['ok']} err_ev {self.counts['error_event']} canc {self.counts['cancelled']} "
                 f"ref {self.counts['refused']} be {self.counts['backend_status']} BROKEN {self.counts['broken']} "
                 f"q {row['queue_requests']} in_flight {inflight} [{stat}] {row['faults']}")
        return row

    async def sampler(self):
        k = 1
        while not self.stopping.is_set():
            await self.wait_or_stop(self.t0 + k * self.a.sample_interval - time.monotonic())
            if self.stopping.is_set():
                break
            await self.sample("load")
            if not self.proxy_alive():
                self.log("the proxy process is gone; stopping")
                self.proxy_died = True
                self.stopping.set()
            k += 1

    # ------------------------------------------------------------ the run
    async def run(self):
        a = self.a
        self.proxy_died = False
        st, _, body = await http_once(a.proxy, "GET", "/v1/models")
        if st != 200:
            raise SystemExit(f"GET /v1/models answered {st}")
        self.model = json.loads(body)["data"][0]["id"]
        self.log(f"model {self.model}; {len(a.sims)} sims; {a.workers} workers; {a.idle} idle connections; "
                 f"{a.minutes:g} min")
        for name, url in a.sims:
            self.ctl_lock[name] = asyncio.Lock()
            st, resp = await self.ctl_post((name, url), {})
            if st != 200:
                raise SystemExit(f"POST {url}/sim/faults answered {st}: {resp}")
        self.t0 = time.monotonic()
        self.rss_start = self.rss_mib()
        self.fds_start = self.fds()
        await self.sample("start")
        await self.open_idle()
        await asyncio.sleep(2)
        await self.sample("idle-open")
        self.rss_after_conns = self.rss_mib()
        self.fds_after_conns = self.fds()
        # the load phase: t = 0 from here
        self.t0 = time.monotonic()
        self.wall_start = now_iso()
        self.cpu0 = self.cpu_s(a.proxy_pid)
        await self.sample("load")
        workers = [asyncio.create_task(self.worker(i)) for i in range(a.workers)]
        faults = asyncio.create_task(self.faults_loop())
        sampler = asyncio.create_task(self.sampler())
        await self.wait_or_stop(a.minutes * 60)
        self.duration_s = self.t()
        self.log("stopping the load and the faults")
        self.stopping.set()
        await sampler
        await faults
        done, pending = await asyncio.wait(workers, timeout=60)
        for w in pending:
            w.cancel()
        self.log(f"load stopped ({len(pending)} workers cancelled after 60 s)")
        self.cpu1 = self.cpu_s(a.proxy_pid)
        # every fault cleared, over the control connections
        for sim in a.sims:
            status, resp = await self.ctl_post(sim, {})
            if status != 200:
                self.log(f"could not clear the faults of {sim[0]}: {status} {resp}")
        # quiet: every backend idle, the queue empty
        t_quiet = time.monotonic()
        st = None
        while time.monotonic() - t_quiet < a.quiet_wait:
            st = await self.status()
            if st and self.leaks(st) == [] and all(b.get("status") == "healthy" for b in st["backends"]):
                break
            await asyncio.sleep(1)
        self.quiet_after_s = time.monotonic() - t_quiet
        st = await self.status()
        await self.sample("end")
        self.rss_end = self.rss_mib()
        self.fds_end = self.fds()
        self.idle_open_end = self.idle_open
        with open(os.path.join(self.out, "status-final.json"), "w") as f:
            json.dump(st, f, indent=1)
        try:
            _, _, metrics = await http_once(a.proxy, "GET", "/metrics")
            metrics = metrics.decode()
        except Exception as e:
            metrics = f"# failed: {e!r}\n"
        with open(os.path.join(self.out, "metrics-final.txt"), "w") as f:
            f.write(metrics)
        sims_state = {}
        for name, url in a.sims:
            try:
                _, _, b = await http_once(url, "GET", "/sim/state")
                sims_state[name] = json.loads(b)
            except Exception as e:
                sims_state[name] = {"error": repr(e)}
        with open(os.path.join(self.out, "sims-final.json"), "w") as f:
            json.dump(sims_state, f, indent=1)
        # close the idle connections; the proxy's fds and RSS once they are gone
        self.idle_stop = True
        for tk in self.idle_tasks:
            tk.cancel()
        await asyncio.gather(*self.idle_tasks, return_exceptions=True)
        for c in self.ctl.values():
            if c:
                c.close()
        await asyncio.sleep(6)  # past upstream.pool_idle_timeout (4 s): pooled upstream connections retired too
        self.rss_after_close = self.rss_mib()
        self.fds_after_close = self.fds()
        return self.summarise(st, metrics, sims_state)

    @staticmethod
    def leaks(st):
        bad = []
        for b in st["backends"]:
            for k in ("in_flight", "reserved_tokens", "pending_prompt_tokens"):
                if b.get(k, 0) != 0:
                    bad.append(f"{b['name']}.{k}={b[k]}")
        if st["queue"]["requests"] != 0:
            bad.append(f"queue.requests={st['queue']['requests']}")
        if st["queue"]["tokens"] != 0:
            bad.append(f"queue.tokens={st['queue']['tokens']}")
        return bad

    # ------------------------------------------------------------ summary
    def summarise(self, st, metrics, sims_state):
        a = self.a
        load = [r for r in self.samples if r["phase"] in ("load", "end") and r["rss_mib"]]
        load_only = [r for r in self.samples if r["phase"] == "load" and r["rss_mib"]]
        rss = [r["rss_mib"] for r in load]
        half = [r for r in load_only if r["t_s"] >= self.duration_s / 2]
        slope = None
        if len(half) >= 3:
            xs = [r["t_s"] for r in half]
            ys = [r["rss_mib"] for r in half]
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            den = sum((x - mx) ** 2 for x in xs)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 600 if den else None
        # every 5 minutes (the sample nearest each mark)
        table = []
        mark = 0.0
        while load_only and mark <= self.duration_s + 1:
            r = min(load_only, key=lambda r: abs(r["t_s"] - mark))
            table.append({"min": round(mark / 60, 1), "t_s": r["t_s"], "rss_mib": r["rss_mib"], "fds": r["fds"],
                          "idle_open": r["idle_open"], "done": sum(r[c] for c in CLASSES)})
            mark += 300 if self.duration_s > 600 else 60

        def pct(xs, p):
            if not xs:
                return None
            xs = sorted(xs)
            k = (len(xs) - 1) * p / 100
            f = int(k)
            c = min(f + 1, len(xs) - 1)
            return round(xs[f] + (xs[c] - xs[f]) * (k - f), 1)

        wanted = ("switchyard_retries_total", "switchyard_upstream_errors_total", "switchyard_backend_in_rotation")
        mlines = {w: [ln for ln in metrics.splitlines() if ln.startswith(w + "{") or ln.startswith(w + " ")] for w in wanted}
        leaks = self.leaks(st) if st else ["status unavailable"]
        core_leaks = [x for x in leaks if ".in_flight" in x or ".reserved_tokens" in x or "queue.requests" in x
                      or x == "status unavailable"]
        total = sum(self.counts.values())
        idle_min = min((r["idle_open"] for r in load), default=None)
        s = {
            "date": self.wall_start, "duration_s": round(self.duration_s, 1),
            "config": {"idle": a.idle, "workers": a.workers, "cancel_prob": a.cancel_prob, "minutes": a.minutes,
                       "fault_every_s": a.fault_every, "fault_hold_s": a.fault_hold, "max_faulted": a.max_faulted,
                       "seed": a.seed, "sims": [n for n, _ in a.sims]},
            "requests": {"total": total, **self.counts,
                         "rate_per_s": round(total / self.duration_s, 2) if self.duration_s else None},
            "refused_by_reason": dict(sorted(self.refused.items())),
            "backend_status_by_code": dict(sorted(self.backend_status.items())),
            "broken": self.counts["broken"], "broken_by_reason": self.broken_reasons,
            "ok_latency_ms": {"e2e_p50": pct(self.ok_e2e, 50), "e2e_p90": pct(self.ok_e2e, 90),
                              "e2e_p99": pct(self.ok_e2e, 99), "e2e_max": pct(self.ok_e2e, 100),
                              "ttft_p50": pct(self.ok_ttft, 50), "ttft_p90": pct(self.ok_ttft, 90),
                              "ttft_p99": pct(self.ok_ttft, 99), "ttft_max": pct(self.ok_ttft, 100)},
            "ok_missing_usage_event": self.ok_missing_usage, "ok_after_retry": self.retried_ok,
            "keepalive_reuses": self.conn_reuses,
            "rss_mib": {"start": self.rss_start, "after_idle_conns": self.rss_after_conns,
                        "min": min(rss) if rss else None, "max": max(rss) if rss else None,
                        "end": self.rss_end, "after_idle_closed": self.rss_after_close,
                        "slope_second_half_mib_per_10min": round(slope, 3) if slope is not None else None},
            "rss_every_5min": table,
            "proxy_fds": {"start": self.fds_start, "after_idle_conns": self.fds_after_conns,
                          "min": min((r["fds"] for r in load if r["fds"]), default=None),
                          "max": max((r["fds"] for r in load if r["fds"]), default=None),
                          "end": self.fds_end, "after_idle_closed": self.fds_after_close},
            "proxy_cpu_pct_during_load": round(100 * (self.cpu1 - self.cpu0) / self.duration_s, 1)
            if self.cpu0 is not None and self.cpu1 is not None else None,
            "idle_connections": {"target": a.idle, "min_open_in_samples": idle_min, "open_at_end": self.idle_open_end,
                                 "reopens": self.idle_reopens, "open_failures": self.idle_open_failures,
                                 "bytes_received": self.idle_unexpected_bytes, "first_closes": self.idle_peer_closes},
            "faults": {"episodes": sum(1 for f in self.fault_log if f["action"] == "apply"),
                       "by_kind": {}, "max_faulted_at_once": self.max_faulted_seen,
                       "post_failures": sum(1 for f in self.fault_log if f["status"] != 200)},
            "quiet_after_s": round(self.quiet_after_s, 1),
            "leak_check": {"pass": not core_leaks, "leaks": leaks,
                           "backends": [{k: b.get(k) for k in ("name", "status", "in_flight", "reserved_tokens",
                                                                "pending_prompt_tokens", "consecutive_failures")}
                                        for b in (st or {}).get("backends", [])],
                           "queue": (st or {}).get("queue"), "counters": (st or {}).get("counters")},
            "metrics": mlines,
            "sims_at_end": {n: {k: v.get(k) for k in ("running", "waiting", "faults")} if isinstance(v, dict) else v
                            for n, v in sims_state.items()},
            "proxy_died": self.proxy_died,
        }
        for f in self.fault_log:
            if f["action"] == "apply":
                k = json.dumps(f["fault"], separators=(",", ":"))
                s["faults"]["by_kind"][k] = s["faults"]["by_kind"].get(k, 0) + 1
        s["pass"] = s["broken"] == 0 and s["leak_check"]["pass"] and not self.proxy_died
        return s


def human(s):
    r, m = s["requests"], s["rss_mib"]
    L = []
    L.append(f"Soak {s['date']}: {s['duration_s'] / 60:.1f} min, {s['config']['workers']} workers, "
             f"{s['config']['idle']} idle connections, {len(s['config']['sims'])} sims")
    L.append(f"requests: {r['total']} ({r['rate_per_s']}/s): ok {r['ok']}, error_event {r['error_event']}, "
             f"cancelled {r['cancelled']}, refused {r['refused']}, backend_status {r['backend_status']}, "
             f"BROKEN {r['broken']}")
    L.append(f"refused by reason: {s['refused_by_reason'] or '-'}")
    L.append(f"backend status passed through: {s['backend_status_by_code'] or '-'}")
    L.append(f"broken by reason: {s['broken_by_reason'] or '-'}")
    lat = s["ok_latency_ms"]
    L.append(f"ok latency ms: e2e p50 {lat['e2e_p50']} p90 {lat['e2e_p90']} p99 {lat['e2e_p99']} max {lat['e2e_max']}; "
             f"ttft p50 {lat['ttft_p50']} p90 {lat['ttft_p90']} p99 {lat['ttft_p99']} max {lat['ttft_max']}")
    L.append(f"ok without a usage event: {s['ok_missing_usage_event']}; ok after a retry: {s['ok_after_retry']}")
    f = lambda x: "n/a" if x is None else f"{x:.1f}"
    L.append(f"proxy RSS MiB: start {f(m['start'])}, after idle conns {f(m['after_idle_conns'])}, min {f(m['min'])}, "
             f"max {f(m['max'])}, end {f(m['end'])}, after idle closed {f(m['after_idle_closed'])}; "
             f"slope over 2nd half {m['slope_second_half_mib_per_10min']} MiB/10 min")
    fd = s["proxy_fds"]
    L.append(f"proxy fds: start {fd['start']}, after idle conns {fd['after_idle_conns']}, min {fd['min']}, "
             f"max {fd['max']}, end {fd['end']}, after idle closed {fd['after_idle_closed']}; "
             f"proxy CPU during load {s['proxy_cpu_pct_during_load']} %")
    ic = s["idle_connections"]
    L.append(f"idle connections: target {ic['target']}, min open in samples {ic['min_open_in_samples']}, "
             f"open at end {ic['open_at_end']}, reopens {ic['reopens']}, open failures {ic['open_failures']}, "
             f"bytes received {ic['bytes_received']}")
    fa = s["faults"]
    L.append(f"faults: {fa['episodes']} episodes {fa['by_kind']}, max at once {fa['max_faulted_at_once']}, "
             f"POST failures {fa['post_failures']}")
    lc = s["leak_check"]
    L.append(f"leak check: {'PASS' if lc['pass'] else 'FAIL'} {lc['leaks'] or ''} (quiet after {s['quiet_after_s']} s); "
             f"backends {[(b['name'], b['status'], b['in_flight'], b['reserved_tokens']) for b in lc['backends']]}")
    for k, v in s["metrics"].items():
        L.append(f"{k}: " + ("; ".join(x.split(k, 1)[1] for x in v) if v else "(none)"))
    L.append("RSS over time: " + ", ".join(f"{x['min']:g} min {x['rss_mib']:.1f} MiB" for x in s["rss_every_5min"]))
    L.append(f"RESULT: {'PASS' if s['pass'] else 'FAIL'}")
    return "\n".join(L)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--proxy", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--proxy-pid", type=int, required=True)
    p.add_argument("--sim", action="append", required=True, help="NAME=http://127.0.0.1:PORT (repeat)")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--idle", type=int, default=10000)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--cancel-prob", type=float, default=0.10)
    p.add_argument("--fault-every", default="20,40", help="seconds between fault starts: LO,HI")
    p.add_argument("--fault-hold", default="10,20", help="seconds a fault is held: LO,HI")
    p.add_argument("--max-faulted", type=int, default=2)
    p.add_argument("--fault-kinds", default="", help="comma-separated fault keys to draw from (default: all)")
    p.add_argument("--sample-interval", type=float, default=10)
    p.add_argument("--quiet-wait", type=float, default=30)
    p.add_argument("--request-timeout", type=float, default=120)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--error-pause", type=float, default=0.1, help="a worker's pause after a non-200 answer (s)")
    a = p.parse_args()
    a.sims = [tuple(s.split("=", 1)) for s in a.sim]
    a.fault_every = [float(x) for x in a.fault_every.split(",")]
    a.fault_hold = [float(x) for x in a.fault_hold.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.idle + a.workers + 256
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        print(f"soak.py: open-file limit {soft} < {need} needed for {a.idle} idle connections", file=sys.stderr)
        sys.exit(2)
    os.makedirs(a.out, exist_ok=True)
    soak = Soak(a)
    try:
        s = asyncio.run(soak.run())
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"soak.py: {e.code}", file=sys.stderr)
            sys.exit(2)
        raise
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
    text = human(s)
    with open(os.path.join(a.out, "summary.txt"), "w") as f:
        f.write(text + "\n")
    print("\n== summary (JSON)")
    print(json.dumps(s, indent=1))
    print("\n== summary")
    print(text)
    sys.exit(0 if s["pass"] else 1)


if __name__ == "__main__":
    main()
