"""A throwaway PostgreSQL cluster a test owns, for tests that stop or restart the
database itself: restarting the machine's PostgreSQL would disturb the rest of the suite.

The machine's binaries (`/usr/lib/postgresql/<version>/bin`, or `initdb` on the PATH) make
a fresh cluster in a temporary directory: trust authentication, a free TCP port on
127.0.0.1, its unix socket inside that directory. Where no PostgreSQL is installed, the
binaries bundled with `pgserver` (a dev dependency) stand in. PostgreSQL refuses to run
as root, so as root every command runs as the `postgres` OS user.

    async with own_postgres() as pg:
        url = pg.url("postgres")      # postgresql://postgres@127.0.0.1:<port>/postgres
        await pg.restart()            # pg_ctl restart -m fast
        await pg.stop(); await pg.start()
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support import free_port, import_pgserver, skip_or_fail

# initdb, start and stop each take a second or two; a loaded machine may take longer.
_COMMAND_TIMEOUT = 60.0


def find_bin_dir() -> Path | None:
    """The directory of `initdb` and `pg_ctl`: the newest installed PostgreSQL, else the
    one on the PATH, else pgserver's bundled binaries; None if there is none."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if installed:
        return installed[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    pgserver = import_pgserver()
    if pgserver is None:
        return None
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return bundled if (bundled / "initdb").exists() else None


class PgCluster:
    """One PostgreSQL cluster in `root` (which it owns), on a free port."""

    def __init__(self, bin_dir: Path, root: Path, os_user: str | None) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log_path = root / "postgres.log"
        self.os_user = os_user
        self.port = free_port()
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / tool), *args]
        return ["runuser", "-u", self.os_user, "--", *command] if self.os_user else command

    async def _run(self, tool: str, *args: str) -> None:
        # Asynchronous, so the load a test runs keeps going while PostgreSQL restarts.
        proc = await asyncio.create_subprocess_exec(
            *self._command(tool, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), _COMMAND_TIMEOUT)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({proc.returncode}):\n"
                f"{output.decode(errors='replace')}\nserver log:\n{self.log()}"
            )

    async def init(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            # A throwaway cluster: durability across a crash of the machine is not needed.
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    async def start(self) -> None:
        await self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "start")
        self.running = True

    async def stop(self, mode: str = "fast") -> None:
        """Stop the server; `fast` ends every session (as a restart does), `immediate` kills."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    async def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is ended, the server is back at once."""
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-m", "fast", "-w", "restart"
        )
        self.running = True

    def kill(self) -> None:
        """Stop it at once, from synchronous code (the at-exit safety net)."""
        if self.running and (self.data / "postmaster.pid").exists():
            subprocess.run(
                self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True,
                timeout=_COMMAND_TIMEOUT,
                check=False,
            )
        self.running = False


def _run_as() -> str | None:
    """The OS user to run PostgreSQL as: None (this user) unless this is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        skip_or_fail("running as root, and there is no `postgres` OS user to run PostgreSQL as")
    return "postgres"


@asynccontextmanager
async def own_postgres() -> AsyncIterator[PgCluster]:
    """A fresh, running cluster; stopped and deleted on the way out, whatever happened.
    Skipped when no PostgreSQL binaries exist (failed under CI)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        skip_or_fail("no PostgreSQL binaries (initdb, pg_ctl) and pgserver is not installed")
    os_user = _run_as()
    # Not under pytest's tmp_path: that is private to this user, and PostgreSQL runs as
    # another. A short path also keeps the unix socket's path within its length limit.
    root = Path(tempfile.mkdtemp(prefix="tasksync-pgcluster-"))
    if os_user:
        shutil.chown(root, user=os_user)
    cluster = PgCluster(bin_dir, root, os_user)
    atexit.register(cluster.kill)  # a run interrupted where no teardown could run
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        try:
            if cluster.running:
                await cluster.stop("immediate")
        finally:
            cluster.kill()
            atexit.unregister(cluster.kill)
            shutil.rmtree(root, ignore_errors=True)
