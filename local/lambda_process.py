"""Execution environments as processes of their own, the way Lambda runs them: `FunctionProcesses`,
`ProcessEnvironment`.

For each function the parent (`local.runtime`, `processes=True`) starts one *template* process, `python -m
local.lambda_process`, in a session of its own. It sets its whole `os.environ` to the function's environment, installs
the function's IAM check and the AWS call counter, imports the handler once (the init), and then forks one process per
execution environment the runtime asks for: each environment is a copy of the initialised process (copy-on-write, a
fork instead of an import) and runs one invocation at a time. Nothing a handler keeps at module or class level (a
Powertools resolver's current event, a `Logger`'s appended keys, a `BatchProcessor`, the boto3 clients) is shared with
another environment, and the functions run on every core instead of behind one interpreter lock.

What crosses the process boundary, over socket pairs (`multiprocessing.connection`: framed, pickled):
- to the template, the `Init`: the function, its complete environment, `sys.path`, and (when the stack checks IAM)
  the function's role, so every AWS call of its processes is checked against it (`local.iam.IamEnforcer`, for that
  one function); back, one socket per new environment (`socket.send_fds`) and its process id;
- per invocation, the event (JSON text), the request id, the time left and the trace header; back come the outcome,
  the result (JSON text), the AWS calls the invocation made (`service.Operation` -> count, as `bench.aws_calls`
  counts them) and the IAM decisions (calls checked, denials), which the parent records as if made in-process.
The processes' stdout (the function's JSON logs and EMF metrics) is the template's, a pipe the parent copies, line by
line, to its own `sys.stdout` (which `python -m local --function-logs` and the benchmark point at a file); their
stderr is the parent's.

Lifecycle: an environment exits when its socket closes (the parent closed it, or died), the template process when its
own does; the parent closes the environments first, so that the template, which reaps them, outlives them. A handler
that runs past its timeout is stopped (its process killed, as Lambda does), and a process that dies mid-invocation is
Lambda's `Runtime.ExitError`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.iam.enforcer import IamEnforcer

logger = logging.getLogger("signbridge.local.runtime")

_MODULE = "local.lambda_process" if __name__ == "__main__" else __name__
_START_SECONDS = 120.0  # a cold start on a loaded machine
_STOP_SECONDS = 5.0
_TIMEOUT_GRACE_SECONDS = 0.05
_stdout_lock = threading.Lock()


@dataclass(frozen=True)
class IamGrant:
    """What the child needs to check its calls against the function's role (see `local.iam.IamEnforcer`)."""

    permissions: Any  # RolePermissions of this function
    arns: Any  # local.iam.actions.Arns
    function_name: str  # the Lambda function name (the principal's session name)


@dataclass(frozen=True)
class Init:
    function: Any  # local.runtime.LocalFunction (its handler in Lambda syntax)
    environment: Mapping[str, str]  # the child's complete os.environ
    path: tuple[str, ...]  # sys.path
    iam: IamGrant | None = None


@dataclass
class Answer:
    """One invocation, as the child reports it."""

    outcome: str  # success | error | timeout
    result: str = ""  # JSON text
    error_type: str = ""
    error_message: str = ""
    error_trace: str = ""
    aws_calls: Counter[str] = field(default_factory=Counter)
    iam_checked: int = 0
    iam_denials: list[Any] = field(default_factory=list)
    iam_presign_denials: list[Any] = field(default_factory=list)


