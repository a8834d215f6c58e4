#!/usr/bin/env python3
"""Converts minecraft-data's 26.1 registry codec into the reference backend's registry file.

Source: the npm package minecraft-data (MIT, PrismarineJS), file
data/pc/26.1/loginPacket.json, key "dimensionCodec": one object per registry,
{"id": registry id, "entries": [{"key": entry id, "value": prismarine-nbt JSON or null}]}.
prismarine-nbt JSON nodes are {"type": ..., "value": ...}.

Output (see examples/data/README.md): for each registry, in the source's order, a big-endian u32
length followed by the body of a `registry_data` configuration packet (everything after the
packet id): Identifier registry id, VarInt entry count, then per entry an Identifier, a bool
"has data" and, if present, the entry as network NBT (a nameless root: tag type 0x0a, then the
compound's payload), as Minecraft writes it since 1.20.2.

Usage (python3, standard library only):
    python3 scripts/gen-registries.py \
        [tests/node/node_modules/minecraft-data/minecraft-data/data/pc/26.1/loginPacket.json] \
        [examples/data/registries-26.1.bin]
"""

import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SOURCE = os.path.join(
    ROOT, "tests/node/node_modules/minecraft-data/minecraft-data/data/pc/26.1/loginPacket.json"
)
DEFAULT_OUTPUT = os.path.join(ROOT, "examples/data/registries-26.1.bin")

TAG_IDS = {
    "end": 0,
    "byte": 1,
    "short": 2,
    "int": 3,
    "long": 4,
    "float": 5,
    "double": 6,
    "byteArray": 7,
    "string": 8,
    "list": 9,
    "compound": 10,
    "intArray": 11,
    "longArray": 12,
}


def varint(value):
    value &= 0xFFFFFFFF
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def protocol_string(text):
    data = text.encode("utf-8")
    return varint(len(data)) + data


def mutf8(text):
    """Java's modified UTF-8, which NBT strings use: NUL as two bytes, astral characters as
    surrogate pairs of three bytes each."""
    out = bytearray()
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            for unit in (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF)):
                out += bytes([0xE0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3F), 0x80 | (unit & 0x3F)])
        elif code == 0 or code > 0x7F:
            if code <= 0x7FF:
                out += bytes([0xC0 | (code >> 6), 0x80 | (code & 0x3F)])
            else:
                out += bytes([0xE0 | (code >> 12), 0x80 | ((code >> 6) & 0x3F), 0x80 | (code & 0x3F)])
        else:
            out.append(code)
    if len(out) > 0xFFFF:
        raise ValueError("NBT string longer than 65535 bytes")
    return struct.pack(">H", len(out)) + bytes(out)


def long_value(value):
    # prismarine-nbt writes longs as [high, low] 32-bit halves.
    if isinstance(value, list):
        high, low = value
        return ((high & 0xFFFFFFFF) << 32) | (low & 0xFFFFFFFF)
    return value


def payload(tag_type, value):
    if tag_type == "byte":
        return struct.pack(">b", value)
    if tag_type == "short":
        return struct.pack(">h", value)
    if tag_type == "int":
        return struct.pack(">i", value)
    if tag_type == "long":
        return struct.pack(">Q", long_value(value) & 0xFFFFFFFFFFFFFFFF)
    if tag_type == "float":
        return struct.pack(">f", value)
    if tag_type == "double":
        return struct.pack(">d", value)
    if tag_type == "string":
        return mutf8(value)
    if tag_type == "byteArray":
        return struct.pack(">i", len(value)) + b"".join(struct.pack(">b", v) for v in value)
    if tag_type == "intArray":
        return struct.pack(">i", len(value)) + b"".join(struct.pack(">i", v) for v in value)
    if tag_type == "longArray":
        return struct.pack(">i", len(value)) + b"".join(
            struct.pack(">Q", long_value(v) & 0xFFFFFFFFFFFFFFFF) for v in value
        )
    if tag_type == "list":
        element_type = value["type"]
        items = value["value"]
        if not items:
            element_type = "end"
        out = bytes([TAG_IDS[element_type]]) + struct.pack(">i", len(items))
        return out + b"".join(payload(element_type, item) for item in items)
    if tag_type == "compound":
        out = bytearray()
        for name, child in value.items():
            out.append(TAG_IDS[child["type"]])
            out += mutf8(name)
            out += payload(child["type"], child["value"])
        out.append(0)
        return bytes(out)
    raise ValueError("unknown NBT type " + repr(tag_type))


def network_nbt(node):
    if node["type"] != "compound":
        raise ValueError("a registry entry must be a compound, not " + node["type"])
    return bytes([TAG_IDS["compound"]]) + payload("compound", node["value"])


def registry_body(registry):
    body = bytearray(protocol_string(registry["id"]))
    body += varint(len(registry["entries"]))
    for entry in registry["entries"]:
        body += protocol_string(entry["key"])
        value = entry.get("value")
        if value is None:
            body.append(0)
        else:
            body.append(1)
            body += network_nbt(value)
    return bytes(body)


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    output = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUTPUT
    with open(source, encoding="utf-8") as f:
        codec = json.load(f)["dimensionCodec"]
    out = bytearray()
    for key, registry in codec.items():
        if registry["id"] != key:
            raise ValueError("registry key %r holds id %r" % (key, registry["id"]))
        body = registry_body(registry)
        out += struct.pack(">I", len(body)) + body
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "wb") as f:
        f.write(out)
    print("wrote %d registries, %d bytes, to %s" % (len(codec), len(out), output))


if __name__ == "__main__":
    main()
