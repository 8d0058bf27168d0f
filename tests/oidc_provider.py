"""A minimal OpenID Connect provider on 127.0.0.1 for tests (no network): discovery document,
JWKS, an authorization endpoint that signs in a preset user at once (no consent screen), a token
endpoint that checks the client, the code, the redirect URI and PKCE, and returns an RS256 ID
token (signed here with ``cryptography``, so nothing of the client library under test signs it).

    with OIDCProvider(users=["alice@example.org"]) as op:
        op.metadata_url, op.client_id, op.client_secret; op.next_user = "bob@example.org"
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n: int) -> str:
    return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class OIDCProvider:
    def __init__(self, next_user: str = "alice@example.org"):
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        self.client_id, self.client_secret = "upair-test", secrets.token_urlsafe(16)
        self.next_user = next_user
        self.codes: dict[str, dict] = {}
        self.log: list[str] = []  # the endpoints called, in order
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.metadata_url = self.base + "/.well-known/openid-configuration"

    # ------------------------------------------------------------------ tokens
    def id_token(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        body = _b64(json.dumps(claims).encode())
        sig = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64(sig)}"

    def jwks(self) -> dict:
        pub = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                          "n": _int_b64(pub.n), "e": _int_b64(pub.e)}]}

    def metadata(self) -> dict:
        b = self.base
        return {"issuer": b, "authorization_endpoint": b + "/authorize", "token_endpoint": b + "/token",
                "jwks_uri": b + "/jwks", "userinfo_endpoint": b + "/userinfo",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"]}

    # ------------------------------------------------------------------ HTTP
    def _handler(self):
        op = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_a):  # quiet
                pass

            def _json(self, obj, status=200):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                op.log.append(url.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    return self._json(op.metadata())
                if url.path == "/jwks":
                    return self._json(op.jwks())
                if url.path == "/authorize":
                    if q.get("client_id") != op.client_id or q.get("response_type") != "code":
                        return self._json({"error": "invalid_request"}, 400)
                    code = secrets.token_urlsafe(16)
                    op.codes[code] = {"redirect_uri": q["redirect_uri"], "nonce": q.get("nonce"),
                                      "challenge": q.get("code_challenge"), "user": op.next_user}
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": q.get("state", "")}))
                    self.end_headers()
                    return None
                if url.path == "/userinfo":
                    return self._json({"sub": op.next_user, "email": op.next_user})
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                op.log.append(url.path)
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                if url.path != "/token":
                    return self._json({"error": "not_found"}, 404)
                cid, secret = form.get("client_id"), form.get("client_secret")
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    from urllib.parse import unquote

                    cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    cid, secret = unquote(cid), unquote(secret)
                if (cid, secret) != (op.client_id, op.client_secret):
                    return self._json({"error": "invalid_client"}, 401)
                grant = op.codes.pop(form.get("code", ""), None)  # one use only
                if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                    return self._json({"error": "invalid_grant"}, 400)
                if grant["challenge"]:
                    verifier = form.get("code_verifier", "")
                    if _b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                        return self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
                now = int(time.time())
                claims = {"iss": op.base, "sub": grant["user"], "aud": op.client_id, "iat": now, "exp": now + 600,
                          "email": grant["user"], "email_verified": True, "name": grant["user"].split("@")[0]}
                if grant["nonce"]:
                    claims["nonce"] = grant["nonce"]
                return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                   "expires_in": 600, "id_token": op.id_token(claims), "scope": "openid email profile"})

        return Handler

    def __enter__(self) -> "OIDCProvider":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
