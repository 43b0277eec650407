"""DIA grading (issue 19): exact inside the tags, forgiving around them; prompts that mention
programs only in tool mode; tool mode's artefacts, written and compiled in the sandbox, from
which programs compute the answers; the code templates agree with the real interpreters."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest
from codeharness.tasks import dia_templates
from codeharness.tasks.dia import SKIP, TOOLS_NOTE, Dia, artefacts, extract_answer, grade_answer

ANSWER = "<xml>a & b = 3</xml>"


@pytest.mark.parametrize("response", [
    ANSWER, f"{ANSWER}\n", f"{ANSWER}\n\n", f"  {ANSWER}  \n", f"\n\t{ANSWER}\r\n",
    f"```xml\n{ANSWER}\n```\n", f"Here it is:\n```xml\n{ANSWER}\n```",
])
def test_whitespace_around_a_right_answer_never_makes_it_wrong(response):
    assert grade_answer(extract_answer(response), ANSWER, False) == "correct"


@pytest.mark.parametrize("response", [
    "<xml> a & b = 3</xml>", "<xml>a & b = 3 </xml>", "<xml>a & b = 3\n</xml>", "<xml>a &amp; b = 3</xml>",
    "The answer is <xml>a & b = 3</xml>",  # the official evaluator grades an unfenced response whole
])
def test_inside_the_tags_the_comparison_is_exact(response):
    assert grade_answer(extract_answer(response), ANSWER, False) == "wrong"


def test_skip_is_recognised_with_whitespace_around():
    assert grade_answer(f"{SKIP}\n", ANSWER, False) == "skipped"
    assert grade_answer(f"```xml\n{SKIP}\n```\n", ANSWER, False) != "correct"


def test_answers_with_xml_characters_are_asked_and_graded_raw():
    task = Dia(k=3, question_seed=2)
    problems = [p for p in task.load() if p.meta["template_id"] == dia_templates.BY_NAME["url_decode_parameter"].id]
    for problem in problems:
        assert dia_templates.RAW_NOTE in problem.prompt
        raw = problem.meta["solution"]
        assert "&" in raw and "&amp;" not in raw
        assert task.grade(problem, raw + "\n").details["verdict"] == "correct"
        assert task.grade(problem, raw.replace("&", "&amp;")).details["verdict"] == "wrong"


def test_prompts_mention_programs_only_in_tool_mode():
    problems = Dia(k=1).load()
    assert "program" not in dia_templates.GENERAL_PROMPT
    for problem in problems:
        text = Dia().build_prompt(problem, "chat").messages[1]["content"]
        assert TOOLS_NOTE.strip() not in text and "```python" not in text and "running a program" not in text
        assert "Python program in a ```python" in Dia(tools=True).build_prompt(problem, "chat").messages[1]["content"]
    with_files = next(p for p in problems if artefacts(p.prompt))
    assert "working folder" in Dia(tools=True).build_prompt(with_files, "chat").messages[1]["content"]
    assert "working folder" not in Dia(tools=True).build_prompt(problems[0], "chat").messages[1]["content"]


def test_every_file_template_carries_its_artefacts_in_the_text():
    for template in dia_templates.TEMPLATES:
        question = template.question(3, 1)
        parsed = artefacts(dia_templates.describe(question))
        assert parsed == {f.name: f.data for f in question.files}, template.name


# ------------------------------------------------------------------ tool mode in the sandbox

LIST_FILES = """
import hashlib, os
for name in sorted(os.listdir('.')):
    print(name, hashlib.sha256(open(name, 'rb').read()).hexdigest())
"""

# Programs that compute the answer from the artefacts in their working folder, as a model
# with tools would; each prints <xml>answer</xml>.
SOLVERS = {
    "gzip_log_bytes_for_path": """
import gzip, re
target = re.search(r"the path (\\S+) exactly", QUESTION).group(1)
total = 0
for line in gzip.open('access.log.gz', 'rt'):
    m = re.search(r'"\\S+ (.*) HTTP/1.1" (\\d+) (\\d+)$', line)
    if m.group(1) == target and m.group(2) == '200':
        total += int(m.group(3))
