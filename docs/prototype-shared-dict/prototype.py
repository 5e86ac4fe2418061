"""Prove `switch: shared-dict` on nginx 1.30 + njs, against reload-based switching.

    .venv/bin/python docs/prototype-shared-dict/prototype.py [latency|load|persistence|isolation|validate|extras|overhead ...]  (none: all)

Needs root (nsenter, the 0700 socket directory), the docker engine, `wrk`, and the images
bluegreen-test/nginx:1.30, bluegreen-test/nginx:1 and bluegreen-test/app:v1/v2 (`make images`).
Writes results/<scenario>.json beside this file and prints a summary. Traffic goes to 127.0.0.1
and to the containers it creates; every container, network and temp dir is removed afterwards.
"""
from __future__ import annotations

import bisect
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import httpx

from clients import RawConnection, run_raw, run_wrk
from proto_stack import HERE, OTHER, DictStack, ReloadStack, wait_for

RESULTS = HERE / "results"


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "min_ms": round(ordered[0] * 1000, 2)}


def run_once(client, image: str, command, name: str, **kwargs) -> dict:
    """Run a container to completion: its exit code and output (stdout + stderr)."""
    c = client.containers.run(image, command, name=name, detach=True, **kwargs)
    try:
        code = c.wait(timeout=30)["StatusCode"]
        return {"exit": code, "output": c.logs().decode(errors="replace").strip()}
    finally:
        c.remove(force=True)


def save(name: str, data: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"== {name}\n{json.dumps(data, indent=2)}")


# ---------------------------------------------------------------- a) switch latency
def measure_switches(stack, switch, n: int, pause: float) -> dict:
    """n alternating switches: time of the switch call, and until the first public answer
    (on a keep-alive probe connection) comes from the new color; old-color answers after the
    switch call returned are counted (0 means: switched when the call returned)."""
    probe = RawConnection(stack.port)
    current = stack.served_color()
    call, first_new, late_old, probe_errors = [], [], 0, 0
    for _ in range(n):
        target = OTHER[current]
        t0 = time.perf_counter()
        switch(target)
        t_call = time.perf_counter()
        while True:
            try:
                _, color, _ = probe.request()
            except (EOFError, OSError):
                probe_errors += 1  # an old worker closed the probe's idle connection
                probe.close()
                continue
            if color == target:
                break
            late_old += 1
        t_new = time.perf_counter()
        call.append(t_call - t0)
        first_new.append(t_new - t0)
        current = target
        time.sleep(pause)
    probe.close()
    return {"switch_call": stats(call), "to_first_new_color_answer": stats(first_new),
            "old_color_answers_after_call_returned": late_old, "probe_connection_errors": probe_errors}


def scenario_latency(client, n: int = 50) -> dict:
    out = {}
    with DictStack(client) as s:
        s.start()
        out["shared_dict_httpx_uds"] = measure_switches(s, s.switch, n, 0.1)
        out["shared_dict_curl_unix_socket"] = measure_switches(s, s.switch_with_curl, n, 0.1)
    with ReloadStack(client) as s:
        s.start()
        out["reload_docker_exec"] = measure_switches(s, s.switch, n, 0.3)
    return out


# ---------------------------------------------------------------- b) failed requests under load
CLIENTS = [
    ("wrk -c8", lambda port, d: run_wrk(port, 8, d)),
    ("wrk -c32", lambda port, d: run_wrk(port, 32, d)),
    ("raw -c8 busy", lambda port, d: run_raw(port, 8, d)),
    ("raw -c32 think=50ms", lambda port, d: run_raw(port, 32, d, think=0.05)),
]
MODES = {
    "shared_dict": lambda c: DictStack(c),
    "reload": lambda c: ReloadStack(c),
    "reload_keepalive_min_timeout_10s": lambda c: ReloadStack(c, keepalive_min_timeout="10s"),
}


def stale_answers(timeline: list, switches: list, grace: float) -> dict:
    """Answers from another color than the last switch chose, more than `grace` s after that
    switch returned (a reload applies asynchronously; the grace covers it). `switches` holds
    (started, returned, color); while a switch is under way either color is fine."""
    starts = [s for s, _, _ in switches]
    stale, worst = 0, 0.0
    for t, color in timeline:
        k = bisect.bisect_right(starts, t) - 1
        if k < 0:
            continue
        _, returned, chosen = switches[k]
        age = t - returned
        if color != chosen and age > grace:
            stale += 1
            worst = max(worst, age)
    return {"grace_s": grace, "stale_answers": stale, "oldest_stale_answer_s_after_switch": round(worst, 3)}


