"""schemathesis hooks for scripts/contract-check (loaded through SCHEMATHESIS_HOOKS).

A valid `Idempotency-Key` is made unique per request: the server answers a key reused with
another body with 422 (`idempotency_key_reused`, as the IETF Idempotency-Key draft says), which is
right, but schemathesis draws the same few keys for many different bodies and cannot know it did.
An invalid key is left as drawn, so the header's rule is still fuzzed. Replays are covered by the
API tests.
"""
import re
import uuid

import schemathesis

KEY_RULE = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            key = headers[name]
            if isinstance(key, str) and KEY_RULE.fullmatch(key):
                headers[name] = f"{key[:200]}-{uuid.uuid4().hex}"
