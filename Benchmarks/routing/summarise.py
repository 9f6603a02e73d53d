#!/usr/bin/env python3
"""Summarise a Benchmarks/routing/run.sh output folder as markdown.

Usage: summarise.py OUT_DIR

For each run NAME the folder holds NAME.json (the bench result, vLLM's keys, wall clock),
NAME.meta.json (front, policy, rates, prompts, time scale, CPU seconds) and NAME.replicas.json
(each replica's /sim/state after the run). Figures are converted to engine time: latencies
÷ time scale, rates × time scale.

One table per load level. Each Switchyard policy is compared with the best vllm-router policy
at that load, separately per metric: the lowest P99 TTFT and the highest goodput.
"""
import glob
import json
import os
import re
import sys


def load_json(path):
    return json.load(open(path)) if os.path.exists(path) else None


def load_runs(out):
    runs = []
    for meta_path in sorted(glob.glob(os.path.join(out, "*.meta.json"))):
        name = os.path.basename(meta_path)[: -len(".meta.json")]
        m = re.match(r"load([0-9.]+)-", name)
        runs.append({"name": name, "load": m.group(1) if m else None, "meta": json.load(open(meta_path)),
                     "result": load_json(os.path.join(out, name + ".json")),
                     "replicas": load_json(os.path.join(out, name + ".replicas.json"))})
    return runs


def speeds_of(replicas):
    return [float(s) for s in replicas["speeds"].split(",")]


def slowest_share(replicas):
    """Share of completed generations served by the slowest replica (by configured speed)."""
    try:
        speeds = speeds_of(replicas)
        done = [(r["state"] or {}).get("generations_completed") for r in replicas["replicas"]]
        if None in done or sum(done) == 0 or len(speeds) != len(done) or len(set(speeds)) == 1:
            return None
        return done[speeds.index(min(speeds))] / sum(done)
    except (KeyError, ValueError, TypeError):
        return None


def preemptions(replicas):
    try:
        return sum((r["state"] or {}).get("preemptions", 0) for r in replicas["replicas"])
    except (KeyError, TypeError):
        return None


def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "n/a"
    return f"{a / b:.2f}"


def first_error(result):
    for e in result.get("errors") or []:
        if e:
            return str(e).replace("|", "/").replace("\n", " ")[:90]
    return ""


class Figures:
    """A run's figures in engine time."""

    def __init__(self, result, scale):
        self.r, self.s = result, scale

    def lat(self, key):
        v = self.r.get(key)
        return None if v is None else v / self.s

    def rate(self, key):
        v = self.r.get(key)
        return None if v is None else v * self.s


