"""Programs are judged the same wherever the harness's Python is installed (issue 13).

Each layout is a Python environment made for the test: its interpreter under a private home
(mode 0700, as pyenv, uv or conda under /root), a virtual environment under /tmp, one inside
the repository. Each holds numpy in its own package folder (linked from this environment's)
and reaches the harness through a .pth file. From each, a harness process runs programs that
import broadly from the standard library and numpy in the local sandbox (with and without
bubblewrap) and the Docker sandbox, twice each (the second time after a job's cleanup), and
in-process: every verdict must be the same, and every sandbox's start probe must have
imported everything it promises. Then the probe must refuse what it cannot offer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import numpy
import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT = os.geteuid() == 0
BWRAP = shutil.which("bwrap") is not None

def program(source: str, test: str) -> tuple[str, str]:
    return textwrap.dedent(source).strip() + "\n", textwrap.dedent(test).strip() + "\n"


# (program, test): the test runs after the program, in its namespace.
PROGRAMS = {
    "the issue's imports": program("""
        import threading, logging, queue, concurrent.futures, dataclasses, subprocess, numpy
        host = 'bücher.example'.encode('idna')
    """, """
        assert host == b'xn--bcher-kva.example' and numpy.arange(4).sum() == 6
    """),
    "threads, queues and a pool": program("""
        import threading, queue, concurrent.futures
        def work(items):
            out = queue.Queue()
            threads = [threading.Thread(target=lambda i=i: out.put(i * i)) for i in items]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                doubled = list(pool.map(lambda i: 2 * i, items))
            return sorted(out.get() for _ in items), doubled
    """, """
        assert work([1, 2, 3]) == ([1, 4, 9], [2, 4, 6])
    """),
    "logging and dataclasses": program("""
        import dataclasses, enum, io, logging, typing
        class Color(enum.Enum):
            RED = 1
        @dataclasses.dataclass(order=True)
        class Item:
            rank: int
            tags: typing.List[str] = dataclasses.field(default_factory=list)
        stream = io.StringIO()
        log = logging.getLogger('probe')
        log.addHandler(logging.StreamHandler(stream))
        log.warning('%s', Color.RED.name)
    """, """
        assert sorted([Item(2), Item(1)])[0].rank == 1 and stream.getvalue() == 'RED\\n'
        assert Item.__annotations__['rank'] is int  # evaluated: no __future__ of the worker's
    """),
    "numbers": program("""
        import bisect, collections, decimal, fractions, functools, heapq, itertools, math
        import random, statistics
        @functools.lru_cache(None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        rng = random.Random(7)
    """, """
        assert fib(50) == 12586269025 and heapq.nsmallest(2, [5, 1, 3]) == [1, 3]
        assert fractions.Fraction(1, 3) + fractions.Fraction(1, 6) == fractions.Fraction(1, 2)
        assert decimal.Decimal('0.1') * 3 == decimal.Decimal('0.3')
        assert statistics.median([3, 1, 2]) == 2 and math.comb(5, 2) == 10
        assert collections.Counter('abca').most_common(1) == [('a', 2)]
        assert list(itertools.accumulate([1, 2, 3])) == [1, 3, 6] and bisect.bisect([1, 3], 2) == 1
        assert rng.randint(0, 10**6) == random.Random(7).randint(0, 10**6)
    """),
    "text and data formats": program("""
        import base64, bz2, csv, difflib, gzip, hashlib, html, io, json, lzma, pickle, re
        import string, textwrap, unicodedata, zlib
        import xml.etree.ElementTree as ET, urllib.parse, email.message, sqlite3
        rows = list(csv.reader(io.StringIO('a,b\\n1,2\\n')))
        db = sqlite3.connect(':memory:')
        db.execute('create table t (x)')
        db.execute('insert into t values (42)')
    """, """
        assert rows == [['a', 'b'], ['1', '2']] and db.execute('select x from t').fetchone() == (42,)
        blob = b'payload' * 10
        for codec in (zlib, gzip, bz2, lzma):
            assert codec.decompress(codec.compress(blob)) == blob
        assert json.loads(json.dumps({'a': [1]})) == {'a': [1]}
        assert pickle.loads(pickle.dumps(rows)) == rows
        assert ET.fromstring('<a><b>x</b></a>').find('b').text == 'x'
        assert urllib.parse.urlparse('https://x.org/p?q=1').query == 'q=1'
        assert hashlib.sha256(b'').hexdigest().startswith('e3b0')
        assert base64.b64encode(b'x') == b'eA==' and html.escape('<') == '&lt;'
        assert unicodedata.name('é') == 'LATIN SMALL LETTER E WITH ACUTE'
        assert difflib.SequenceMatcher(None, 'abc', 'abd').ratio() > 0.6
        assert re.sub(r'\\s+', ' ', textwrap.dedent('  a\\n  b')) == 'a b'
    """),
    "asyncio, subprocess and files": program("""
        import asyncio, os, pathlib, subprocess, sys, tempfile
        async def twice(x):
            await asyncio.sleep(0)
            return 2 * x
        child = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True,
                               text=True)
    """, """
        assert asyncio.run(twice(21)) == 42 and child.stdout == '42\\n', child.stderr
        with tempfile.TemporaryDirectory() as d:
            pathlib.Path(d, 'f').write_text('x')
            assert pathlib.Path(d, 'f').read_text() == 'x'
    """),
    "numpy": program("""
        import numpy as np
        def solve(a, b):
            return np.linalg.solve(np.array(a, float), np.array(b, float))
    """, """
        assert np.allclose(solve([[2, 0], [0, 4]], [2, 8]), [1, 2])
        assert np.fft.fft(np.ones(4))[0] == 4 and np.random.default_rng(0).random(2).shape == (2,)
        assert np.polynomial.polynomial.polyval(2, [1, 1]) == 3
        assert np.ma.masked_array([1], [1]).count() == 0
    """),
    "a wrong answer": program("""
        import heapq
        def smallest(xs):
            return heapq.nlargest(1, xs)[0]
    """, """
        assert smallest([3, 1, 2]) == 1
    """),
    "a missing package": program("import surely_not_a_package_anywhere", "pass"),
    "a package the harness has": program("import pytest", "pass"),
}

RUNNER = textwrap.dedent('''
    import json, os, sys
    from codeharness.core.errors import HarnessError
    from codeharness.sandbox.jobs import Job, TestCase

    spec = json.loads(open(sys.argv[1]).read())
    programs, results = spec["programs"], {}

    def in_process(program, test):
        namespace = {"__name__": "__program__"}
        try:
            exec(compile(program, "<program>", "exec"), namespace)
        except BaseException as exc:
            return "failed" if isinstance(exc, AssertionError) else "error"
        try:
            exec(compile(test, "<test>", "exec"), dict(namespace))
        except BaseException as exc:
            return "failed" if isinstance(exc, AssertionError) else "error"
        return "passed"

    def open_box(name):
        if name == "docker":
            from codeharness.sandbox.docker import DockerSandbox
            return DockerSandbox(workers=1)
        from codeharness.sandbox.local import LocalSandbox
        return LocalSandbox(workers=1, bwrap=name == "local-bwrap")

    for name in spec["sandboxes"]:
        jobs = [Job(f"{key}#{round}", program, [TestCase("t", test, timeout_s=30)],
                    program_timeout_s=30)
                for round in (1, 2) for key, (program, test) in programs.items()]
        try:
            with open_box(name) as box:
                if name == "local-degraded":  # the environment breaks once the sandbox runs
                    os.chmod(spec["degrade"], 0o700)
                verdicts = {o.job_id: [o.verdict.value, o.exception_type, o.message]
                            for o in box.run(jobs)}
                results[name] = {"verdicts": verdicts, "describe": box.describe()}
        except HarnessError as exc:
            results[name] = {"error": str(exc)}
        finally:
            if name == "local-degraded":
                os.chmod(spec["degrade"], 0o755)
    results["in-process"] = {key: in_process(*pair) for key, pair in programs.items()}
    with open(sys.argv[2], "w") as out:
        json.dump(results, out)
''')


def link_tree(source: Path, target: Path) -> None:
    """Hard links where the filesystem allows (fast), copies where not."""
    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.copytree(source, target, symlinks=True, copy_function=link)


def make_environment(folder: Path, base_prefix: str) -> Path:
    """A virtual environment in folder over the interpreter installed at base_prefix, with
    numpy in its package folder and the harness reachable through a .pth file; its python."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    executable = Path(base_prefix) / Path(os.path.realpath(sys.executable)).relative_to(
        os.path.realpath(sys.base_prefix))
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(executable)
    (folder / "pyvenv.cfg").write_text(f"home = {executable.parent}\n"
                                       "include-system-site-packages = false\n")
    packages = folder / "lib" / version / "site-packages"
    packages.mkdir(parents=True)
    here = Path(numpy.__file__).parent
    link_tree(here, packages / "numpy")
    if (here.parent / "numpy.libs").is_dir():
        link_tree(here.parent / "numpy.libs", packages / "numpy.libs")
    (packages / "zz_harness.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    return folder / "bin" / "python"


LOCAL_SANDBOXES = ["local-bwrap", "local"] if BWRAP else ["local"]


def run_harness(python: Path, folder: Path, sandbox_names: list[str], wrap=(), **more) -> dict:
    spec, result, runner = folder / "spec.json", folder / "result.json", folder / "runner.py"
    spec.write_text(json.dumps({"programs": PROGRAMS, "sandboxes": sandbox_names, **more}))
    runner.write_text(RUNNER)
    command = [*wrap, str(python), str(runner), str(spec), str(result)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=folder,
                          timeout=600,
                          env={**os.environ, "CODEHARNESS_PROGRESS": "0"})
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(result.read_text())


def run_layouts(tmp_path_factory, sandbox_names: list[str], local: bool) -> dict:
    """Each layout's harness run through the sandboxes, by layout; with local, also the runs
    where the probe must refuse (no mount namespaces, an environment that breaks)."""
    made, results = [], {}
    try:
        # A virtual environment under /tmp (in a folder everyone may enter).
        tmp = Path(tempfile.mkdtemp(prefix="codeharness-env-", dir="/tmp"))
        made.append(tmp)
        tmp.chmod(0o755)
        python = make_environment(tmp / "venv", sys.base_prefix)
        results["venv under /tmp"] = run_harness(
            python, tmp, sandbox_names + ["local-degraded"] * (ROOT and local), degrade=str(tmp))
        # One inside the repository.
        repo = REPO / "build" / f"env-test-{os.getpid()}"
        made.append(repo)
        python = make_environment(repo / ".venv", sys.base_prefix)
        results["venv in the repository"] = run_harness(python, repo, sandbox_names)
        # The interpreter itself under a private home: this one's installation, mounted there
        # in a mount namespace of the harness's own, with the environment beside it.
        if ROOT:
            home = Path(tempfile.mkdtemp(prefix="codeharness-home-", dir="/tmp"))  # mode 0700
            made.append(home)
            (home / "python").mkdir()
            python = make_environment(home / "project" / ".venv", str(home / "python"))
            mount = f"mount --bind {sys.base_prefix} {home / 'python'} && exec \"$@\""
            in_home = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh"]
            results["interpreter under a 0700 home"] = run_harness(
                python, home, sandbox_names, wrap=in_home)
            results["interpreter under a 0700 home"]["home"] = str(home)
            if local:  # root without the right to make mount namespaces (many containers)
                results["... and no mount namespaces"] = run_harness(
                    python, home, ["local"], wrap=[*in_home, "setpriv", "--bounding-set",
                                                    "-sys_admin"])
                results["... and no mount namespaces"]["home"] = str(home)
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        with_build = REPO / "build"
        if with_build.is_dir() and not any(with_build.iterdir()):
            with_build.rmdir()
    return results


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """The local sandbox's runs, made once for all the tests here."""
    return run_layouts(tmp_path_factory, LOCAL_SANDBOXES, local=True)


@pytest.fixture(scope="module")
def docker_layouts(tmp_path_factory):
    """The Docker sandbox's runs (on the image `codeharness sandbox build --offline` made)."""
    return run_layouts(tmp_path_factory, ["docker"], local=False)


SANDBOXES = ["local", pytest.param("local-bwrap", marks=pytest.mark.skipif(
                 not BWRAP, reason="bubblewrap (Debian package bubblewrap) is not installed")),
             pytest.param("docker", marks=pytest.mark.docker)]


def runs_of(request, sandbox: str) -> dict:
    return request.getfixturevalue("docker_layouts" if sandbox == "docker" else "layouts")


LAYOUTS = ["venv under /tmp", "venv in the repository",
           pytest.param("interpreter under a 0700 home", marks=pytest.mark.skipif(
               not ROOT, reason="only root changes user and makes the mount"))]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_programs_get_the_verdicts_they_get_in_process(request, layout, sandbox):
    result = runs_of(request, sandbox)[layout]
    assert "error" not in result[sandbox], result[sandbox].get("error")
    in_process = result["in-process"]
    assert in_process["a wrong answer"] == "failed" and in_process["a missing package"] == "error"
    assert in_process["a package the harness has"] == "passed"
    expected = {f"{key}#{round}": verdict for key, verdict in in_process.items()
                for round in (1, 2)}
    # Programs get the standard library and numpy, not the rest of the harness's packages.
    expected["a package the harness has#1"] = expected["a package the harness has#2"] = "error"
    verdicts = result[sandbox]["verdicts"]
    assert {job: verdicts[job][0] for job in expected} == expected, verdicts


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_start_probe_imported_everything_promised(request, layout, sandbox):
    runs = runs_of(request, sandbox)
    described = runs[layout][sandbox]["describe"]
    probe = described["environment_probe"]
    assert probe["ok"] and probe["full"] and probe["failed"] == {}, probe
    assert probe["imported"] == probe["promised"] > 250
    if sandbox.startswith("local"):
        assert "numpy" not in probe["not_offered"]
    if layout == "interpreter under a 0700 home" and sandbox == "local":
        # Reached through a mount namespace of the workers', not by opening the home.
        assert runs[layout]["home"] in described["python_covered_folders"]


@pytest.mark.skipif(not ROOT, reason="only root changes user and makes mount namespaces")
def test_a_python_the_programs_user_cannot_reach_is_refused_with_why_and_what_to_do(layouts):
    error = layouts["... and no mount namespaces"]["local"]["error"]
    home = layouts["... and no mount namespaces"]["home"]
    assert error.startswith("the local sandbox refuses to start: ")
    assert "logging" in error and "numpy" in error  # which modules
    assert f"cannot enter {home} (mode 0700)" in error  # why
    assert "Operation not permitted" in error
    assert "bubblewrap" in error and "--sandbox docker" in error  # what to do
    assert "\n" not in error


@pytest.mark.skipif(not ROOT, reason="only root changes user")
def test_a_run_stops_when_the_environment_breaks_under_it(layouts):
    """The numpy of a venv under /tmp becomes unreachable while the sandbox runs: the probe
    after the worker's first job stops the run rather than letting errors pass for verdicts."""
    error = layouts["venv under /tmp"]["local-degraded"]["error"]
    assert error.startswith("the local sandbox stopped the run: after 1 job(s)"), error
    assert "numpy" in error


def test_a_sandbox_too_tight_for_threads_refuses_to_start():
    from codeharness.core.errors import HarnessError
    from codeharness.sandbox.local import LocalSandbox

    with pytest.raises(HarnessError, match="refuses to start: .*the threads check fails"):
        LocalSandbox(workers=1, max_processes=1)
