#!/usr/bin/env python3
"""Local SMTP sink for tests (aiosmtpd 1.4.x). Loopback only.

Saves every received message, byte-for-byte as the client sent it after DATA,
to OUTDIR/<n>.eml plus OUTDIR/<n>.json (envelope: from, rcpts, auth user, tls).

Examples
  # plain, no auth (lettre: AsyncSmtpTransport::builder_dangerous("127.0.0.1").port(2525))
  python smtp_sink.py --port 2525 --outdir /tmp/mails

  # STARTTLS required + AUTH PLAIN/LOGIN required (lettre: Tls::Required + Credentials)
  python smtp_sink.py --port 2587 --outdir /tmp/mails \
      --tlscert server.pem --tlskey server.key --user test --password secret

Stops on SIGINT/SIGTERM. Prints "READY <host>:<port>" on stdout once listening,
so a test harness can wait for that line before connecting.
"""
import logging
logging.basicConfig(level=logging.DEBUG if __import__("os").environ.get("SMTP_SINK_DEBUG") else logging.WARNING)
import argparse
import json
import signal
import ssl
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SaveToDir:
    def __init__(self, outdir: Path):
        self.outdir = outdir
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.count = len(list(self.outdir.glob("*.eml")))
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        # envelope.content is bytes when decode_data=False (the default)
        (self.outdir / f"{n:04d}.eml").write_bytes(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": str(session.peer),
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "auth_user": getattr(session.auth_data, "login", b"").decode() if session.auth_data else None,
        }
        (self.outdir / f"{n:04d}.json").write_text(json.dumps(meta, indent=2))
        print(f"received message {n} from {envelope.mail_from} to {envelope.rcpt_tos}", flush=True)
        return "250 Message accepted for delivery"


def make_authenticator(user: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        # auth_data is LoginPassword(login: bytes, password: bytes) for PLAIN and LOGIN
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # GOTCHA: AuthResult.handled defaults to True, which means "I already sent the
        # reply" -> the server sends nothing and the client hangs. Use handled=False so
        # aiosmtpd replies "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)
    return authenticator


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--tlscert")
    ap.add_argument("--tlskey")
    ap.add_argument("--user")
    ap.add_argument("--password")
    args = ap.parse_args()

    kwargs = {}
    if args.tlscert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tlscert, args.tlskey)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.user:
        kwargs.update(
            authenticator=make_authenticator(args.user, args.password or ""),
            auth_required=True,
            # default auth_require_tls=True: AUTH is only advertised after STARTTLS.
            # Allow AUTH on a plaintext connection only when no TLS is configured.
            auth_require_tls=bool(args.tlscert),
        )

    controller = Controller(SaveToDir(Path(args.outdir)), hostname=args.host, port=args.port,
                            server_hostname="localhost", **kwargs)
    controller.start()
    print(f"READY {args.host}:{args.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
