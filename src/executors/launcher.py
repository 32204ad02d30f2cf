"""The launcher, as a small Python program: starts reduction scripts for a LocalExecutor.

It does what launcher.mjs does, in a process a quarter of the size: a Node process is ~40 MB
resident however little it runs, this one ~12 MB (run as `python3 -I -S`, with no module beyond
os, json, select, signal, errno, time, subprocess and ctypes).
python3 is on every facility node, since the scripts are Python; without it the executor uses
launcher.mjs. Both speak the same protocol, one JSON object per line on stdin and stdout (see
launcher.mjs for the messages).

Its duties: each script runs in a session of its own (its process group) with the job's token in
its environment; with a log limit the script writes into pipes and this process keeps the head
and tail of each stream within the limit (as capped-log.mjs does), without one straight into the
files; when the worker is gone (stdin closes, or this process is re-parented) every job's group
and every process carrying a job's token is killed.
"""

import errno
import json
import os
import select
import signal
import subprocess
import sys
import time

TOKEN_VARIABLE = "AUTOREDUCE_JOB_TOKEN"
# Truncated at start, then append-only: the executor appends its own `killed: ...` line, which a
# script writing at its own file offset would otherwise overwrite.
LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# How long `finish` waits for the pipes to drain before closing the logs anyway.
DRAIN_SECONDS = 2.0
# How long the shutdown keeps looking for token holders.
SHUTDOWN_SECONDS = 5.0
READ_BYTES = 65536


class CappedLog:
    """A log file that keeps the first half of its limit (head) and the last half (tail, a ring
    in the file right after the head), put in order with a cut line when closed. The same file
    layout and cut line as capped-log.mjs; a failed write stops the writing and is kept."""

    def __init__(self, path, limit_bytes):
        self.path = path
        self.limit = max(2, int(limit_bytes))
        self.head_bytes = self.limit // 2
        self.tail_bytes = self.limit - self.head_bytes
        self.total = 0
        self.head = 0
        self.ring_at = 0
        self.cut = None
        self.problem = None
        self.problem_code = None
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def cut_bytes(self):
        return self.cut if self.cut is not None else max(0, self.total - self.limit)

    def write(self, chunk):
        self.total += len(chunk)
        if self.fd is None or self.problem is not None:
            return
        try:
            rest = memoryview(chunk)
            if self.head < self.head_bytes:
                n = min(len(rest), self.head_bytes - self.head)
                self._write_at(rest[:n], self.head)
                self.head += n
                rest = rest[n:]
            if len(rest) > self.tail_bytes:
                rest = rest[len(rest) - self.tail_bytes :]
            while len(rest) > 0:
                n = min(len(rest), self.tail_bytes - self.ring_at)
                self._write_at(rest[:n], self.head_bytes + self.ring_at)
                self.ring_at = (self.ring_at + n) % self.tail_bytes
                rest = rest[n:]
        except OSError as e:
            self._fail(e)

    def close(self):
        if self.fd is None:
            return
        try:
            if self.problem is None and self.cut_bytes() > 0:
                self._reorder()
        except OSError as e:
            self._fail(e)
        finally:
            os.close(self.fd)
            self.fd = None

    def _reorder(self):
        ring = self._read_at(self.tail_bytes, self.head_bytes)
        # The oldest byte of the ring is at ring_at; the tail starts at the next whole line.
        ordered = ring[self.ring_at :] + ring[: self.ring_at]
        newline = ordered.find(b"\n")
        tail = ordered[newline + 1 :] if 0 <= newline < len(ordered) - 1 else ordered
        self.cut = self.total - self.head - len(tail)
        ends_line = self.head == 0 or self._read_at(1, self.head - 1) == b"\n"
        marker = (
            ("" if ends_line else "\n")
            + "[autoreduce: %d bytes cut here: the log is limited to %d bytes, head and tail kept]\n"
            % (self.cut, self.limit)
        ).encode()
        self._write_at(marker, self.head)
        self._write_at(tail, self.head + len(marker))
        os.ftruncate(self.fd, self.head + len(marker) + len(tail))

    def _fail(self, e):
        # Worded as Node words it ("ENOSPC: no space left on device, write"), as launcher.mjs reports it.
        code = errno.errorcode.get(e.errno) if e.errno else None
        self.problem = "%s: %s, write" % (code, (e.strerror or str(e)).lower()) if code else str(e)
        self.problem_code = code

    def _write_at(self, data, position):
        done = 0
        while done < len(data):
            done += os.pwrite(self.fd, data[done:], position + done)

    def _read_at(self, size, position):
        reader = os.open(self.path, os.O_RDONLY)
        try:
            parts = []
            got = 0
            while got < size:
                part = os.pread(reader, size - got, position + got)
                if not part:
                    break
                parts.append(part)
                got += len(part)
            return b"".join(parts)
        finally:
            os.close(reader)