def nginx_processes(stack) -> int:
    top = stack.nginx.top()
    return sum(1 for p in top["Processes"] if "nginx: worker process" in p[-1])


def load_run(stack, load, seconds: int, interval: float) -> dict:
    """Run one client for `seconds` while switching every `interval` s, on a fixed schedule
    from 1 s to the last 1.5 s (so every mode gets the same number of switches)."""
    switches, switch_times = [], []
    stop = threading.Event()
    since = int(time.time())

    def switcher() -> None:
        color = stack.served_color()
        start = time.monotonic()
        n = 0
        while not stop.is_set():
            at = start + 1 + n * interval
            if at > start + seconds - 1.5:
                break
            time.sleep(max(0.0, at - time.monotonic()))
            color = OTHER[color]
            started = time.monotonic()
            stack.switch(color)
            returned = time.monotonic()
            switch_times.append(returned - started)
            switches.append((started, returned, color))
            n += 1

    t = threading.Thread(target=switcher)
    t.start()
    result = load(stack.port, seconds)
    stop.set()
    t.join()
    workers_after = nginx_processes(stack)
    log = stack.nginx.logs(stdout=False, stderr=True, since=since).decode(errors="replace")
    errors_in_log = sum(1 for line in log.splitlines() if "[error]" in line or "[alert]" in line
                        or "[crit]" in line or "[emerg]" in line)
    run = {"client": result.client, "seconds": seconds, "requests": result.requests,
           "failed": result.errors, "failed_detail": result.detail, "colors": result.colors,
           "switches": len(switches), "switch_call": stats(switch_times) if switch_times else None,
           "nginx_worker_processes_right_after": workers_after, "nginx_error_log_lines": errors_in_log}
    if hasattr(result, "detail_connects"):
        run["tcp_connections_opened"] = result.detail_connects
    if result.timeline:
        run["staleness"] = stale_answers(sorted(result.timeline), switches, grace=0.5)
    return run


def scenario_load(client, seconds: int = 40, interval: float = 1.0) -> dict:
    out = {}
    for mode, make in MODES.items():
        with make(client) as s:
            s.start()
            runs = []
            for _, load in CLIENTS:
                runs.append(load_run(s, load, seconds, interval))
                print(f"{mode}: {runs[-1]['client']}: {runs[-1]['failed']} failed / "
                      f"{runs[-1]['requests']} requests, {runs[-1]['switches']} switches, "
                      f"{runs[-1].get('staleness')}", flush=True)
                # Let old workers of the last reloads exit before the next client starts.
                try:
                    wait_for(lambda: nginx_processes(s) <= 2, 60, "old workers to exit", interval=0.5)
                except TimeoutError as exc:
                    print(f"warning: {exc}", flush=True)
            out[mode] = runs
    return out


# ---------------------------------------------------------------- c) restart, reload, empty dict
def admin_state(s: DictStack) -> dict:
    state = s.get()
    return {"admin": {k: state[k] for k in ("color", "source", "file_color")}, "served": s.served_color()}


def reload_and_wait(s: DictStack) -> tuple[int, str]:
    """nginx -s reload, then wait until a new worker answers the admin socket."""
    old_pids = {s.get()["pid"] for _ in range(6)}
    code, out = s.exec("nginx", "-s", "reload")
    if code == 0:
        try:
            wait_for(lambda: s.get()["pid"] not in old_pids, 5, "a new worker")
        except TimeoutError:
            out += " (no new worker answered within 5 s)"
    return code, out.strip()


def slow_request_during_switch(s, switch, target: str) -> dict:
    """A 2 s request is in flight when the switch happens: it completes on the color it started on."""
    result = {}

    def slow() -> None:
        r = httpx.get(s.url + "slow?s=2", timeout=10)
        result.update(status=r.status_code, color=r.headers.get("X-App-Color"), body=r.text.strip())

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    switch(target)
    after = s.served_color()
    t.join()
    return {"in_flight_request": result, "request_after_switch_served_by": after}


