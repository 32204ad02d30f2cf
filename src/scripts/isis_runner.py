"""Run an ISIS-style reduce.py the way the ISIS autoreduction service does.

Usage:
    python3 isis_runner.py <reduce.py> <input_file> <output_dir> <vars_dir> <result_json>

What it does, for instrument scientists reading this:
  * Your reduce.py does `import reduce_vars as web_var` and reads
    `web_var.standard_vars[...]` / `web_var.advanced_vars[...]`. The values
    chosen for this run are in a generated reduce_vars.py in <vars_dir>; that
    module is the one your script sees, NOT the reduce_vars.py beside reduce.py.
  * Other modules beside reduce.py (your helpers) still import normally.
  * The working directory is <output_dir>, and main() receives it with a
    trailing "/".
  * main(input_file, output_dir) may return None, a directory path, or a list
    of directory paths into which the output should also be copied.
  * Your prints and tracebacks go to the job's log as usual.

Result: a JSON file at <result_json>, written atomically:
    {"ok": true, "additional_output_dirs": ["/extra/dir", ...]}
    {"ok": false, "error": "ValueError: bad"}
Exit codes: 0 success, 1 reduction failed, 2 runner misuse, 3 no main().
Standard library only; Python 3.8+.
"""
import importlib.util
import json
import os
import sys
import traceback
import types


def flush_output():
    """Push anything the script printed out to the log files before we leave."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def finish(result_path, result, exit_code):
    """Write the result JSON atomically (temp file + rename) and exit."""
    flush_output()
    os.makedirs(os.path.dirname(result_path) or ".", exist_ok=True)
    tmp_path = "{}.tmp-{}".format(result_path, os.getpid())
    with open(tmp_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp_path, result_path)
    sys.exit(exit_code)


def absolute(path):
    """Make a path absolute (we change directory later) without otherwise altering it."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def load_module(name, path):
    """Import the Python file at `path` as module `name`, with __file__ set to it."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load {} from {}".format(name, path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def additional_dirs(returned):
    """Normalise what main() returned into a list of directory paths."""
    if returned is None:
        return []
    if isinstance(returned, str):
        return [returned]
    if isinstance(returned, (list, tuple)) and all(isinstance(d, str) for d in returned):
        return list(returned)
    raise TypeError("main() returned {!r}; expected None, a path or a list of paths".format(returned))


NO_MAIN = object()  # run()'s answer when reduce.py has no main()


def failure(error, exit_code):
    """A failed result; the reason also goes to stderr so it shows in the log."""
    sys.stderr.write("isis_runner: " + error + "\n")
    return {"ok": False, "error": error}, exit_code


def run(script_path, input_file, output_dir, vars_dir):
    """Load reduce.py with the generated reduce_vars and call its main(); returns main()'s value."""
    sys.dont_write_bytecode = True  # leave no __pycache__ in the instrument's script folder
    # The generated reduce_vars.py must win: vars_dir first, then reduce.py's own
    # folder so that the scientist's helper modules still import.
    sys.path[:0] = [vars_dir, os.path.dirname(script_path)]
    # Import the generated module explicitly and register it, so that
    # `import reduce_vars` anywhere finds it already loaded.
    generated = load_module("reduce_vars", os.path.join(vars_dir, "reduce_vars.py"))
    os.makedirs(output_dir, exist_ok=True)
    os.chdir(output_dir)
    script = load_module("reduce_script", script_path)
    # As ISIS's own runner did: if the script holds a reduce_vars module under
    # either usual name, make sure it is the generated one.
    for name in ("web_var", "reduce_vars"):
        if isinstance(getattr(script, name, None), types.ModuleType):
            setattr(script, name, generated)

    main = getattr(script, "main", None)
    if not callable(main):
        return NO_MAIN
    return main(input_file, output_dir)


def outcome(script_path, input_file, output_dir, vars_dir):
    """Run the reduction; returns (result dict, exit code). Never raises."""
    try:
        returned = run(script_path, input_file, output_dir, vars_dir)
        if returned is NO_MAIN:
            return failure("reduce.py defines no main(input_file, output_dir)", 3)
        return {"ok": True, "additional_output_dirs": additional_dirs(returned)}, 0
    except SystemExit as stop:
        # The script called sys.exit(): 0 (or None) is success, anything else failure.
        if stop.code in (0, None):
            return {"ok": True, "additional_output_dirs": []}, 0
        return failure("reduce.py called sys.exit({})".format(stop.code), 1)
    except BaseException as exc:  # report every failure, including Ctrl-C
        traceback.print_exc()  # the full traceback, exactly as Python prints it
        message = str(exc)
        error = type(exc).__name__ + (": " + message if message else "")
        return {"ok": False, "error": error}, 1


def entry(argv):
    if len(argv) != 6:
        sys.stderr.write(__doc__)
        sys.exit(2)
    script_path, input_file, output_dir, vars_dir, result_path = (absolute(a) for a in argv[1:])
    if not output_dir.endswith("/"):
        output_dir += "/"  # ISIS passes the output directory with a trailing slash
    sys.argv = [script_path, input_file, output_dir]  # what the script would see if run by hand
    if os.path.isfile(os.path.join(vars_dir, "reduce_vars.py")):
        result, code = outcome(script_path, input_file, output_dir, vars_dir)
    else:
        result, code = failure("no generated reduce_vars.py in " + vars_dir, 2)
    finish(result_path, result, code)


if __name__ == "__main__":
    entry(sys.argv)