class Job:
    def __init__(self, job_id, token):
        self.id = job_id
        self.token = token
        self.pid = None
        self.process = None  # its Popen, until reaped
        self.logs = None  # [CappedLog, CappedLog] with a log limit
        self.streams = {}  # pipe read fd -> index into logs
        self.finishing = False
        self.drain_deadline = None


jobs = {}  # job id -> Job
by_pid = {}  # root pid -> Job, until reaped
shutting_down = False


def send(message):
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
    try:
        while data:
            data = data[os.write(1, data) :]
    except OSError:
        # The worker is gone: stdin will close too; nothing to tell it.
        pass


def spawn(command, args, cwd, env, stdout_fd, stderr_fd):
    """Starts `command` in a session of its own; returns its Popen, or raises OSError.

    subprocess starts it with vfork where it can (Python 3.10 and later): 0.4 ms of this
    process's CPU per job against 2.3 ms for os.fork, which copies the page tables. Exits are
    read with waitpid(-1) in `reap`; each Popen is kept until then and given its exit status, so
    subprocess never waits for a child itself.
    """
    return subprocess.Popen(
        [command] + list(args),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout_fd,
        stderr=stderr_fd,
        start_new_session=True,
    )


def start(message):
    job_id = message["id"]
    job = Job(job_id, message["token"])
    jobs[job_id] = job
    command = message["command"]
    to_close = []
    try:
        env = dict(message.get("env") or {})
        env[TOKEN_VARIABLE] = job.token
        limit = message.get("logLimitBytes")
        if limit is None:
            out = os.open(message["stdoutFile"], LOG_FLAGS, 0o644)
            to_close.append(out)
            err = os.open(message["stderrFile"], LOG_FLAGS, 0o644)
            to_close.append(err)
        else:
            job.logs = [CappedLog(message["stdoutFile"], limit)]
            job.logs.append(CappedLog(message["stderrFile"], limit))
            out_r, out = os.pipe()
            err_r, err = os.pipe()
            to_close += [out, err]
            job.streams = {out_r: 0, err_r: 1}
        job.process = spawn(command, message.get("args") or [], message["cwd"], env, out, err)
        job.pid = job.process.pid
        by_pid[job.pid] = job
        send({"type": "started", "id": job_id, "pid": job.pid})
    except (OSError, subprocess.SubprocessError, KeyError, TypeError, ValueError) as e:
        for fd in job.streams:
            os.close(fd)
        job.streams = {}
        close_logs(job)
        del jobs[job_id]
        code = errno.errorcode.get(getattr(e, "errno", None) or 0)
        reason = "spawn %s %s" % (command, code) if code else str(e)
        send({"type": "failed", "id": job_id, "error": reason, "code": code})
    finally:
        for fd in to_close:
            os.close(fd)


def finish(job_id):
    """The executor has ended the job's tree: close its logs once the pipes are drained."""
    job = jobs.get(job_id)
    if job is None:
        send({"type": "closed", "id": job_id, "cuts": [], "problem": None, "problemCode": None})
        return
    job.finishing = True
    # Something outside the tree may still hold a pipe: do not wait for it past the deadline.
    job.drain_deadline = time.monotonic() + DRAIN_SECONDS
    maybe_close(job)


def maybe_close(job):
    if job.finishing and not job.streams:
        close_job(job)


