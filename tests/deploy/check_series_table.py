#!/usr/bin/python3
"""The README's series table (metrics.sessions) is the output of bench/series.py: every table
row of bench/results/series.txt appears in README.md as it is, in the same order, and the
README's table has no other rows. Fails when either was edited by hand.

    check_series_table.py REPO_ROOT
"""
import os
import sys


def table_rows(lines, start=0):
    """The `|` rows of the first table at or after line `start`."""
    rows = []
    for line in lines[start:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows


def main():
    root = sys.argv[1]
    with open(os.path.join(root, "bench/results/series.txt"), encoding="utf-8") as f:
        measured = table_rows(f.read().splitlines())
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read().splitlines()
    if not measured:
        print("FAIL: bench/results/series.txt has no table (run sudo bench/series.py)",
              file=sys.stderr)
        return 1
    at = [i for i, line in enumerate(readme) if line == measured[0]]
    if len(at) != 1:
        print(f"FAIL: README.md has the table header of bench/results/series.txt {len(at)} "
              "times, not once", file=sys.stderr)
        return 1
    shown = table_rows(readme, at[0])
    if shown != measured:
        print("FAIL: README.md's series table is not bench/results/series.txt's:", file=sys.stderr)
        for a, b in zip(shown + [""] * len(measured), measured + [""] * len(shown)):
            if a != b:
                print(f"  README: {a!r}\n  bench:  {b!r}", file=sys.stderr)
        return 1
    print(f"README.md's series table is bench/series.py's ({len(measured) - 2} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
