"""BigCodeBench's evaluation environment: a virtual environment with the benchmark's libraries,
pinned as BigCodeBench's own evaluation image pins them, which the `bigcodebench` task runs
programs with (its `--python` option).

Build it with

    python -m codeharness.tasks.bigcodebench_env            # the full set, about 3 GB
    python -m codeharness.tasks.bigcodebench_env --packages numpy,pandas --target DIR

`requirements()` is upstream's `Requirements/requirements-eval.txt` (bigcode-project/
bigcodebench), pin for pin, except where a pinned release has no build for the Python the
environment is made from: then the nearest release that has one, each substitution with its
reason (`SUBSTITUTIONS`). Upstream's image runs Python 3.10, where every pin installs as
written: `--base-python python3.10` builds exactly that. What pip cannot install is named,
and after the install every third-party module the benchmark's tasks import is tried with the
new interpreter; `environment.json` in the environment records the pins, what was installed,
what failed and why, and which modules do not import (the task names the tasks each one
affects).

Where it goes: by default inside the harness's own environment
(`<sys.prefix>/share/codeharness/envs/bigcodebench`), because the local sandbox shows its
programs the harness's Python folders (under bubblewrap, only those): an environment
elsewhere must be somewhere every user may read and the sandbox can see (under /usr/local or
/opt).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# Requirements/requirements-eval.txt of bigcode-project/bigcodebench (commit 158327f), verbatim.
UPSTREAM_REQUIREMENTS = """\
beautifulsoup4==4.8.2
blake3==0.4.1
chardet==5.2.0
cryptography==38.0.0
datetime==5.5
Django==4.2.7
dnspython==2.6.1
docxtpl==0.11.5
Faker==20.1.0
flask_login==0.6.3
flask_restful==0.3.10
flask_wtf==1.2.1
Flask-Mail==0.9.1
flask==3.0.3
folium==0.16.0
gensim==4.3.2
geopandas==0.13.2
geopy==2.4.1
holidays==0.29
keras==2.11.0
Levenshtein==0.25.0
librosa==0.10.1
lxml==4.9.3
matplotlib==3.7.0
mechanize==0.4.9
natsort==7.1.1
networkx==2.6.3
nltk==3.8
numba==0.55.0
numpy==1.21.2
opencv-python-headless==4.9.0.80
openpyxl==3.1.2
pandas==2.0.3
Pillow==10.3.0
prettytable==3.10.0
psutil==5.9.5
pycryptodome==3.14.1
pyfakefs==5.4.1
pyquery==1.4.3
pytesseract==0.3.10
pytest==8.2.0
python_http_client==3.3.7
python-dateutil==2.9.0
python-docx==1.1.0
python-Levenshtein-wheels
pytz==2023.3.post1
PyYAML==6.0.1
requests_mock==1.11.0
requests==2.31.0
Requests==2.31.0
rsa==4.9
scikit-image==0.18.0
scikit-learn==1.3.1
scipy==1.7.2
seaborn==0.13.2
selenium==4.15.
sendgrid==6.11.0
shapely==2.0.4
soundfile==0.12.1
statsmodels==0.14.0
statsmodels==0.14.0
sympy==1.12
tensorflow==2.11.1
textblob==0.18.0
texttable==1.7.0
Werkzeug==3.0.1
wikipedia==1.4.0
wordcloud==1.9.3
wordninja==2.0.0
WTForms==3.1.2
xlrd==2.0.1
xlrd==2.0.1
xlwt==1.3.0
xmltodict==0.13.0
"""

# Substitutions on every Python: (upstream line, what is installed, why).
ALWAYS = [
    ("selenium==4.15.", "selenium==4.15.2",
     "'4.15.' is not a valid version; 4.15.2 is the last 4.15 release"),
]
# Substitutions on Python 3.11 and later, where these pins have no build (numpy 1.21, scipy
# 1.7, numba 0.55, scikit-image 0.18 and TensorFlow 2.11 stop at Python 3.10): the first
# releases that have one and fit the other pins (TensorFlow 2.12 needs numpy < 1.24, numba
# 0.57 numpy < 1.25, opencv 4.9 numpy >= 1.23.5 on 3.11).
PY311 = [
    ("numpy==1.21.2", "numpy==1.23.5", "numpy 1.21 has no build for Python 3.11"),
    ("scipy==1.7.2", "scipy==1.9.3", "scipy 1.7 has no build for Python 3.11"),
    ("numba==0.55.0", "numba==0.57.1", "numba 0.55 supports Python <= 3.10"),
    ("scikit-image==0.18.0", "scikit-image==0.20.0", "scikit-image 0.18 has no build for Python 3.11"),
    ("tensorflow==2.11.1", "tensorflow-cpu==2.12.1",
     ("TensorFlow 2.11 has no build for Python 3.11; the CPU build of 2.12 (the same module, "
      "a third of the download)")),
    ("keras==2.11.0", "keras==2.12.0", "keras must match TensorFlow's minor version"),
    ("networkx==2.6.3", "networkx==2.8.8",
     "scikit-image 0.20 needs networkx >= 2.8 (no task imports networkx itself)"),
]
# The third-party modules BigCodeBench's tasks import (their `libs`), tried after the install.
TASK_MODULES = (
    "Crypto", "Levenshtein", "PIL", "blake3", "bs4", "chardet", "cryptography", "cv2", "dateutil",
    "django", "docx", "faker", "flask", "flask_login", "flask_mail", "flask_restful", "flask_wtf",
    "folium", "gensim", "geopandas", "geopy", "holidays", "keras", "librosa", "lxml",
    "matplotlib", "mechanize", "mpl_toolkits", "natsort", "nltk", "numpy", "openpyxl", "pandas",
    "prettytable", "psutil", "pyquery", "pytesseract", "python_http_client", "pytz", "regex",
    "requests", "rsa", "scipy", "seaborn", "sendgrid", "shapely", "skimage", "sklearn",
    "soundfile", "statsmodels", "sympy", "tensorflow", "textblob", "texttable", "werkzeug",
    "wikipedia", "wordcloud", "wordninja", "wtforms", "xlwt", "xmltodict", "yaml",
    # standard-library modules that need a system library some Pythons lack
    "turtle", "sqlite3", "ssl",
)
REPORT = "environment.json"
MPL_CACHE = "matplotlib-cache"  # matplotlib's font list, built once and copied for each program


def default_target() -> Path:
    return Path(sys.prefix) / "share" / "codeharness" / "envs" / "bigcodebench"


def default_python() -> Path:
    """The environment's interpreter where the documented command puts it."""
    return default_target() / "bin" / "python"


