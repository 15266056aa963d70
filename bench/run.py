"""`make bench`: run every benchmark one after another and write what they printed, dated, to bench/RESULTS.md.

`make bench BENCH="dashboard load"` runs only those and keeps the other benchmarks' results; each section of
RESULTS.md says when and where it ran. Each script prints its figures and its ratio last; the summary at the top of
RESULTS.md is those last lines. Whatever RESULTS.md holds from the line NOTES_MARK on (notes written by hand:
before/after comparisons, the machine they were measured on) is kept below the results.
"""

import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
NOTES_MARK = "<!-- Notes written by hand: make bench keeps everything from this line on. -->"
ORDER = [
    *("dashboard", "pages", "api", "list_decryptions", "rotate_keys", "backup", "seed_users", "import_vms", "load"),
    *("terminal_echo", "probes"),
]


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Linux {platform.release()}"


def run(name: str) -> tuple[list[str], float, int]:
    print(f"== bench/{name}.py ==", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(BENCH / f"{name}.py")],
        cwd=BENCH.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip("\n"))
    return lines, time.monotonic() - started, process.wait()


def earlier_results() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The summary rows and sections of RESULTS.md as it is, by benchmark, each section starting with when it ran."""
    if not RESULTS.exists():
        return {}, {}
    text = RESULTS.read_text().split(NOTES_MARK)[0]
    # Files written before sections were dated say it once, at the top.
    written = re.search(r"^Run by `make bench` on (.*?)\. Each", text, flags=re.MULTILINE)
    undated = f"Run on {written.group(1)}." if written else "Run on an earlier date."
    rows = {}
    for line in text.splitlines():
        if match := re.match(r"\| `bench/(\w+)\.py` \|", line):
            rows[match.group(1)] = line
    sections = {}
    for chunk in re.split(r"^## bench/", text, flags=re.MULTILINE)[1:]:
        name, _, body = chunk.partition(".py\n")
        lines = body.strip("\n").splitlines()
        sections[name] = lines if lines and lines[0].startswith("Run on ") else [undated, "", *lines]
    return rows, sections


def main() -> int:
    names = os.environ.get("BENCH", "").split() or ORDER
    unknown = set(names) - set(ORDER)
    if unknown:
        sys.exit(f"Unknown benchmark(s): {', '.join(sorted(unknown))}. Choose from: {', '.join(ORDER)}.")
    rows, sections = earlier_results()
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    notes = previous[previous.index(NOTES_MARK) :] if NOTES_MARK in previous else ""
    results = {name: run(name) for name in names}

    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    for name, (lines, seconds, status) in results.items():
        last = lines[-1] if lines else "(no output)"
        if status:
            last += f" (exit status {status})"
        rows[name] = f"| `bench/{name}.py` | {last.replace('|', '/')} | {seconds:.0f} s |"
        sections[name] = [f"Run on {today}: {machine()}.", "", "```", *lines, "```"]
    report = [
        "# Benchmark results",
        "",
        "Written by `make bench`. Each benchmark's last line is its figure and ratio; each section below says when and",
        'where it ran (`make bench BENCH="..."` reruns only those and keeps the others).',
        "",
        "| benchmark | result | time |",
        "|---|---|---|",
    ]
    shown = [name for name in ORDER if name in rows and name in sections]
    report += [rows[name] for name in shown]
    for name in shown:
        report += ["", f"## bench/{name}.py", "", *sections[name]]
    RESULTS.write_text("\n".join(report) + "\n" + ("\n" + notes if notes else ""))
    print(f"Wrote {RESULTS}")
    return max((status for _lines, _seconds, status in results.values()), default=0)


if __name__ == "__main__":
    sys.exit(main())
