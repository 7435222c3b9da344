"""WeChat message XML: a strict parser (no DTD, no entities) and the text reply.

Parsed with expat directly: a DOCTYPE or an entity declaration is refused before anything
is expanded, and the result is a plain dict of the root's children.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat


class XmlRefused(Exception):
    """Not well-formed, or contains a DTD / entity declaration."""


def parse(body: bytes | str) -> dict[str, Any]:
    """The children of `<xml>` as {tag: text | dict | [values...]}; raises XmlRefused."""
    data = body.encode() if isinstance(body, str) else body
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: Any) -> None:
        raise XmlRefused("DTD and entity declarations are not accepted")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse

    stack: list[tuple[str, dict[str, Any], list[str]]] = []
    result: dict[str, Any] = {}
    root: list[str] = []

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if not stack and root:
            raise XmlRefused("more than one root element")
        if not stack:
            root.append(tag)
        stack.append((tag, {}, []))

    def end(tag: str) -> None:
        _, children, text = stack.pop()
        value: Any = children if children else "".join(text)
        if not stack:
            result.update(children)
            return
        siblings = stack[-1][1]
        if tag in siblings:  # repeated element (e.g. PicList items): keep them all
            existing = siblings[tag]
            siblings[tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            siblings[tag] = value

    def chars(text: str) -> None:
        if stack:
            stack[-1][2].append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise XmlRefused(f"not well-formed XML: {error}") from None
    if root != ["xml"]:
        raise XmlRefused("the root element must be <xml>")
    return result


def cdata(text: str) -> str:
    # "]]>" cannot appear inside one CDATA section: split it across two.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )
