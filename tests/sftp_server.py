"""A company-like SFTP server for the DVC remote tests, without root or sshd.

asyncssh's server on 127.0.0.1, run by the test itself as the current user: one
password-only account (a random name and a password with characters that need
quoting), SFTP only (no shell, no exec, no forwarding), and every path confined to
one folder, as a chrooted OpenSSH ``internal-sftp`` account would be.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import asyncssh


@dataclass(frozen=True)
class SftpServer:
    user: str
    password: str
    port: int
    chroot: Path


class _PasswordOnly(asyncssh.SSHServer):  # type: ignore[misc]
    def __init__(self, user: str, password: str) -> None:
        self._user, self._password = user, password

    def begin_auth(self, username: str) -> bool:
        return True  # always ask: no account gets in without its password

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return secrets.compare_digest(f"{username}\0{password}", f"{self._user}\0{self._password}")


@contextmanager
def sftp_server(folder: Path) -> Iterator[SftpServer]:
    """Serve SFTP on a free port of 127.0.0.1 until the block ends."""
    chroot = folder / "root"
    (chroot / "store").mkdir(parents=True)
    user = f"dsops{secrets.token_hex(4)}"
    # Characters that need percent-encoding in the URL and quoting in DVC's config.
    password = secrets.token_urlsafe(12) + "#,:%"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sftp-server", daemon=True)
    thread.start()

    def call(coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)  # type: ignore

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_factory=lambda: _PasswordOnly(user, password),
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(chroot).encode()),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
        )

    async def stop(acceptor: asyncssh.SSHAcceptor) -> None:
        acceptor.close()
        await acceptor.wait_closed()

    acceptor = None
    try:
        acceptor = call(start())
        yield SftpServer(user, password, acceptor.get_port(), chroot)  # type: ignore[attr-defined]
    finally:
        if acceptor is not None:
            call(stop(acceptor))  # type: ignore[arg-type]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