def main():
    out = sys.argv[1]
    runs = load_runs(out)
    params = {}
    if os.path.exists(os.path.join(out, "params.txt")):
        for line in open(os.path.join(out, "params.txt")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                params[k] = v
    scale = float(params.get("sim_time_scale", 1))
    print(f"# Routing policies: Switchyard vs vllm-router ({os.path.basename(out)})\n")
    print(f"- Machine: {params.get('machine', '?')}")
    print(f"- Replicas: speeds {params.get('replica_speeds', '?')}, engine timing; visionarena-synthetic, "
          f"Poisson (burstiness {params.get('burstiness', '?')}), seed {params.get('seed', '?')}; "
          f"goodput SLO {params.get('slo', '?')}")
    if scale != 1:
        print(f"- The replicas ran {scale:g}× slower than real time (SIM_TIME_SCALE); every figure below is "
              f"converted to engine time (latencies ÷ {scale:g}, rates × {scale:g}).")
    cap = load_json(os.path.join(out, "capacity.result.json"))
    if cap:
        print(f"- Capacity: **{cap['capacity']:.2f} req/s**, completions over {cap['window_s']:.0f} s "
              f"(wall) with every replica queued, at {cap['offered']:g} req/s offered through switchyard "
              f"({cap['policy']}); per replica {', '.join(f'{x:.2f}' for x in cap['per_replica'])}; machine "
              f"{100 * cap.get('machine_busy', float('nan')):.0f} % busy")
    elif "capacity" in params:
        print(f"- Capacity (given): {params['capacity']} req/s")
    print()

    loads = sorted({r["load"] for r in runs if r["load"]}, key=float)
    for load in loads:
        rows = [r for r in runs if r["load"] == load]
        meta0 = rows[0]["meta"]
        fig = {r["name"]: Figures(r["result"], r["meta"].get("time_scale", scale)) for r in rows if r["result"]}
        routers = [r for r in rows if r["meta"]["front"] == "vllm-router" and r["result"]]
        best_p99 = min(routers, key=lambda r: fig[r["name"]].lat("p99_ttft_ms") or float("inf"), default=None)
        best_good = max(routers, key=lambda r: fig[r["name"]].rate("request_goodput") or 0.0, default=None)
        print(f"## Load {load} × capacity = {meta0['rate']:g} req/s ({meta0['prompts']} prompts)\n")
        if best_p99:
            print(f"Best vllm-router policy: P99 TTFT **{best_p99['meta']['policy']}** "
                  f"({fmt(fig[best_p99['name']].lat('p99_ttft_ms'))} ms), goodput "
                  f"**{best_good['meta']['policy']}** ({fmt(fig[best_good['name']].rate('request_goodput'), 2)} req/s).\n")
        print("| front | policy | completed | failed | req/s | goodput (req/s) | mean TTFT (ms) | P99 TTFT (ms) "
              "| mean TPOT (ms) | slow replica share | P99 TTFT ÷ best router | goodput ÷ best router |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        order = {"switchyard": 0, "vllm-router": 1}
        for r in sorted(rows, key=lambda r: (order.get(r["meta"]["front"], 2), r["name"])):
            m, res = r["meta"], r["result"]
            if res is None:
                print(f"| {m['front']} | {m['policy']} | **no result** | | | | | | | | | |")
                continue
            f = fig[r["name"]]
            share = slowest_share(r["replicas"]) if r["replicas"] else None
            is_sy = m["front"] == "switchyard"
            p99_ratio = ratio(f.lat("p99_ttft_ms"), fig[best_p99["name"]].lat("p99_ttft_ms")) if (is_sy and best_p99) else ""
            good_ratio = ratio(f.rate("request_goodput"), fig[best_good["name"]].rate("request_goodput")) if (is_sy and best_good) else ""
            failed = str(res["failed"]) if not res["failed"] else f"**{res['failed']}** ({first_error(res)})"
            print(f"| {m['front']} | {m['policy']} | {res['completed']} | {failed} | {fmt(f.rate('request_throughput'), 2)} "
                  f"| {fmt(f.rate('request_goodput'), 2)} | {fmt(f.lat('mean_ttft_ms'))} | {fmt(f.lat('p99_ttft_ms'))} "
                  f"| {fmt(f.lat('mean_tpot_ms'))} | {'n/a' if share is None else f'{100 * share:.1f} %'} "
                  f"| {p99_ratio} | {good_ratio} |")
        print()

    if runs:
        print("## Resources (wall clock)\n")
        print("| run | front CPU (s) | replicas CPU (s) | client CPU (s) | machine busy | preemptions | requests per replica |")
        print("|---|---|---|---|---|---|---|")
        for r in runs:
            m = r["meta"]
            per = ""
            if r["replicas"]:
                per = " / ".join(str((x["state"] or {}).get("generations_completed", "?")) for x in r["replicas"]["replicas"])
            print(f"| {r['name']} | {fmt(m.get('front_cpu_s'))} | {fmt(m.get('sim_cpu_s'))} | {fmt(m.get('client_cpu_s'))} "
                  f"| {fmt(100 * m['machine_busy'], 0) + ' %' if m.get('machine_busy') is not None else 'n/a'} "
                  f"| {fmt(preemptions(r['replicas']), 0) if r['replicas'] else 'n/a'} | {per} |")
        print()

    fair = ""
    speeds = next((speeds_of(r["replicas"]) for r in runs if r["replicas"]), None)
    if speeds and len(set(speeds)) > 1:
        fair = f" Its share in proportion to speed would be {100 * min(speeds) / sum(speeds):.1f} %."
    print("P99 TTFT ratios below 1 and goodput ratios above 1 favour Switchyard. \"slow replica share\" is the "
          "share of completed generations served by the slowest replica." + fair + " \"machine busy\" is the "
          "whole machine's CPU use over the run (all cores, other processes included): near 100 % the run "
          "measured CPU contention, not routing. The bench's one warm-up request is counted per replica.")


if __name__ == "__main__":
    main()