print(f"<xml>{total}</xml>")
""",
    "zip_find_flag": """
import re, zipfile
z = zipfile.ZipFile('dump.zip')
print('<xml>' + [m for n in z.namelist() for m in re.findall(r'FLAG\\{[^}]*\\}', z.read(n).decode())][0] + '</xml>')
""",
    "zip_password": """
import re, zipfile
z = zipfile.ZipFile('vault.zip')
for word in re.search(r'these passwords: (.*?)\\.', QUESTION).group(1).split(', '):
    try:
        print('<xml>' + z.read('secret.txt', pwd=word.encode()).decode().splitlines()[0] + '</xml>')
        break
    except Exception:
        pass
""",
    "tar_csv_total": """
import csv, io, tarfile
with tarfile.open('orders.tar.gz') as t:
    total = sum(int(r['amount']) for m in t.getmembers()
                for r in csv.DictReader(io.StringIO(t.extractfile(m).read().decode())) if r['status'] == 'paid')
print(f'<xml>{total}</xml>')
""",
    "png_text_chunk": """
import struct
data, pos = open('picture.png', 'rb').read(), 8
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'tEXt' and body.startswith(b'Secret\\0'):
        print('<xml>' + body[7:].decode() + '</xml>')
    pos += 12 + n
""",
    "png_lsb_message": """
import struct, zlib
data, pos, idat = open('hidden.png', 'rb').read(), 8, b''
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'IHDR':
        width, height = struct.unpack('>II', data[pos + 8:pos + 16])
    if kind == b'IDAT':
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
pixels = b''.join(raw[r * (width + 1) + 1:(r + 1) * (width + 1)] for r in range(height))
out = bytearray()
for i in range(0, len(pixels), 8):
    byte = int(''.join(str(p & 1) for p in pixels[i:i + 8]), 2)
    if byte == 0:
        break
    out.append(byte)
print('<xml>' + out.decode() + '</xml>')
""",
    "pdf_hidden_text": """
import re, zlib
pdf = open('report.pdf', 'rb').read()
content = zlib.decompress(re.search(rb'stream\\n(.*?)\\nendstream', pdf, re.S).group(1)).decode('latin-1')
print('<xml>' + re.search(r'1 1 1 rg [\\d ]+Td \\((.*?)\\) Tj', content).group(1) + '</xml>')
""",
    "pcap_ftp_password": """
data, pos = open('ftp.pcap', 'rb').read(), 24
while pos < len(data):
    n = int.from_bytes(data[pos + 8:pos + 12], 'little')
    frame = data[pos + 16:pos + 16 + n]
    ip = frame[14:]
    tcp = ip[(ip[0] & 15) * 4:]
    payload = tcp[(tcp[12] >> 4) * 4:]
    if payload.startswith(b'PASS '):
        print('<xml>' + payload[5:].decode().strip() + '</xml>')
    pos += 16 + n
""",
    "c_program_output": """
import subprocess
print('<xml>' + subprocess.run(['./mix'], capture_output=True, text=True).stdout.strip() + '</xml>')
""",
    "c_rand_output": """
import subprocess
print('<xml>' + subprocess.run(['./lucky'], capture_output=True, text=True).stdout.strip() + '</xml>')
""",
    "crackme_key": """
import subprocess
print(subprocess.run(['./crackme', ANSWER], capture_output=True, text=True).stdout.strip())
""",
    "invert_mixer": """