def scenario_persistence(client) -> dict:
    out = {}
    with DictStack(client, default_color="blue") as s:
        s.start()
        steps = out["steps"] = []

        def step(name: str, **extra) -> None:
            steps.append({"step": name, **admin_state(s), **extra})

        step("fresh start, file says blue, dict empty")
        s.switch("green")
        step("PUT green")
        code, msg = reload_and_wait(s)
        step("nginx -s reload, config unchanged", reload_exit=code)
        js = s.js_dir / "bluegreen.js"
        js.write_text(js.read_text() + "\n// edited\n")
        code, msg = reload_and_wait(s)
        step("nginx -s reload after editing bluegreen.js", reload_exit=code)
        conf = s.conf_dir / "bluegreen.conf"
        original = conf.read_text()
        conf.write_text(original.replace("zone=bluegreen:64k", "zone=bluegreen:128k"))
        code, msg = reload_and_wait(s)
        step("nginx -s reload with the zone resized 64k -> 128k", reload_exit=code)
        conf.write_text(original)
        reload_and_wait(s)
        s.switch("green")
        step("back to 64k (reload), PUT green again")
        since = int(time.time())
        conf.write_text(original.replace("type=string", "type=number"))
        code, msg = s.exec("nginx", "-s", "reload")
        time.sleep(1)
        log = s.nginx.logs(stdout=False, since=since).decode(errors="replace").strip().splitlines()
        step("nginx -s reload with type=string -> type=number", reload_exit=code,
             nginx_log=[line for line in log if "emerg" in line or "error" in line][:3])
        conf.write_text(original)
        reload_and_wait(s)
        s.clear()
        step("DELETE (dict emptied)")
        s.switch("blue")
        s.write_default_color("green")
        step("PUT blue, then upstream file rewritten to green (no reload)")
        code, msg = reload_and_wait(s)
        step("nginx -s reload: the dict still wins over the file", reload_exit=code)
        s.restart_nginx()
        step("docker restart (SIGTERM): dict lost, file color served")

        s.switch("blue")
        s.nginx.kill(signal="SIGKILL")
        stale = s.sock.exists()
        s.nginx.start()
        time.sleep(4)
        s.nginx.reload()
        log = s.nginx.logs(stdout=False, tail=3).decode(errors="replace").strip().splitlines()
        steps.append({"step": "docker kill -s KILL, then docker start",
                      "stale_socket_left": stale, "container_status": s.nginx.status,
                      "exit_code": s.nginx.attrs["State"]["ExitCode"], "nginx_log_tail": log})
        s.sock.unlink()
        s.nginx.start()
        s.wait_nginx()
        step("stale socket removed on the host, docker start")

        out["in_flight_shared_dict"] = slow_request_during_switch(s, s.switch, "blue" if
                                                                   s.served_color() == "green" else "green")

    # Mitigation: remove a stale socket before nginx starts (an entrypoint step).
    with DictStack(client) as s:
        s.start(entrypoint=["/bin/sh", "-c", "rm -f /run/bluegreen/admin.sock && exec /usr/sbin/nginx"])
        s.switch("green")
        s.nginx.kill(signal="SIGKILL")
        s.nginx.start()
        s.wait_nginx()
        out["kill_then_start_with_rm_entrypoint"] = admin_state(s)

    # state= (njs >= 0.9.1): worker 0 saves the dictionary to a file (1 s after a change) and
    # the master loads it at start. The worker runs as www-data: a root-owned directory fails.
    with DictStack(client, state_file="/var/lib/nginx/bluegreen-dict.json") as s:
        s.start()
        s.switch("green")
        time.sleep(1.5)
        log = s.nginx.logs(stdout=False).decode(errors="replace").strip().splitlines()
        out["state_file_in_root_owned_dir"] = {"nginx_log": [x for x in log if "alert" in x][:2]}
    with DictStack(client, state_file="/var/lib/nginx/state/bluegreen-dict.json") as s:
        s.start()
        s.exec("sh", "-c", "mkdir -p /var/lib/nginx/state && chown www-data /var/lib/nginx/state")
        s.switch("green")
        time.sleep(1.5)
        code, state_json = s.exec("cat", "/var/lib/nginx/state/bluegreen-dict.json")
        s.restart_nginx()
        after_saved = admin_state(s)
        s.switch("blue")
        s.restart_nginx()  # within 1 s of the change
        after_quick = admin_state(s)
        s.switch("blue")
        time.sleep(1.5)  # saved: blue
        s.switch("green")
        time.sleep(0.2)
        s.nginx.kill(signal="SIGKILL")
        s.sock.unlink()
        s.nginx.start()
        s.wait_nginx()
        after_kill = admin_state(s)
        out["state_file_in_www_data_dir"] = {
            "file_1.5s_after_PUT_green": state_json.strip(),
            "docker restart 1.5s after PUT green": after_saved,
            "docker restart right after PUT blue (SIGTERM)": after_quick,
            "PUT blue, 1.5s, PUT green, SIGKILL 0.2s later, start": after_kill}

    with ReloadStack(client) as s:
        s.start()
        out["in_flight_reload"] = slow_request_during_switch(s, s.switch, "green")
    return out


