"""Runs an SNS-convention reduction script so that it sees the generated variables.

    python3 sns_runner.py <reduce_INST.py> <vars_dir> <data_file> <output_dir>/

Python puts a script's own folder first on sys.path, so a reduce_vars.py lying beside the
script would win over the values autoreduce chose for this run. This runner puts the folder
with the generated reduce_vars.py first, then the script's own folder (so its helper modules
still import), and runs the script as __main__ with the usual arguments: to the script,
nothing else changes (sys.argv, __file__ and the exit code are as if it were run directly).
"""
import os
import runpy
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: sns_runner.py <script> <vars_dir> [script arguments...]\n")
        return 2
    script = os.path.abspath(sys.argv[1])
    vars_dir = os.path.abspath(sys.argv[2])
    sys.argv = [script] + sys.argv[3:]
    sys.path[0:1] = [vars_dir, os.path.dirname(script)]
    sys.dont_write_bytecode = True
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
