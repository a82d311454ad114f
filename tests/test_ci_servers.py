"""`.ci/servers` keeps the throw-away SPARQL servers on loopback.

The servers the suite publishes to are writable and unauthenticated, so they must not be
reachable from another machine. Comunica's HTTP server has no option for its address;
`.ci/loopback.cjs` gives its listen() call 127.0.0.1, and `.ci/servers` reads the kernel's
socket tables after each start and stops the run when a server listens anywhere else.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import ipaddress
import os
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_servers():
    loader = importlib.machinery.SourceFileLoader("ci_servers", str(ROOT / ".ci" / "servers"))
    spec = importlib.util.spec_from_loader("ci_servers", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


servers = load_servers()

# lines as a little-endian Linux kernel prints them (x86_64, arm64), trimmed after the state
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:A112 00000000:0000 0A 00000000:00000000
   1: 00000000:A112 00000000:0000 0A 00000000:00000000
   2: 00000000:1F90 0100007F:D431 01 00000000:00000000
   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:A113 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:A114 00000000000000000000000000000000:0000 0A
   2: 0000000000000000FFFF00000100007F:A115 00000000000000000000000000000000:0000 0A
"""

little_endian = pytest.mark.skipif(
    sys.byteorder != "little", reason="the sample tables are those of a little-endian kernel"
)


@little_endian
def test_listening_addresses_reads_both_tables_and_only_listeners():
    def listening(port):
        return [ipaddress.ip_address(a) for a in servers.listening_addresses(port, [TCP, TCP6])]

    ip = ipaddress.ip_address
    # port 0xA112 = 41234: loopback and the wildcard; the ESTABLISHED line on 8080 is no listener
    assert listening(41234) == [ip("127.0.0.1"), ip("0.0.0.0")]
    assert listening(8080) == [ip("127.0.0.1")]
    assert listening(0xA113) == [ip("::")]
    assert listening(0xA114) == [ip("::1")]
    assert listening(0xA115) == [ip("::ffff:127.0.0.1")]
    assert listening(1) == []


def test_only_loopback_addresses_pass():
    for address in ("127.0.0.1", "127.0.1.1", "::1", "::ffff:127.0.0.1"):
        assert servers.is_loopback(address), address
    for address in ("0.0.0.0", "::", "10.0.0.5", "::ffff:10.0.0.5"):
        assert not servers.is_loopback(address), address


def test_a_server_listening_beyond_loopback_is_stopped(tmp_path, monkeypatch):
    import socket
    import subprocess

    with socket.socket() as wide:
        wide.bind(("0.0.0.0", 0))
        wide.listen()
        port = wide.getsockname()[1]
        if not servers.socket_tables():
            pytest.skip("no /proc/net/tcp on this system")
        proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
        try:
            with pytest.raises(SystemExit, match=rf"listens beyond loopback \(0\.0\.0\.0:{port}\)"):
                servers.require_loopback("Test", [port], proc)
            assert proc.poll() is not None  # the server was stopped
        finally:
            if proc.poll() is None:
                proc.kill()


SERVER_VARS = ("KG_TEST_OXIGRAPH", "KG_TEST_VIRTUOSO", "KG_TEST_COMUNICA")


@pytest.mark.parametrize("var", SERVER_VARS)
def test_the_servers_of_this_run_listen_on_loopback_only(var):
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"{var} is not set: .ci/servers start sets it")
    tables = servers.socket_tables()
    if not tables:
        pytest.skip("no /proc/net/tcp on this system")
    port = urllib.parse.urlsplit(url).port
    addresses = servers.listening_addresses(port, tables)
    assert addresses, f"nothing listens on {port}"
    assert all(servers.is_loopback(a) for a in addresses), addresses
