"""`make bench`: run every benchmark one after another and write what they printed, dated, to bench/RESULTS.md.

`make bench BENCH="dashboard load"` runs only those. Each script prints its figures and its ratio last; the
summary at the top of RESULTS.md is those last lines. Whatever RESULTS.md holds from the line NOTES_MARK on (notes
written by hand: before/after comparisons, the machine they were measured on) is kept below the new results.
"""

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NOTES_MARK = "<!-- Notes written by hand: make bench keeps everything from this line on. -->"
ORDER = ["dashboard", "pages", "list_decryptions", "rotate_keys", "seed_users", "load", "terminal_echo"]


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


def main() -> int:
    names = os.environ.get("BENCH", "").split() or ORDER
    unknown = set(names) - set(ORDER)
    if unknown:
        sys.exit(f"Unknown benchmark(s): {', '.join(sorted(unknown))}. Choose from: {', '.join(ORDER)}.")
    results = {name: run(name) for name in names}

    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = [
        "# Benchmark results",
        "",
        f"Run by `make bench` on {today}: {machine()}. Each benchmark's last line is its figure and ratio.",
        "",
        "| benchmark | result | time |",
        "|---|---|---|",
    ]
    for name, (lines, seconds, status) in results.items():
        last = lines[-1] if lines else "(no output)"
        if status:
            last += f" (exit status {status})"
        report.append(f"| `bench/{name}.py` | {last.replace('|', '/')} | {seconds:.0f} s |")
    for name, (lines, _seconds, _status) in results.items():
        report += ["", f"## bench/{name}.py", "", "```", *lines, "```"]
    results_file = BENCH / "RESULTS.md"
    previous = results_file.read_text() if results_file.exists() else ""
    notes = previous[previous.index(NOTES_MARK) :] if NOTES_MARK in previous else ""
    results_file.write_text("\n".join(report) + "\n" + ("\n" + notes if notes else ""))
    print(f"Wrote {BENCH / 'RESULTS.md'}")
    return max((status for _lines, _seconds, status in results.values()), default=0)


if __name__ == "__main__":
    sys.exit(main())