def _name(line: str) -> str:
    return re.split(r"[=<>!~\[ ]", line, maxsplit=1)[0].strip().lower().replace("_", "-")


def requirements(python_version: tuple[int, int]) -> tuple[list[str], list[dict]]:
    """The lines to install for a Python version, and the substitutions made (with reasons)."""
    substitutions = ALWAYS + (PY311 if python_version >= (3, 11) else [])
    replaced = {old: (new, why) for old, new, why in substitutions}
    lines, seen, made = [], set(), []
    for line in UPSTREAM_REQUIREMENTS.splitlines():
        line = line.strip()
        if not line or line.lower() in seen:  # upstream lists some pins twice (requests, xlrd)
            continue
        seen.add(line.lower())
        if line in replaced:
            new, why = replaced[line]
            made.append({"upstream": line, "installed": new, "why": why})
            line = new
        if _name(line) not in {_name(kept) for kept in lines}:
            lines.append(line)
    return lines, made


def _run(command: list[str], log) -> subprocess.CompletedProcess:
    log("$ " + " ".join(command))
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _run_env(command: list[str], env: dict, log) -> subprocess.CompletedProcess:
    log("$ " + " ".join(f"{k}={v}" for k, v in env.items()) + " " + " ".join(command))
    return subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ, **env})


def _python_version(python: str) -> tuple[int, int]:
    out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1])


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:") or "error:" in line.lower()]
    return (errors or lines or ["(no output)"])[-1][:500]


def probe_imports(python: str | Path, modules=TASK_MODULES, timeout_s: float = 600) -> dict[str, str]:
    """The modules that do not import with this interpreter, with why (isolated from the
    caller's environment, the way the task runs programs)."""
    code = ("import importlib, json, sys, warnings\nwarnings.simplefilter('ignore')\nfailed = {}\n"
            "for name in json.loads(sys.argv[1]):\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except BaseException as exc:\n"
            "        failed[name] = (type(exc).__name__ + ': ' + str(exc))[:300]\n"
            "print('\\n' + json.dumps(failed))\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    result = subprocess.run([str(python), "-I", "-c", code, json.dumps(list(modules))], check=False,
                            capture_output=True, text=True, timeout=timeout_s, env=env)
    if result.returncode != 0:
        return {name: f"the import probe failed: {_last_error(result.stderr)}" for name in modules}
    return json.loads(result.stdout.strip().splitlines()[-1])


