"""Independent reader for TensorBoard event files, to check src/train/tfevents.ts from outside.

Parses the TFRecord framing itself, verifies both masked CRC32Cs with crcmod's crc-32c, and decodes each
Event with google.protobuf from message classes built here at run time from a FileDescriptorProto that
mirrors tensorboard/compat/proto/event.proto and summary.proto (the fields this project writes).

usage: read_tfevents.py FILE   -> prints one JSON line: {"events": [...], "truncated": null | {"offset": n}}
Each event: {"wall_time", "step", "file_version"?, "values": [{"tag", "simple_value"} | {"tag", "image":
{"height", "width", "colorspace", "png_base64"}}]}
"""
import base64
import json
import struct
import sys

import crcmod.predefined
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def message_class(desc):
    # protobuf >= 4.21 has GetMessageClass; older releases only the factory's GetPrototype.
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory().GetPrototype(desc)


crc32c = crcmod.predefined.mkCrcFun("crc-32c")
F = descriptor_pb2.FieldDescriptorProto


def masked_crc(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof
    return f


def build_event_class():
    fdp = descriptor_pb2.FileDescriptorProto(name="streetseg_check/event.proto", package="tbcheck", syntax="proto3")
    summary = fdp.message_type.add(name="Summary")
    image = summary.nested_type.add(name="Image")
    field(image, "height", 1, F.TYPE_INT32)
    field(image, "width", 2, F.TYPE_INT32)
    field(image, "colorspace", 3, F.TYPE_INT32)
    field(image, "encoded_image_string", 4, F.TYPE_BYTES)
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    field(value, "tag", 1, F.TYPE_STRING)
    field(value, "simple_value", 2, F.TYPE_FLOAT, oneof=0)
    field(value, "image", 4, F.TYPE_MESSAGE, type_name=".tbcheck.Summary.Image", oneof=0)
    field(summary, "value", 1, F.TYPE_MESSAGE, label=F.LABEL_REPEATED, type_name=".tbcheck.Summary.Value")
    event = fdp.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    field(event, "wall_time", 1, F.TYPE_DOUBLE)
    field(event, "step", 2, F.TYPE_INT64)
    field(event, "file_version", 3, F.TYPE_STRING, oneof=0)
    field(event, "summary", 5, F.TYPE_MESSAGE, type_name=".tbcheck.Summary", oneof=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_class(pool.FindMessageTypeByName("tbcheck.Event"))


def main():
    Event = build_event_class()
    data = open(sys.argv[1], "rb").read()
    events = []
    truncated = None
    off = 0
    while off < len(data):
        if len(data) - off < 12:
            truncated = {"offset": off}
            break
        (length,) = struct.unpack("<Q", data[off:off + 8])
        (len_crc,) = struct.unpack("<I", data[off + 8:off + 12])
        if len_crc != masked_crc(data[off:off + 8]):
            sys.exit(f"length CRC mismatch at byte {off}")
        if off + 12 + length + 4 > len(data):
            truncated = {"offset": off}
            break
        payload = data[off + 12:off + 12 + length]
        (data_crc,) = struct.unpack("<I", data[off + 12 + length:off + 16 + length])
        if data_crc != masked_crc(payload):
            sys.exit(f"data CRC mismatch at byte {off}")
        ev = Event()
        ev.ParseFromString(payload)
        out = {"wall_time": ev.wall_time, "step": ev.step, "values": []}
        which = ev.WhichOneof("what")
        if which == "file_version":
            out["file_version"] = ev.file_version
        elif which == "summary":
            for v in ev.summary.value:
                kind = v.WhichOneof("value")
                if kind == "simple_value":
                    out["values"].append({"tag": v.tag, "simple_value": v.simple_value})
                elif kind == "image":
                    im = v.image
                    out["values"].append({"tag": v.tag, "image": {
                        "height": im.height, "width": im.width, "colorspace": im.colorspace,
                        "png_base64": base64.b64encode(im.encoded_image_string).decode("ascii"),
                    }})
                else:
                    sys.exit(f"value {v.tag!r} at byte {off} has no simple_value or image")
        events.append(out)
        off += 12 + length + 4
    print(json.dumps({"events": events, "truncated": truncated}))


if __name__ == "__main__":
    main()