# ---------------------------------------------------------------- d) the admin endpoint's reach
def listening_tcp_sockets(s) -> list[str]:
    """address:port of every LISTEN socket in nginx's network namespace (/proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        code, text = s.exec("cat", table)
        for line in text.splitlines()[1:]:
            parts = line.split()
            if len(parts) > 3 and parts[3] == "0A":  # LISTEN
                addr, port = parts[1].rsplit(":", 1)
                if len(addr) == 8:  # IPv4, little-endian hex
                    addr = ".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0))
                else:
                    addr = "[v6]" if addr.strip("0") else "[::]"
                found.add(f"{addr}:{int(port, 16)}")
    return sorted(found)


def scenario_isolation(client) -> dict:
    out = {}
    with DictStack(client) as s:
        s.start()
        s.nginx.reload()
        out["published_ports"] = s.nginx.attrs["NetworkSettings"]["Ports"]
        # 127.0.0.11:<random> is Docker's embedded DNS resolver, present in every container.
        out["listening_tcp_sockets_in_nginx"] = listening_tcp_sockets(s)
        code, unix = s.exec("cat", "/proc/net/unix")
        out["unix_listeners_in_nginx"] = sorted({line.split()[-1] for line in unix.splitlines()[1:]
                                                 if line.split()[-1].startswith("/")})
        nginx_ip = s.nginx.attrs["NetworkSettings"]["Networks"][s.name]["IPAddress"]
        app = s.apps["blue"]
        app.reload()
        pid = app.attrs["State"]["Pid"]
        scan = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable,
                               str(HERE / "portscan.py"), nginx_ip, "1", "65535"],
                              capture_output=True, text=True, check=True)
        out["tcp_scan_of_nginx_from_app_blue_netns"] = json.loads(scan.stdout)
        for method in ("GET", "PUT"):
            r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "curl", "-si", "-X", method,
                                "--data-binary" if method == "PUT" else "-G", "green" if method == "PUT" else "",
                                f"http://{nginx_ip}/color"], capture_output=True, text=True)
            out[f"{method} /color on nginx:80 from app-blue's netns"] = [
                line.strip() for line in r.stdout.splitlines()
                if line.startswith(("HTTP/", "X-App-Color"))]
        out["served color after those"] = s.get()["color"]
        code, text = app.exec_run(["ls", "-la", "/run/bluegreen"])
        out["socket dir inside app-blue"] = text.decode(errors="replace").strip()
        out["socket_dir_mode_on_host"] = oct(os.stat(s.sock_dir).st_mode & 0o777)
        out["socket_mode_on_host"] = oct(os.stat(s.sock).st_mode & 0o777)
        nobody = subprocess.run(["runuser", "-u", "nobody", "--", "curl", "-sS", "--unix-socket",
                                 str(s.sock), "http://bluegreen/color"], capture_output=True, text=True)
        out["host user nobody curl --unix-socket"] = {"exit": nobody.returncode,
                                                       "stderr": nobody.stderr.strip()}
        out["host root GET /color"] = s.get()
    return out


# ---------------------------------------------------------------- e) + f) validation
def scenario_validate(client) -> dict:
    out = {}
    with DictStack(client) as s:
        s.start()
        out["nginx -t (whole setup)"] = s.exec("nginx", "-t")[1].strip()
        # -t binds every listen address to test it; a unix socket in use (EADDRINUSE) is
        # skipped silently, one it could bind is deleted again: the live socket survives.
        out["admin socket after nginx -t in the running container"] = s.get()

        upstream = s.conf_dir / "app.upstream.conf"
        original = upstream.read_text()
        upstream.write_text(original.replace("js_var $bg_default_color blue;\n", ""))
        out["nginx -t, upstream file without its js_var"] = s.exec("nginx", "-t")
        upstream.write_text(original)

        conf = s.conf_dir / "bluegreen.conf"
        site = conf.read_text()
        conf.write_text(site.replace("default app_backend_blue;", "default app_backend_bleu;"))
        test = s.exec("nginx", "-t")
        s.clear()
        reload_and_wait(s)
        since = int(time.time())
        r = httpx.get(s.url, timeout=5)
        log = s.nginx.logs(stdout=False, since=since).decode(errors="replace").strip().splitlines()
        out["map naming a missing upstream (typo)"] = {"nginx -t": test, "status": r.status_code,
                                                       "nginx_log": [x for x in log if "error" in x][:2]}
        conf.write_text(site)
        reload_and_wait(s)

        js = s.js_dir / "bluegreen.js"
        js_text = js.read_text()
        js.write_text(js_text.replace("function color(r) {", "function color(r) {{"))
        out["nginx -t, syntax error in bluegreen.js"] = s.exec("nginx", "-t")
        js.write_text(js_text)

        s.exec("sh", "-c", "grep -v load_module /etc/nginx/nginx.conf > /etc/nginx/no-njs.conf")
        out["nginx -t without load_module (njs not loaded)"] = s.exec("nginx", "-t", "-c",
                                                                      "/etc/nginx/no-njs.conf")

        # The admin socket's directory not mounted: both -t and the start fail to bind.
        vols = {k: v for k, v in s.volumes().items() if v["bind"] != "/run/bluegreen"}
        test = run_once(client, s.nginx_image, ["-t"], f"{s.name}-once-t", volumes=vols, network=s.name)
        c = client.containers.run(s.nginx_image, volumes=vols, network=s.name, detach=True,
                                  name=f"{s.name}-nosockdir")
        time.sleep(4)
        c.reload()
        out["admin socket dir missing"] = {"nginx -t": test, "start_status": c.status,
                                           "exit": c.attrs["State"]["ExitCode"],
                                           "log_tail": c.logs().decode(errors="replace").strip().splitlines()[-2:]}
        c.remove(force=True)

        # nginx 1.22 (Debian 12, no njs module): the same files.
        old = "bluegreen-test/nginx:1"
        out["nginx 1.22 (bluegreen-test/nginx:1)"] = {
            "version": run_once(client, old, ["-v"], f"{s.name}-once-v"),
            "nginx -t": run_once(client, old, ["-t"], f"{s.name}-once-t22", volumes=s.volumes(),
                                 network=s.name)}
        out["nginx 1.22 with load_module of njs"] = run_once(
            client, old, ["sh", "-c", "ls /usr/lib/nginx/modules 2>&1; "
                          "sed '1i load_module /usr/lib/nginx/modules/ngx_http_js_module.so;' "
                          "/etc/nginx/nginx.conf > /tmp/n.conf; nginx -t -c /tmp/n.conf 2>&1"],
            f"{s.name}-once-mod", entrypoint=[], network=s.name)
    with ReloadStack(client, keepalive_min_timeout="10s") as s:
        s.start()
        out["nginx 1.30 -t with keepalive_min_timeout"] = s.exec("nginx", "-t")
        out["nginx 1.22 with keepalive_min_timeout"] = run_once(
            client, "bluegreen-test/nginx:1", ["-t"], f"{s.name}-once-kmt", volumes=s.volumes(),
            network=s.name)
    return out


# ---------------------------------------------------------------- extras: cost, failover, resolve
def timed_get(url: str) -> dict:
    t0 = time.perf_counter()
    try:
        r = httpx.get(url, timeout=90)
        return {"status": r.status_code, "color": r.headers.get("X-App-Color"),
                "seconds": round(time.perf_counter() - t0, 3)}
    except httpx.HTTPError as exc:
        return {"error": repr(exc), "seconds": round(time.perf_counter() - t0, 3)}


def scenario_extras(client) -> dict:
    out = {}
    # What js_set + map cost per request: the same wrk run, no switching, both sites.
    for mode, make in (("shared_dict", lambda: DictStack(client)), ("static_upstream", lambda: ReloadStack(client))):
        with make() as s:
            s.start()
            run_wrk(s.port, 8, 3)  # warm-up
            r = run_wrk(s.port, 8, 10)
            out[f"wrk -c8 10s no switching, {mode}"] = {"requests": r.requests, "rps": round(r.requests / 10),
                                                        "failed": r.errors}

    # The guide's backup server still works: the served color's app is stopped.
    with DictStack(client) as s:
        s.start()
        s.switch("green")
        s.apps["green"].stop(timeout=1)
        out["served green, app-green stopped"] = [timed_get(s.url) for _ in range(3)]

    # resolve (nginx >= 1.27.3): a recreated container is reached without any reload.
    with DictStack(client, upstream_template="app.upstream.resolve.conf") as s:
        s.start()
        s.switch("green")
        res = {"before": {"version": httpx.get(s.url).headers["X-App-Version"], "color": s.served_color()}}
        s.apps["green"].reload()
        old_ip = s.apps["green"].attrs["NetworkSettings"]["Networks"][s.name]["IPAddress"]
        s.apps["green"].remove(force=True)
        filler = client.containers.run("bluegreen-test/app:v1", name=f"{s.name}-filler", detach=True,
                                       network=s.name)  # takes the freed address
        t0 = time.monotonic()
        s.run_app("green", image="bluegreen-test/app:v3")
        s.apps["green"].reload()
        new_ip = s.apps["green"].attrs["NetworkSettings"]["Networks"][s.name]["IPAddress"]
        seen = wait_for(lambda: httpx.get(s.url, timeout=2).headers.get("X-App-Version") == "v3" and "v3",
                        15, "v3 through nginx without reload")
        res["recreated green as v3"] = {"old_ip": old_ip, "new_ip": new_ip, "served": seen,
                                        "seconds_after_create": round(time.monotonic() - t0, 2),
                                        "reloads": 0}
        s.apps["green"].remove(force=True)
        res["nginx -t with app-green gone"] = s.exec("nginx", "-t")
        res["requests with app-green gone (served green)"] = [timed_get(s.url) for _ in range(3)]
        filler.remove(force=True)
        out["resolve"] = res
    with DictStack(client) as s:
        s.start()
        s.apps["green"].remove(force=True)
        out["without resolve: nginx -t with app-green gone"] = s.exec("nginx", "-t")
    return out


# ---------------------------------------------------------------- the per-request cost of js_set + map
def scenario_overhead(client, rounds: int = 5, seconds: int = 6) -> dict:
    """Both sites up at once, wrk -c8 alternating between them (no switching): the cost of
    evaluating $bg_color (one njs call per request) against a static proxy_pass."""
    rps = {"shared_dict": [], "static_upstream": []}
    with DictStack(client) as d, ReloadStack(client) as r:
        d.start()
        r.start()
        for port in (d.port, r.port):
            run_wrk(port, 8, 2)  # warm-up
        for _ in range(rounds):
            for mode, port in (("shared_dict", d.port), ("static_upstream", r.port)):
                rps[mode].append(round(run_wrk(port, 8, seconds).requests / seconds))
    med = {mode: statistics.median(v) for mode, v in rps.items()}
    return {"rps_per_round": rps, "median_rps": med,
            "shared_dict_vs_static": f"{(med['shared_dict'] / med['static_upstream'] - 1) * 100:+.1f}%"}


SCENARIOS = {"latency": scenario_latency, "load": scenario_load, "persistence": scenario_persistence,
             "isolation": scenario_isolation, "validate": scenario_validate, "extras": scenario_extras,
             "overhead": scenario_overhead}


def main() -> None:
    names = sys.argv[1:] or ["all"]
    if names == ["all"]:
        names = list(SCENARIOS)
    client = docker.from_env()
    for name in names:
        t0 = time.monotonic()
        load_before = os.getloadavg()
        data = SCENARIOS[name](client)
        data["_elapsed_s"] = round(time.monotonic() - t0, 1)
        # 2 cores, shared with whatever else runs: say how busy the machine was.
        data["_loadavg_1m_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
        data["_versions"] = {"nginx_image": os.environ.get("BGP_NGINX_IMAGE", "bluegreen-test/nginx:1.30")}
        save(name, data)


if __name__ == "__main__":
    main()
