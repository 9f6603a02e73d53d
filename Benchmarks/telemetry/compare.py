#!/usr/bin/env python3
"""Compare a benchmark client's result with Switchyard's own measurement of the same run.

    compare.py --client-result R.json --stats STATS.json --access-log ACCESS.jsonl \
               [--label NAME] [--client NAME] [--summary-json OUT.json]

  R.json        the client's --save-result file (`vllm bench serve` with --save-detailed, or
                `switchyard bench serve`; both write vLLM's keys, per-request lists optional)
  STATS.json    GET /stats?format=json&percentiles=50,99 of a proxy started fresh for the run
  ACCESS.jsonl  that proxy's --access-log file (one JSON line per request)

Checks (each printed as PASS/FAIL; the exit status is 1 when any check fails):
  * completed, failed, total_input_tokens, total_output_tokens: equal;
  * mean and median of ttft, tpot, itl, e2el: |proxy - client| <= max(2 %, 0.5 ms);
  * access-log generation lines == the proxy's completed + failed, and == the client's
    completed + failed + the client's untimed test request(s);
  * /stats medians (log-bucket sketch) agree with the exact medians of the access log's
    per-request values (ttft, tpot, e2el) within the sketch's relative error.
p99 is printed for information only (the sketch's rank and numpy's interpolation differ by
design at the tail of a few hundred samples).

The test request. `switchyard bench serve`, like older `vllm bench serve`, sends one untimed
"initial single prompt test run" (request id `...-test`) before the benchmark. The proxy
measures it; the client's result leaves it out. It is taken out of the proxy's figures here:
counts and token totals exactly (its access-log line); means exactly (n*mean - x)/(n - 1)
using its access-log values (rounded to 1 us); the ITL mean using its gap sum (e2el - ttft)
and its gap count (completion_tokens - 1, scaled by the client's measured events per token).
/stats medians cannot be corrected, so with a test request the medians of ttft, tpot and e2el
are taken from the access log without it (exact per-request values, the same population as
the client) and the /stats median is checked against the access log separately. The ITL
median stays the /stats one (it includes the test request's gaps); when the client saved its
per-request gaps, it is compared with the client's gaps plus the test request's (each taken as
its TPOT: it ran alone, so they are even). That matters when the gaps are bimodal around the
median (the sim's engine alternates decode-only and prefill steps): 127 extra fast gaps among
6 000 then move the median from one mode to the other.
`vllm bench serve` 0.32 sends no test request (its ready check is off by default).
"""
import argparse
import json
import math
import re
import statistics
import sys

METRICS = ("ttft", "tpot", "itl", "e2el")
REL_TOL = 0.02
ABS_TOL_MS = 0.5
OFFSET_NOTE = """\
Why the proxy's TTFT and E2EL are a little lower than the client's (offset = proxy - client):
  the client starts its clock before it opens/reuses a connection, serialises the JSON body
  and sends it; the proxy's clock starts when the request head has arrived. At the other end
  the proxy stops when the backend's SSE event reaches it; the client stops after the proxy
  relayed the event, the kernel delivered it, and the client's event loop parsed it (for a
  Python client, also the time it waits behind other streams' chunks). Both shifts are
  one-sided, so TTFT and E2EL differ by about the same constant; TPOT and ITL are differences
  of two timestamps on the same side and mostly cancel it."""


def load_access_log(path):
    lines = []
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            if raw:
                lines.append(json.loads(raw))
    return lines


def is_generation(line):
    return line.get("method") == "POST" and str(line.get("path", "")).rstrip("/").endswith("completions")


def request_index(request_id):
    m = re.search(r"-(\d+)$", request_id or "")
    return int(m.group(1)) if m else None