class FunctionProcesses:
    """The parent's handle on one function's *template* process: started once, it sets the function's environment and
    imports the handler (the init), then forks a new execution environment on request, each a copy of the initialised
    process (copy-on-write: a new environment costs a fork, not an import)."""

    def __init__(self, init: Init, *, on_iam: Callable[[Answer], None] | None = None) -> None:
        self.init = init
        self._on_iam = on_iam
        self._lock = threading.Lock()
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", _MODULE, str(child.fileno())],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            start_new_session=True,
            env={**init.environment, "PYTHONPATH": os.pathsep.join(p for p in init.path if p)},
        )
        child.close()
        self._socket = parent
        self._connection = Connection(os.dup(parent.fileno()))
        # What every environment of the function prints comes through the template's stdout (they inherit it).
        self._copier = threading.Thread(target=self._copy_stdout, name=f"logs-{init.function.name}", daemon=True)
        self._copier.start()
        self.environments: list[ProcessEnvironment] = []
        try:
            self._connection.send(init)
            if not self._connection.poll(_START_SECONDS):
                raise RuntimeError(f"{init.function.name}: the init did not end in {_START_SECONDS:.0f} s")
            ready = self._connection.recv()
        except BaseException:
            self.close()
            raise
        if ready.get("error"):
            self.close()
            raise RuntimeError(f"{init.function.name}: init failed: {ready['error']}")

    def spawn(self, log_stream_name: str) -> ProcessEnvironment:
        """A new execution environment: a fork of the initialised template process."""
        with self._lock:
            self._connection.send({"fork": log_stream_name})
            if not self._connection.poll(_START_SECONDS):
                raise RuntimeError(f"{self.init.function.name}: no new execution environment")
            reply = self._connection.recv()
            _, fds, _, _ = socket.recv_fds(self._socket, 1, 1)
            if not fds:
                raise RuntimeError(f"{self.init.function.name}: no new execution environment: {reply}")
            environment = ProcessEnvironment(int(reply["pid"]), Connection(fds[0]), on_iam=self._on_iam)
            self.environments.append(environment)
            return environment

    def signal_stop(self) -> None:
        """Tell every environment to exit (their sockets close); returns at once."""
        with self._lock:
            environments = list(self.environments)
        for environment in environments:
            environment.signal_stop()

    def close(self) -> None:
        """Stop every environment, then the template process (each exits when its socket closes). The template goes
        last: it reaps its environments as they exit (an orphan's exit may never be reaped in a container)."""
        self.signal_stop()
        with self._lock:
            environments, self.environments = self.environments, []
        for environment in environments:
            environment.close()
        for handle in (self._connection, self._socket):
            with contextlib.suppress(OSError):
                handle.close()
        try:
            self._process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._copier is not threading.current_thread():
            self._copier.join(timeout=_STOP_SECONDS)

    def _copy_stdout(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        with stream:
            for line in stream:
                text = line.decode("utf-8", errors="replace")
                with _stdout_lock:
                    try:
                        sys.stdout.write(text)
                        sys.stdout.flush()
                    except (OSError, ValueError):  # the parent's stdout went away (closed file): drop the line
                        pass


class ProcessEnvironment:
    """The parent's handle on one execution environment process (a fork of its function's template process)."""

    def __init__(self, pid: int, connection: Connection, *, on_iam: Callable[[Answer], None] | None = None) -> None:
        self.pid = pid
        self._connection = connection
        self._on_iam = on_iam

    def invoke(self, payload: str, *, request_id: str, timeout_seconds: float, trace_id: str) -> Answer:
        """Run one invocation; past `timeout_seconds` the process is killed and the answer is a timeout."""
        message = {"event": payload, "request_id": request_id, "timeout": timeout_seconds, "trace_id": trace_id}
        try:
            self._connection.send(message)
            if not self._connection.poll(timeout_seconds + _TIMEOUT_GRACE_SECONDS):
                self.kill()
                return Answer(
                    "timeout",
                    error_type="Sandbox.Timedout",
                    error_message=f"Task timed out after {timeout_seconds:.2f} seconds",
                )
            answer: Answer = self._connection.recv()
        except (EOFError, OSError):
            self.kill()
            return Answer(
                "error",
                error_type="Runtime.ExitError",
                error_message=f"RequestId: {request_id} Error: Runtime exited without providing a reason",
            )
        if self._on_iam is not None and (answer.iam_checked or answer.iam_denials or answer.iam_presign_denials):
            self._on_iam(answer)
        return answer

    @property
    def alive(self) -> bool:
        return _running(self.pid) and not self._connection.closed

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._close_connection()
        self._wait_gone()

    def signal_stop(self) -> None:
        """Tell the process to exit (its socket closes); returns at once."""
        self._close_connection()

    def close(self) -> None:
        """Stop the process: its socket closes and it exits; killed if it does not within a few seconds."""
        self._close_connection()
        if not self._wait_gone():
            self.kill()

    def _close_connection(self) -> None:
        if not self._connection.closed:
            with contextlib.suppress(OSError):
                self._connection.close()

    def _wait_gone(self) -> bool:
        deadline = time.monotonic() + _STOP_SECONDS
        while _running(self.pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


def _running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie has: its template process reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


# -- the child --------------------------------------------------------------------------------------------------------


class _Calls:
    """Counts the AWS calls the function makes (`service.Operation`), reported and reset with each answer."""

    def __init__(self) -> None:
        self.counter: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        import botocore.handlers  # noqa: PLC0415 - the child only

        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", self._before_call))

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counter[f"{model.service_model.service_name}.{model.name}"] += 1

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counter = self.counter, Counter()
        return taken


def _serve(fd: int) -> int:
    """The template process: the init, then a fork per execution environment asked for, until the socket closes."""
    connection = Connection(fd)
    channel = socket.socket(fileno=os.dup(fd))
    init: Init = connection.recv()
    os.environ.clear()
    os.environ.update(init.environment)
    sys.path[:] = list(init.path)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each log line reaches the parent whole
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the environments are reaped as they exit
    enforcer = _install_iam(init) if init.iam is not None else None
    calls = _Calls()
    calls.install()  # after the enforcer's hooks, as in-process: a refused call never reaches AWS and is not counted
    try:
        from local.runtime import LambdaContext, load_handler  # noqa: PLC0415 - after sys.path is the parent's

        handler = load_handler(init.function.handler)
    except BaseException as error:  # the init failed: the parent says so
        connection.send({"error": f"{type(error).__name__}: {error}\n{traceback.format_exc()}"})
        return 1
    calls.take()  # what the init called is not an invocation's
    connection.send({"ready": True})
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):  # the parent closed the function (or died): exit now, nothing to tidy
            sys.stdout.flush()
            os._exit(0)
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the new execution environment
            connection.close()
            channel.close()
            ours.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = request["fork"]
            code = _environment(
                init, Connection(theirs.detach()), handler, calls=calls, enforcer=enforcer, context_type=LambdaContext
            )
            sys.stdout.flush()
            os._exit(code)
        theirs.close()
        connection.send({"pid": pid})
        socket.send_fds(channel, [b"e"], [ours.fileno()])
        ours.close()


def _environment(
    init: Init, connection: Connection, handler: Any, *, calls: _Calls, enforcer: IamEnforcer | None, context_type: Any
) -> int:
    """One execution environment: one invocation at a time until the socket closes."""
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return 0  # the parent closed the environment (or died)
        os.environ["_X_AMZN_TRACE_ID"] = message["trace_id"]
        deadline = time.monotonic() + float(message["timeout"])
        context = context_type(init.function, message["request_id"], os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], deadline)
        connection.send(_invoke(handler, message["event"], context, calls, enforcer=enforcer, name=init.function.name))


