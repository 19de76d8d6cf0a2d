#!/usr/bin/env python3
"""Ask the Bulwark breaker whether a withdrawal of an asset may go out now (standard library only).

An example for withdrawal services not written in TypeScript. It reads
GET /v1/withdrawals/status?asset=... (docs/api/openapi.json) and fails closed: only an HTTP 200 whose
JSON body says "allowed": true and "state": "open" allows; any error, timeout, redirect, other status or
malformed body means not allowed.

    python3 guard_client.py --asset ETH [--url http://breaker:8081] [--timeout 1.0]

Exit status: 0 allowed, 1 not allowed, 2 bad arguments. One line on stdout says why.
The URL defaults to $BULWARK_BREAKER_URL. Tested by test/integration/python-guard-client.test.ts.
"""

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

TICKER = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
MAX_BODY_BYTES = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not the breaker answering: treat it as a failure rather than follow it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def check(base_url, asset, timeout=1.0):
    """Returns (allowed, reason). Never raises: every failure is (False, why)."""
    url = "%s/v1/withdrawals/status?%s" % (
        base_url.rstrip("/"),
        urllib.parse.urlencode({"asset": asset}),
    )
    try:
        with _opener.open(url, timeout=timeout) as response:
            status = response.status
            raw = response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as err:
        return False, "breaker answered HTTP %d" % err.code
    except Exception as err:  # URLError, timeout, reset, anything: fail closed
        return False, "breaker unreachable: %s" % (getattr(err, "reason", None) or err)
    if status != 200:
        return False, "breaker answered HTTP %d" % status
    if len(raw) > MAX_BODY_BYTES:
        return False, "status body too large"
    try:
        body = json.loads(raw.decode("utf-8"))
    except ValueError:
        return False, "status body is not JSON"
    if not isinstance(body, dict):
        return False, "status body is not a JSON object"
    if body.get("allowed") is not True or body.get("state") != "open":
        return False, "%s %s: %s" % (body.get("scope"), body.get("state"), body.get("reason"))
    return True, "%s open" % body.get("scope")


def main(argv):
    parser = argparse.ArgumentParser(description="Fail-closed check of the Bulwark breaker.")
    parser.add_argument("--asset", required=True, help="upper-case ticker, e.g. ETH")
    parser.add_argument("--url", default=os.environ.get("BULWARK_BREAKER_URL"), help="breaker base URL")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds (default 1.0)")
    args = parser.parse_args(argv)  # exits 2 with usage on a bad argument
    if not args.url:
        parser.error("--url or BULWARK_BREAKER_URL is required")
    if not TICKER.match(args.asset):
        parser.error("--asset must be an upper-case ticker, e.g. ETH")
    if not args.timeout > 0:
        parser.error("--timeout must be a positive number of seconds")
    allowed, reason = check(args.url, args.asset, args.timeout)
    print("%s: %s" % ("allowed" if allowed else "not allowed", reason))
    return 0 if allowed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