def close_job(job):
    for fd in list(job.streams):
        os.close(fd)
    job.streams = {}
    jobs.pop(job.id, None)
    close_logs(job)
    logs = job.logs or []
    failed = next((log for log in logs if log.problem is not None), None)
    send(
        {
            "type": "closed",
            "id": job.id,
            "cuts": [
                {"stream": "stdout" if i == 0 else "stderr", "cutBytes": log.cut_bytes()}
                for i, log in enumerate(logs)
            ],
            "problem": "cannot write the job's log %s: %s" % (failed.path, failed.problem) if failed else None,
            "problemCode": failed.problem_code if failed else None,
        }
    )


def close_logs(job):
    for log in job.logs or []:
        log.close()


def read_stream(job, fd):
    try:
        chunk = os.read(fd, READ_BYTES)
    except OSError:
        chunk = b""
    if chunk:
        job.logs[job.streams[fd]].write(chunk)
        return
    os.close(fd)
    del job.streams[fd]
    maybe_close(job)


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = by_pid.pop(pid, None)
        if job is None:
            continue
        if os.WIFSIGNALED(status):
            code, name = None, signal.Signals(os.WTERMSIG(status)).name
            job.process.returncode = -os.WTERMSIG(status)
        else:
            code, name = os.WEXITSTATUS(status), None
            job.process.returncode = code
        job.process = None
        send({"type": "exit", "id": job.id, "code": code, "signal": name})


def token_holders(tokens):
    """Pids of live processes that carry one of `tokens` in their environment."""
    found = []
    prefix = (TOKEN_VARIABLE + "=").encode()
    wanted = {prefix + token.encode() for token in tokens}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if any(entry in wanted for entry in environ.split(b"\0")):
            found.append(int(name))
    return found


def kill(pid, number):
    try:
        os.kill(pid, number)
    except OSError:
        pass  # already gone


def shutdown():
    """The worker is gone: kill every job it started, group and token holders, until none is left."""
    tokens = {job.token for job in jobs.values()}
    for job in jobs.values():
        if job.pid:
            kill(-job.pid, signal.SIGKILL)
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    while tokens:
        left = token_holders(tokens)
        for pid in left:
            kill(pid, signal.SIGKILL)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    for job in jobs.values():
        close_logs(job)
    os._exit(0)


def handle(line):
    try:
        message = json.loads(line)
    except ValueError:
        return
    if not isinstance(message, dict):
        return
    if message.get("type") == "start":
        start(message)
    elif message.get("type") == "finish":
        finish(message.get("id"))


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Makes this process a child subreaper (Linux 3.4 and later): a job's process whose parent
    dies is re-parented to this process, not to init, so the executor finds every live process of
    its jobs among this process's descendants, a few, instead of reading every process of the
    machine when a job ends. Reaping them is `reap`'s waitpid(-1). False where it cannot be set."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError, ImportError):
        return False


def main():
    parent = os.getppid()
    if become_subreaper():
        # Before any job's "started": the executor reads its lines in order.
        send({"type": "subreaper", "id": 0})
    # SIGCHLD wakes the loop through this pipe; a handler (not SIG_IGN) so that children are not
    # auto-reaped and their exit status can be read.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # The worker decides when scripts stop; signals sent to the worker's process group (Ctrl-C)
    # must not take the launcher down before the worker has handed its jobs back. A handler, not
    # SIG_IGN, which a script would inherit.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: None)
    pending = b""
    while True:
        readers = [0, wake_r]
        for job in jobs.values():
            readers.extend(job.streams)
        now = time.monotonic()
        deadlines = [job.drain_deadline for job in jobs.values() if job.drain_deadline is not None]
        timeout = min([1.0] + [max(0.0, d - now) for d in deadlines])
        try:
            ready, _, _ = select.select(readers, [], [], timeout)
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        # Output first, then exits: a script's last lines are in the pipe before its exit is told.
        for job in list(jobs.values()):
            for fd in list(job.streams):
                if fd in ready and job.id in jobs:
                    read_stream(job, fd)
        reap()
        if 0 in ready:
            chunk = os.read(0, READ_BYTES)
            if not chunk:
                shutdown()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    handle(line)
        now = time.monotonic()
        for job in list(jobs.values()):
            if job.drain_deadline is not None and now >= job.drain_deadline:
                close_job(job)
        # A worker that dies without closing stdin still leaves this process to a new parent.
        if os.getppid() != parent:
            shutdown()


if __name__ == "__main__":
    sys.exit(main())