def fmt(x, digits=3):
    if x is None:
        return "n/a"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def median_bounds(values):
    """The two middle order statistics (equal when the count is odd)."""
    s = sorted(values)
    n = len(s)
    if n == 0:
        return None, None
    return s[(n - 1) // 2], s[n // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client-result", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--access-log", required=True)
    ap.add_argument("--label", default="run")
    ap.add_argument("--client", default="client")
    ap.add_argument("--summary-json", help="write the checks and offsets here")
    args = ap.parse_args()

    client = json.load(open(args.client_result))
    stats = json.load(open(args.stats))
    log = load_access_log(args.access_log)
    gen = [l for l in log if is_generation(l)]
    # Requests the client timed carry ids ending in -<index>; anything else (`-test`) is untimed.
    extras = [l for l in gen if request_index(l.get("request_id")) is None]
    timed = [l for l in gen if request_index(l.get("request_id")) is not None]
    ok = lambda l: l.get("status") == 200 and not l.get("reason") and l.get("ttft_ms") is not None
    extras_ok = [l for l in extras if ok(l)]

    checks = []  # (name, client, proxy, diff_ms, diff_pct, passed, note)

    def check_equal(name, c, p, note=""):
        checks.append((name, c, p, None if c is None or p is None else p - c, None, c == p, note))

    # ---- counts and token totals
    k = len(extras_ok)
    k_failed = len(extras) - k
    corr = lambda key, delta: stats[key] - delta
    check_equal("completed", client["completed"], corr("completed", k), f"/stats {stats['completed']} - {k} test" if k else "")
    check_equal("failed", client["failed"], corr("failed", k_failed), f"/stats {stats['failed']} - {k_failed} test" if k_failed else "")
    ex_in = sum(l.get("prompt_tokens") or 0 for l in extras_ok)
    ex_out = sum(l.get("completion_tokens") or 0 for l in extras_ok)
    check_equal("total_input_tokens", client["total_input_tokens"], corr("total_input_tokens", ex_in),
                f"/stats {stats['total_input_tokens']} - {ex_in} test" if k else "")
    check_equal("total_output_tokens", client["total_output_tokens"], corr("total_output_tokens", ex_out),
                f"/stats {stats['total_output_tokens']} - {ex_out} test" if k else "")

    # ---- means, with the test request taken out exactly
    n = stats["completed"]
    n_tpot = sum(1 for l in gen if ok(l) and l.get("tpot_ms") is not None)
    # Events per output token, from the client's per-request ITL lists (1.0 when one token per event).
    ept = 1.0
    if client.get("itls") and client.get("output_lens"):
        gaps = sum(len(x) for x in client["itls"])
        toks = sum(max(0, o - 1) for o in client["output_lens"] if o)
        if toks:
            ept = gaps / toks
    # Total ITL gaps behind /stats: they telescope to e2el - ttft per request.
    itl_sum_total = n * (stats["mean_e2el_ms"] - stats["mean_ttft_ms"])
    itl_count_total = itl_sum_total / stats["mean_itl_ms"] if stats.get("mean_itl_ms") else 0

    proxy_mean = {}
    for m in METRICS:
        key = f"mean_{m}_ms"
        v = stats.get(key)
        if v is None or k == 0:
            proxy_mean[m] = v
            continue
        if m in ("ttft", "e2el"):
            xs = [l[f"{m}_ms"] for l in extras_ok]
            proxy_mean[m] = (n * v - sum(xs)) / (n - len(xs))
        elif m == "tpot":
            xs = [l["tpot_ms"] for l in extras_ok if l.get("tpot_ms") is not None]
            proxy_mean[m] = (n_tpot * v - sum(xs)) / (n_tpot - len(xs))
        else:
            ex_sum = sum(l["e2el_ms"] - l["ttft_ms"] for l in extras_ok)
            ex_cnt = sum(round(max(0, (l.get("completion_tokens") or 1) - 1) * ept) for l in extras_ok)
            proxy_mean[m] = (itl_sum_total - ex_sum) / (itl_count_total - ex_cnt)

    # ---- medians: /stats, or the access log without the test request
    proxy_median, median_src = {}, {}
    for m in METRICS:
        if k and m != "itl":
            vals = [l[f"{m}_ms"] for l in timed if ok(l) and l.get(f"{m}_ms") is not None]
            proxy_median[m] = statistics.median(vals) if vals else None
            median_src[m] = "access log w/o test"
        else:
            proxy_median[m] = stats.get(f"median_{m}_ms")
            median_src[m] = "/stats" + (" incl. test" if k else "")

    # The ITL median of /stats includes the test request's gaps; with the client's per-request
    # gaps at hand, compare it with the client's gaps plus the test request's (each ~ its TPOT:
    # it ran alone, so its gaps are even). Matters when the gap distribution is multi-modal
    # around its median (the sim's engine model alternates decode-only and prefill steps).
    client_itl_median, itl_note = client.get("median_itl_ms"), ""
    if k and client.get("itls") and client_itl_median is not None:
        gaps = [1000 * x for row in client["itls"] for x in row]
        for l in extras_ok:
            if l.get("tpot_ms") is not None:
                gaps += [l["tpot_ms"]] * round(max(0, (l.get("completion_tokens") or 1) - 1) * ept)
        client_itl_median = statistics.median(gaps)
        itl_note = f"; client incl. the test request's gaps (~its TPOT), raw client median {client['median_itl_ms']:.3f}"

    for m in METRICS:
        for stat, proxy_val, src in (("mean", proxy_mean[m], "/stats" + (" - test" if k else "")),
                                      ("median", proxy_median[m], median_src[m])):
            c = client.get(f"{stat}_{m}_ms")
            if stat == "median" and m == "itl":
                c, src = client_itl_median, src + itl_note
            if c is None or proxy_val is None:
                checks.append((f"{stat}_{m}_ms", c, proxy_val, None, None, False, "missing"))
                continue
            d = proxy_val - c
            pct = 100 * d / c if c else float("inf")
            passed = abs(d) <= max(REL_TOL * abs(c), ABS_TOL_MS)
            checks.append((f"{stat}_{m}_ms", c, proxy_val, d, pct, passed, src))

    # ---- access log lines
    n_lines = len(gen)
    checks.append(("access-log lines = proxy completed+failed", stats["completed"] + stats["failed"], n_lines,
                   None, None, n_lines == stats["completed"] + stats["failed"], f"{len(log)} lines in all"))
    expect = client["completed"] + client["failed"] + len(extras)
    checks.append(("access-log lines = client c+f + test", expect, n_lines, None, None, n_lines == expect,
                   f"{len(extras)} test request(s)"))

    # ---- the sketch against exact per-request values (same population: everything logged)
    rel = stats.get("percentile_relative_error", 0.005)
    for m in ("ttft", "tpot", "e2el"):
        vals = [l[f"{m}_ms"] for l in gen if ok(l) and l.get(f"{m}_ms") is not None]
        lo, hi = median_bounds(vals)
        s = stats.get(f"median_{m}_ms")
        if lo is None or s is None:
            continue
        # access-log values are rounded to 1 us; the sketch may pick either middle rank
        passed = lo * (1 - rel) - 0.001 <= s <= hi * (1 + rel) + 0.001
        checks.append((f"sketch median_{m} vs log", (lo + hi) / 2, s, s - (lo + hi) / 2, None, passed,
                       f"middle ranks [{lo:.3f}, {hi:.3f}] ±{100 * rel:.2f} %"))

    # ---- print
    print(f"### {args.label}: {args.client} vs Switchyard /stats")
    print(f"client {client['completed']} completed / {client['failed']} failed; proxy /stats {stats['completed']} / "
          f"{stats['failed']}; access log {len(log)} lines ({n_lines} generation, {len(extras)} untimed test)")
    print()
    hdr = f"| {'metric':<42} | {'client':>12} | {'proxy':>12} | {'diff ms':>9} | {'diff %':>7} | result | proxy source / note"
    print(hdr)
    print("|" + "-" * 44 + "|" + "-" * 14 + "|" + "-" * 14 + "|" + "-" * 11 + "|" + "-" * 9 + "|--------|---------")
    for name, c, p, d, pct, passed, note in checks:
        dd = "" if d is None else (f"{d:+.3f}" if isinstance(d, float) else f"{d:+d}")
        pp = "" if pct is None else f"{pct:+.2f}"
        print(f"| {name:<42} | {fmt(c):>12} | {fmt(p):>12} | {dd:>9} | {pp:>7} | {'PASS' if passed else 'FAIL':<6} | {note}")
    print()
    print("p99 (information; sketch vs numpy interpolation):  " + ",  ".join(
        f"{m} {fmt(client.get(f'p99_{m}_ms'), 2)} / {fmt(stats.get(f'p99_{m}_ms'), 2)}" for m in METRICS))

    # ---- systematic offsets
    offsets = {}
    for m in ("ttft", "e2el"):
        c, p = client.get(f"mean_{m}_ms"), proxy_mean.get(m)
        offsets[f"mean_{m}"] = None if c is None or p is None else p - c
    per_req = {}
    # Per request, matched by id: request i of the client's lists is `...-i` in the access log.
    lists = {"ttft": client.get("ttfts"), "e2el": client.get("latencies")}
    for m, arr in lists.items():
        if not arr:
            continue
        diffs = []
        for l in timed:
            i = request_index(l["request_id"])
            if ok(l) and i < len(arr) and arr[i]:
                diffs.append(l[f"{m}_ms"] - 1000 * arr[i])
        if diffs:
            per_req[m] = {"n": len(diffs), "median": statistics.median(diffs), "mean": statistics.fmean(diffs),
                          "min": min(diffs), "max": max(diffs)}
    print()
    print("Systematic offset, proxy - client (ms):")
    for m in ("ttft", "e2el"):
        line = f"  {m.upper():<5} mean of means {fmt(offsets[f'mean_{m}'])}"
        if m in per_req:
            r = per_req[m]
            line += (f"; per request (n={r['n']}): median {r['median']:+.3f}, mean {r['mean']:+.3f}, "
                     f"min {r['min']:+.3f}, max {r['max']:+.3f}")
        print(line)
    print(OFFSET_NOTE)
    failed = [c[0] for c in checks if not c[5]]
    print()
    print(f"{args.label}: {'ALL PASS' if not failed else 'FAIL: ' + ', '.join(failed)}")
    print()

    if args.summary_json:
        json.dump({"label": args.label, "client": args.client,
                   "checks": [{"name": c[0], "client": c[1], "proxy": c[2], "diff_ms": c[3], "diff_pct": c[4],
                               "pass": c[5], "note": c[6]} for c in checks],
                   "offset_mean_ms": offsets, "offset_per_request_ms": per_req, "events_per_token": ept,
                   "test_requests": len(extras), "all_pass": not failed},
                  open(args.summary_json, "w"), indent=1)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
