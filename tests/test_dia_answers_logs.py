"""Independent checkers for the Log Analysis templates (they read the log files in the text)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

from tests.test_dia_answers_common import after, files, text_file

LINE = re.compile(r'^(\S+) - - \[[^:]+:(\d\d):(\d\d):(\d\d) \+0000\] "(\S+) (.*) HTTP/1\.1" (\d{3}) (\d+)$')


def _rows(log: str) -> list[dict]:
    rows = []
    for line in log.splitlines():
        ip, h, m, s, method, path, status, size = LINE.match(line).groups()
        rows.append({"ip": ip, "time": int(h) * 3600 + int(m) * 60 + int(s), "path": path, "status": int(status),
                     "size": int(size)})
    return rows


def _unique_top(counter: Counter) -> str:
    (first, n), *rest = counter.most_common()
    assert not rest or rest[0][1] < n
    return str(first)


def busiest_ip(d, t):
    return _unique_top(Counter(r["ip"] for r in _rows(text_file(d, "access.log"))))


def count_not_found(d, t):
    return str(sum(r["status"] == 404 for r in _rows(text_file(d, "access.log"))))


def bytes_sent_to_ip(d, t):
    target = re.search(r"send to (\S+) ", t).group(1)
    return str(sum(r["size"] for r in _rows(text_file(d, "access.log")) if r["ip"] == target))


def ssh_brute_force_source(d, t):
    return _unique_top(Counter(re.findall(r"Failed password for \S+ from (\S+) port", text_file(d, "auth.log"))))


def ips_to_block(d, t):
    threshold = int(re.search(r"with (\d+) or more", d).group(1))
    failures = re.findall(r"Failed password for \S+ from (\S+) port", text_file(d, "auth.log"))
    counts = Counter(failures)
    seen = []
    for ip in failures:
        if ip not in seen:
            seen.append(ip)
    return ",".join(ip for ip in seen if counts[ip] >= threshold)


def malicious_request_count(d, t):
    patterns = re.search(r"substrings: (.*) \(separated", d).group(1).split(" | ")
    return str(sum(any(p in r["path"] for p in patterns) for r in _rows(text_file(d, "access.log"))))


def most_server_errors_path(d, t):
    return _unique_top(Counter(r["path"] for r in _rows(text_file(d, "access.log")) if r["status"] >= 500))


def requests_in_window(d, t):
    (h1, m1, s1), (h2, m2, s2) = re.findall(r"(\d\d):(\d\d):(\d\d)", t)
    start, end = int(h1) * 3600 + int(m1) * 60 + int(s1), int(h2) * 3600 + int(m2) * 60 + int(s2)
    return str(sum(start <= r["time"] <= end for r in _rows(text_file(d, "access.log"))))


def gzip_log_bytes_for_path(d, t):
    target = re.search(r"the path (\S+) exactly", t).group(1)
    rows = _rows(gzip.decompress(files(d)["access.log.gz"]).decode())
    return str(sum(r["size"] for r in rows if r["path"] == target and r["status"] == 200))


def json_log_failed_user(d, t):
    events = [json.loads(line) for line in text_file(d, "events.jsonl").splitlines()]
    return _unique_top(Counter(e["user"] for e in events if e["event"] == "login" and e["ok"] is False))


def firewall_dropped_port(d, t):
    return _unique_top(Counter(re.findall(r"DPT=(\d+) ACTION=DROP", after("fw.log", d))))


CHECKERS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__}
