"""WeChat callback signatures and message encryption, behind one small interface.

Signatures are computed here and compared with hmac.compare_digest (wechatpy compares with
`!=`). AES (safe mode) goes through wechatpy's WeChatCrypto, imported only when a safe-mode
message arrives so that the plaintext path and the API's cold start do not pay for it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from functions.core import signing


class SignatureError(Exception):
    """The signature does not match."""


class AppIdError(Exception):
    """The decrypted payload belongs to another official account."""


class DecryptError(Exception):
    """The ciphertext is not a WeChat AES payload for our key."""


def signature(token: str, *parts: str) -> str:
    """sha1 of the sorted, concatenated token and parts (WeChat's scheme for both signatures)."""
    # surrogatepass: a query value may hold any code point; it then just fails to match.
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8", "surrogatepass")).hexdigest()


def check_signature(expected_from: tuple[str, ...], token: str, supplied: str | None) -> None:
    if not supplied or not signing.matches(signature(token, *expected_from), supplied):
        raise SignatureError()


@lru_cache(maxsize=4)
def _crypto(token: str, encoding_aes_key: str, app_id: str) -> Any:
    from wechatpy.crypto import WeChatCrypto

    return WeChatCrypto(token, encoding_aes_key, app_id)


def decrypt(encrypt: str, token: str, encoding_aes_key: str, app_id: str) -> str:
    """The XML inside `encrypt`; AppIdError if it was sealed for another app id.

    Call only after check_signature has verified msg_signature over `encrypt`.
    """
    from wechatpy.crypto import PrpCrypto
    from wechatpy.exceptions import InvalidAppIdException

    crypto = _crypto(token, encoding_aes_key, app_id)
    try:
        return PrpCrypto(crypto.key).decrypt(encrypt, app_id)
    except InvalidAppIdException:
        raise AppIdError() from None
    except Exception as error:  # untrusted bytes: base64, padding, struct, utf-8 errors alike
        raise DecryptError(type(error).__name__) from None


def encrypt(xml: str, nonce: str, timestamp: str, token: str, encoding_aes_key: str, app_id: str) -> str:
    """`<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>` around `xml`."""
    return _crypto(token, encoding_aes_key, app_id).encrypt_message(xml, nonce, timestamp)