def _invoke(
    handler: Any, event: str, context: Any, calls: _Calls, *, enforcer: IamEnforcer | None, name: str
) -> Answer:
    try:
        result = handler(json.loads(event), context)
        answer = Answer("success", result=json.dumps(result))
    except Exception as error:  # the handler's failure is the invocation's outcome
        answer = Answer(
            "error", error_type=type(error).__name__, error_message=str(error), error_trace=traceback.format_exc()
        )
    answer.aws_calls = calls.take()
    if enforcer is not None:
        answer.iam_checked, answer.iam_denials, answer.iam_presign_denials = enforcer.take_decisions(name)
    return answer


def _install_iam(init: Init) -> IamEnforcer:
    from local.iam.enforcer import IamEnforcer  # noqa: PLC0415 - the child only

    grant = init.iam
    assert grant is not None
    # The parent logs each denial when it records it; the child stays quiet about them.
    logging.getLogger("signbridge.local.iam").addHandler(logging.NullHandler())
    logging.getLogger("signbridge.local.iam").propagate = False
    enforcer = IamEnforcer(
        {init.function.name: grant.permissions},
        grant.arns,
        current_function=lambda: init.function.name,  # every call of this process is the function's, as in Lambda
        function_names={init.function.name: grant.function_name},
    )
    enforcer.install()
    return enforcer


def main(argv: list[str] | None = None) -> int:
    """`python -m local.lambda_process FD`: a function's template process, on the socket FD until it closes."""
    args = sys.argv[1:] if argv is None else argv
    return _serve(int(args[0]))


if __name__ == "__main__":
    # Through the module's own name, so what the child pickles (an `Answer`) is found by that name in the parent.
    import importlib

    sys.exit(importlib.import_module(_MODULE).main())