def build(target: Path, base_python: str = sys.executable, packages: list[str] | None = None,
          extra: list[str] | None = None, log=print) -> dict:
    """Make (or complete) the environment at target; return what environment.json records."""
    started = time.time()
    version = _python_version(base_python)
    lines, substitutions = requirements(version)
    if packages:
        wanted = {_name(p) for p in packages}
        unknown = wanted - {_name(line) for line in lines}
        if unknown:
            raise SystemExit(f"not in BigCodeBench's requirements: {', '.join(sorted(unknown))}")
        lines = [line for line in lines if _name(line) in wanted]
        substitutions = [s for s in substitutions if _name(s["installed"]) in wanted]
    lines += list(extra or [])
    python = target / "bin" / "python"
    if not python.exists():
        result = _run([base_python, "-m", "venv", str(target)], log)
        if result.returncode != 0:
            raise SystemExit(f"could not make a virtual environment at {target}: "
                             f"{_last_error(result.stderr)}")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--no-input"]
    _run(pip + ["-q", "--upgrade", "pip", "setuptools<70", "wheel"], log)
    failed: dict[str, str] = {}
    requirements_file = target / "requirements-bigcodebench.txt"
    requirements_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(pip + ["-r", str(requirements_file)], log)
    if result.returncode != 0:
        # Together they did not resolve or one did not build: each on its own, with the pins
        # installed so far as constraints, to name the ones that fail.
        log(f"installing them together failed ({_last_error(result.stdout + result.stderr)}); "
            "one at a time")
        for line in lines:
            single = _run(pip + ["-c", str(requirements_file), line], log)
            if single.returncode != 0:
                single = _run(pip + [line], log)  # without the others' pins
            if single.returncode != 0:
                failed[line] = _last_error(single.stdout + single.stderr)
                log(f"  cannot install {line}: {failed[line]}")
    freeze = _run([str(python), "-m", "pip", "freeze", "--all"], log).stdout.split()
    cache = target / MPL_CACHE
    _run_env([str(python), "-I", "-c", "import matplotlib.font_manager"],
             {"MPLCONFIGDIR": str(cache)}, log)
    log("trying every module the tasks import")
    not_importable = probe_imports(python, TASK_MODULES if not packages else ())
    report = {
        "python": ".".join(map(str, version)),
        "base_python": base_python,
        "upstream": "bigcode-project/bigcodebench Requirements/requirements-eval.txt (commit 158327f)",
        "requirements": lines,
        "substitutions": substitutions,
        "not_installed": failed,
        "not_importable": not_importable,
        "installed": freeze,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": round(time.time() - started),
    }
    (target / REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    for folder, _, files in os.walk(target):  # programs run as other users must read it all
        os.chmod(folder, os.stat(folder).st_mode | 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return report


def read_report(python: str | Path) -> dict | None:
    """environment.json of the environment an interpreter belongs to, when it has one."""
    path = Path(python)
    for folder in (path.parent.parent, path.parent):
        report = folder / REPORT
        if report.is_file():
            try:
                return json.loads(report.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=default_target(),
                        help="where the environment goes (default: %(default)s)")
    parser.add_argument("--base-python", default=sys.executable,
                        help="the Python to make it from (default: this one); a Python 3.10 "
                             "takes every upstream pin as written")
    parser.add_argument("--packages", default="",
                        help="only these of the requirements (comma-separated names), e.g. for CI")
    parser.add_argument("--extra", default="", help="more requirements (comma-separated)")
    args = parser.parse_args(argv)
    packages = [p for p in args.packages.split(",") if p.strip()]
    extra = [p for p in args.extra.split(",") if p.strip()]
    report = build(args.target.resolve(), args.base_python, packages or None, extra)
    print(f"\nBigCodeBench environment: {args.target / 'bin' / 'python'} "
          f"(Python {report['python']}, {report['seconds']} s)")
    for item in report["substitutions"]:
        print(f"  {item['upstream']} -> {item['installed']}: {item['why']}")
    for line, why in report["not_installed"].items():
        print(f"  NOT INSTALLED {line}: {why}")
    for name, why in report["not_importable"].items():
        print(f"  does not import: {name}: {why}")
    print(f"record: {args.target / REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
