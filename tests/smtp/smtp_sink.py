"""An SMTP server on 127.0.0.1 for the mail tests (aiosmtpd).

Every message it accepts is written to DIR as <n>.eml (written to a temporary
name, then renamed, so a reader never sees half a file). With --user and
--password, AUTH (PLAIN or LOGIN, allowed without TLS on this test server) is
required and other credentials are refused with 535. Prints "ready" once it
listens; stops when its standard input closes.

usage: python smtp_sink.py PORT DIR [--user U --password P]
"""

import argparse
import os
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        final = os.path.join(self.folder, f"{self.count:04d}.eml")
        with open(final + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(final + ".tmp", final)
        return "250 Message accepted for delivery"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("dir")
    p.add_argument("--user")
    p.add_argument("--password")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == a.user
            and auth_data.password.decode() == a.password
        )
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)

    kwargs = {}
    if a.user is not None:
        kwargs = dict(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    controller = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
