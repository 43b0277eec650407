"""DIA templates: Log Analysis. Logs come as files (text, or gzip in base64), so that in tool
mode a program reads them from its working folder."""

from __future__ import annotations

import json
from collections import Counter

from codeharness.tasks.dia_templates_core import (
    LOGS,
    USERS,
    WORDS,
    Artefact,
    Question,
    distinct_ips,
    gzip_compress,
    template,
    text_file,
)

PATHS = ("/", "/index.html", "/login", "/admin", "/api/v1/items", "/api/v1/users", "/images/logo.png",
         "/search?q=shoes", "/wp-login.php", "/robots.txt", "/static/app.js", "/.env", "/cart", "/checkout",
         "/account", "/logout", "/favicon.ico", "/api/v2/orders", "/docs", "/contact")
WORD_PATHS = ("/product/{}", "/blog/{}", "/api/v1/items/{}", "/user/{}/profile", "/files/{}.pdf", "/tag/{}")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def path_pool(rng, size: int) -> list[str]:
    """Request paths of one site: a few fixed ones and some with random parts."""
    paths = rng.sample(PATHS, size // 2)
    while len(paths) < size:
        path = rng.choice(WORD_PATHS).format(rng.choice(WORDS) if rng.random() < 0.5 else rng.randrange(1, 10**4))
        if path not in paths:
            paths.append(path)
    return paths


def clock(second: int) -> str:
    return f"{second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def access_log(rng, ips: list[str], weights: list[float], lines: int, statuses=None, paths=None) -> list[dict]:
    """Rows of an access log, one second or more apart, within one day."""
    paths = paths or path_pool(rng, 12)
    statuses = statuses or {200: 6, 301: 1, 403: 1, 404: 1, 500: 1}
    codes, code_weights = list(statuses), list(statuses.values())
    second = rng.randrange(0, 86400 - 30 * lines)
    rows = []
    clients = rng.choices(ips, weights, k=lines)
    answers = rng.choices(codes, code_weights, k=lines)
    methods = rng.choices(("GET", "POST", "HEAD"), (8, 2, 1), k=lines)
    for k in range(lines):
        second += rng.randrange(1, 30)
        rows.append({"ip": clients[k], "path": rng.choice(paths), "second": second, "status": answers[k],
                     "size": rng.randrange(100, 20000), "method": methods[k]})
    return rows


def format_access_log(rng, rows: list[dict]) -> str:
    day = f"{rng.randrange(1, 29):02d}/{rng.choice(MONTHS)}/{rng.randrange(2019, 2026)}"
    return "".join(f'{r["ip"]} - - [{day}:{clock(r["second"])} +0000] "{r["method"]} {r["path"]} HTTP/1.1" '
                   f'{r["status"]} {r["size"]}\n' for r in rows)


def _weights(rng, count: int) -> list[float]:
    return [rng.random() + 0.05 for _ in range(count)]


@template(LOGS, code=False, adversarial=True, files=True)
def busiest_ip(rng):
    """The analyst names one of the log's five client addresses uniformly at random: right 1
    time in 5, like a blind guess among them."""
    ips = distinct_ips(rng, 5)
    while True:
        rows = access_log(rng, ips, _weights(rng, 5), rng.randrange(40, 121))
        counts = Counter(r["ip"] for r in rows).most_common()
        if len(counts) == 5 and counts[0][1] > counts[1][1]:
            break
    note = rng.choice(ips)
    return Question(f"The web server access log access.log is below. An analyst noted that the busiest client "
                    f"is {note}.", "Which IP address made the most requests?", counts[0][0], "ip",
                    "Count the requests per IP address; the analyst's note is a guess.",
                    hint=note, candidates=tuple(ips), files=(text_file("access.log", format_access_log(rng, rows)),))


@template(LOGS, code=False, files=True)
def count_not_found(rng):
    share = rng.uniform(0.03, 0.5)
    rows = access_log(rng, distinct_ips(rng, 6), _weights(rng, 6), rng.randrange(40, 201),
                      {200: 1 - share, 404: share, 500: 0.03, 301: 0.05})
    return Question("The web server access log access.log is below.", "How many requests got the HTTP status 404?",
                    str(sum(r["status"] == 404 for r in rows)), "count",
                    "Count the lines whose status field is 404.",
                    files=(text_file("access.log", format_access_log(rng, rows)),))


@template(LOGS, code=False, files=True)
def bytes_sent_to_ip(rng):
    ips = distinct_ips(rng, 4)
    rows = access_log(rng, ips, _weights(rng, 4), rng.randrange(30, 61))
    target = rows[0]["ip"]
    return Question("The web server access log access.log is below.",
                    f"How many bytes in total did the server send to {target} (the last field of each line)?",
                    str(sum(r["size"] for r in rows if r["ip"] == target)), "bytes",
                    "Add the size field of every line from that address.",
                    files=(text_file("access.log", format_access_log(rng, rows)),))


def auth_log(rng, events: list[tuple[str, bool, str]]) -> str:
    second = rng.randrange(0, 86400 - 20 * len(events))
    month, day = rng.choice(MONTHS), rng.randrange(1, 29)
    host = rng.choice(("bastion", "web01", "db02", "gateway"))
    lines = []
    for ip, failed, user in events:
        second += rng.randrange(1, 20)
        outcome = "Failed password" if failed else "Accepted password"
        lines.append(f"{month} {day:2d} {clock(second)} {host} sshd[{rng.randrange(1000, 65000)}]: {outcome} for "
                     f"{user} from {ip} port {rng.randrange(1024, 65536)} ssh2\n")
    return "".join(lines)


@template(LOGS, code=False, files=True)
def ssh_brute_force_source(rng):
    ips = distinct_ips(rng, rng.randrange(3, 7))
    weights = _weights(rng, len(ips))
    while True:
        events = [(rng.choices(ips, weights)[0], rng.random() < 0.7, rng.choice(USERS))
                  for _ in range(rng.randrange(25, 61))]
        failures = Counter(ip for ip, failed, _ in events if failed).most_common()
        if failures and (len(failures) == 1 or failures[0][1] > failures[1][1]):
            break
    return Question("An excerpt of /var/log/auth.log is in the file auth.log below.",
                    "Which IP address has the most failed password attempts?", failures[0][0], "ip",
                    "Count the 'Failed password' lines per source address.",
                    files=(text_file("auth.log", auth_log(rng, events)),))


@template(LOGS, code=False, steps=2, files=True)
def ips_to_block(rng):
    ips = distinct_ips(rng, rng.randrange(5, 10))
    weights = _weights(rng, len(ips))
    threshold = rng.randrange(3, 9)
    while True:
        events = [(rng.choices(ips, weights)[0], rng.random() < 0.6, rng.choice(USERS))
                  for _ in range(rng.randrange(30, 81))]
        failures = Counter(ip for ip, failed, _ in events if failed)
        order = list(dict.fromkeys(ip for ip, failed, _ in events if failed))
        blocked = [ip for ip in order if failures[ip] >= threshold]
        if blocked:
            break
    return Question(f"An excerpt of /var/log/auth.log is in the file auth.log below. The policy blocks every source "
                    f"address with {threshold} or more failed password attempts.",
                    "Which addresses must be blocked? List them in the order of their first failed attempt, "
                    "separated by commas without spaces.", ",".join(blocked), "ip1,ip2,...",
                    "Count failures per address and keep those at or above the threshold.",
                    files=(text_file("auth.log", auth_log(rng, events)),))


ATTACKS = ("/../../etc/passwd", "/products?id=1' OR '1'='1", "/search?q=<script>alert(1)</script>",
           "/items?id=1 UNION SELECT password FROM users", "/download?file=../../../etc/shadow",
           "/login?user=admin'--", "/page?name=<script>document.cookie</script>")
PATTERNS = ("../", "' OR '", "<script>", "UNION SELECT", "'--")


@template(LOGS, code=False, files=True)
def malicious_request_count(rng):
    share = rng.uniform(0.03, 0.5)
    rows = access_log(rng, distinct_ips(rng, 5), _weights(rng, 5), rng.randrange(30, 151))
    for row in rows:
        if rng.random() < share:
            row["path"] = rng.choice(ATTACKS)
    count = sum(any(p in r["path"] for p in PATTERNS) for r in rows)
    return Question("The web server access log access.log is below. A request is malicious when its path contains "
                    f"any of these substrings: {' | '.join(PATTERNS)} (separated here by ' | ').",
                    "How many malicious requests does the log hold?", str(count), "count",
                    "Search every request path for the listed patterns.",
                    files=(text_file("access.log", format_access_log(rng, rows)),))


@template(LOGS, code=False, steps=2, files=True)
def most_server_errors_path(rng):
    while True:
        rows = access_log(rng, distinct_ips(rng, 5), _weights(rng, 5), rng.randrange(50, 151),
                          {200: 5, 500: 2, 502: 1, 404: 1})
        counts = Counter(r["path"] for r in rows if r["status"] >= 500).most_common()
        if len(counts) > 1 and counts[0][1] > counts[1][1]:
            break
    return Question("The web server access log access.log is below.",
                    "Which request path got the most server errors (status 500 or higher)?", counts[0][0], "path",
                    "Count the 5xx responses per path.",
                    files=(text_file("access.log", format_access_log(rng, rows)),))


@template(LOGS, code=False, files=True)
def requests_in_window(rng):
    rows = access_log(rng, distinct_ips(rng, 5), _weights(rng, 5), rng.randrange(40, 201))
    first, last = rows[0]["second"], rows[-1]["second"]
    start = rng.randrange(first, last)
    end = min(rng.randrange(start + 60, last + 120), 86399)
    count = sum(start <= r["second"] <= end for r in rows)
    return Question("The web server access log access.log is below (all on one day).",
                    f"How many requests arrived between {clock(start)} and {clock(end)}, both times included?",
                    str(count), "count", "Compare each line's time of day with the window.",
                    files=(text_file("access.log", format_access_log(rng, rows)),))


@template(LOGS, code=True, steps=2, files=True)
def gzip_log_bytes_for_path(rng):
    """A gzip-compressed log: decompress, then count."""
    ips = distinct_ips(rng, rng.randrange(6, 16))
    rows = access_log(rng, ips, _weights(rng, len(ips)), rng.randrange(40, 101))
    target = rng.choice(("/admin", "/login", "/.env", "/wp-login.php"))
    for row in rows:
        if rng.random() < 0.15:
            row["path"] = target
    text = format_access_log(rng, rows)
    answer = sum(r["size"] for r in rows if r["path"] == target and r["status"] == 200)
    return Question("The file access.log.gz is a gzip-compressed web server access log.",
                    f"How many bytes in total did the server send in answers with status 200 to requests for the "
                    f"path {target} exactly?", str(answer), "bytes",
                    "Decompress, then add the size field of the matching lines.",
                    files=(Artefact("access.log.gz", gzip_compress(text.encode(), "access.log")),))


@template(LOGS, code=False, files=True)
def json_log_failed_user(rng):
    users = rng.sample(USERS, rng.randrange(4, 9))
    weights = _weights(rng, len(users))
    while True:
        count = rng.randrange(30, 91)
        second = rng.randrange(1_700_000_000, 1_760_000_000)
        events = []
        for _ in range(count):
            second += rng.randrange(1, 600)
            events.append({"ts": second, "user": rng.choices(users, weights)[0],
                           "event": rng.choice(("login", "login", "login", "logout", "password_change")),
                           "ok": rng.random() < 0.6})
        failures = Counter(e["user"] for e in events if e["event"] == "login" and not e["ok"]).most_common()
        if len(failures) > 1 and failures[0][1] > failures[1][1]:
            break
    text = "".join(json.dumps(e) + "\n" for e in events)
    return Question("The file events.jsonl below holds one JSON event per line.",
                    "Which user has the most failed logins (event \"login\" with ok false)?", failures[0][0], "user",
                    "Parse the JSON lines and count failed logins per user.",
                    files=(text_file("events.jsonl", text),))


@template(LOGS, code=False, files=True)
def firewall_dropped_port(rng):
    ports = sorted(rng.sample(range(1, 65536), rng.randrange(4, 9)))
    weights = _weights(rng, len(ports))
    while True:
        lines, dropped = [], Counter()
        second = rng.randrange(0, 80000)
        for _ in range(rng.randrange(30, 91)):
            second += rng.randrange(1, 10)
            port, action = rng.choices(ports, weights)[0], rng.choice(("DROP", "DROP", "ACCEPT"))
            dropped[port] += action == "DROP"
            src = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            lines.append(f"Mar 14 {clock(second)} fw01 kernel: [{action}] IN=eth0 OUT= SRC={src} DST=10.0.0.5 "
                         f"PROTO=TCP SPT={rng.randrange(1024, 65536)} DPT={port} ACTION={action}\n")
        ranking = dropped.most_common()
        if len(ranking) > 1 and ranking[0][1] > ranking[1][1]:
            break
    return Question("The firewall log fw.log is below.",
                    "Which destination port (DPT) has the most dropped packets (ACTION=DROP)?", str(ranking[0][0]),
                    "port", "Count the DROP lines per destination port.",
                    files=(text_file("fw.log", "".join(lines)),))