import re, subprocess
target = re.search(r'print (\\d+)\\?', QUESTION).group(1)
assert subprocess.run(['./mixer', ANSWER], capture_output=True, text=True).stdout.strip() == target
print(f'<xml>{ANSWER}</xml>')
""",
}
COMPILED = {"c_program_output", "c_rand_output", "crackme_key", "invert_mixer"}


def _job(task, problem, program):
    return task.build_job(problem, program, problem.id)


@pytest.fixture(scope="module")
def tool_problems():
    task = Dia(k=2, question_seed=5, tools=True)
    return task, task.load()


def test_tool_mode_writes_every_artefact_into_the_working_folder(local_sandbox, tool_problems):
    task, problems = tool_problems
    with_files = [p for p in problems if artefacts(p.prompt)]
    assert len({p.meta["template_id"] for p in with_files}) == sum(t.files for t in dia_templates.TEMPLATES)
    outcomes = {o.job_id: o for o in local_sandbox.run([_job(task, p, LIST_FILES) for p in with_files])}
    for problem in with_files:
        outcome = outcomes[problem.id]
        listed = dict(line.split() for line in outcome.stdout.splitlines())
        for name, data in artefacts(problem.prompt).items():
            assert listed[name] == hashlib.sha256(data).hexdigest(), (problem.id, name)
        assert outcome.stdout and not outcome.stderr.strip(), (problem.id, outcome.stderr)


def test_programs_compute_the_answers_from_the_artefacts(local_sandbox, tool_problems):
    """The archives, images, documents and captures yield the stored answers to programs that
    read them; where the machine has a C compiler, the sandbox compiles the C sources and the
    compiled programs agree with the generator's emulation (glibc's rand, 32-bit wraparound)."""
    task, problems = tool_problems
    by_id = {t.id: t.name for t in dia_templates.TEMPLATES}
    solvers = {name: program for name, program in SOLVERS.items()
               if name not in COMPILED or shutil.which("gcc") or shutil.which("cc")}
    chosen = [p for p in problems if by_id[p.meta["template_id"]] in solvers]
    assert {by_id[p.meta["template_id"]] for p in chosen} == set(solvers)
    jobs = []
    for problem in chosen:
        answer = problem.meta["solution"][len("<xml>"):-len("</xml>")]
        setup = f"QUESTION = {problem.prompt!r}\nANSWER = {answer!r}\n"
        jobs.append(_job(task, problem, setup + solvers[by_id[problem.meta["template_id"]]]))
    outcomes = {o.job_id: o for o in local_sandbox.run(jobs)}
    for problem in chosen:
        outcome, name = outcomes[problem.id], by_id[problem.meta["template_id"]]
        if name == "crackme_key":
            assert outcome.stdout.strip() == "ACCESS GRANTED", (problem.id, outcome.stderr)
            continue
        verdict = task.judge(problem, outcome).details["verdict"]
        assert verdict == "correct", (name, problem.id, outcome.stdout, outcome.stderr[-500:])


# ------------------------------------------------------------------ the real interpreters


def _run(command, source, *args):
    return subprocess.run([*command, *args], input=source, capture_output=True, text=True, timeout=30).stdout


@pytest.mark.parametrize("name, command, extract", [
    ("bash_output", ["bash", "-s"], lambda q: q.description.split(":\n", 1)[1]),
    ("perl_string", ["perl"], lambda q: q.description.split(":\n", 1)[1]),
    ("javascript_password", ["node"], lambda q: q.description.split(":\n", 1)[1]
     + f"\nconsole.log(check({q.answer!r}));\n"),
    ("js_obfuscation", ["node"], lambda q: q.description.split("):\n", 1)[1]),
])
def test_script_templates_agree_with_the_real_interpreter(name, command, extract):
    if not shutil.which(command[0]):
        pytest.skip(f"{command[0]} is not installed")
    template = dia_templates.BY_NAME[name]
    for instance in range(1, 6):
        question = template.question(9, instance)
        output = _run(command, extract(question)).strip()
        assert output == ("true" if name == "javascript_password" else question.answer), (name, instance)


def test_cli_lists_the_templates_with_the_rule_inputs():
    from codeharness.cli.dia import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["templates", "--level", "hard"])
    assert result.exit_code == 0, result.output
    hard = [t for t in dia_templates.TEMPLATES if t.level == "hard"]
    assert f"{len(hard)} templates." in result.output
    assert all(t.name in result.output for t in hard)
