// The official ONNX schema (src/export/onnx.proto, vendored from onnx 1.12, Apache-2.0), compiled at run
// time by protobufjs. The wire format is protobufjs's; nothing here encodes bytes by hand.
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { repoRoot } from '../util/paths.js';

/** The vendored schema; read from the source tree so `tsc` output (dist/) needs no copy of it. */
export const ONNX_PROTO = path.join(repoRoot, 'src', 'export', 'onnx.proto');

let root: protobuf.Root | null = null;

/** A message type of the onnx package ('ModelProto', 'TensorProto', …). */
export function onnxType(name: string): protobuf.Type {
  // keepCase: the schema's snake_case field names (ir_version, raw_data), as every ONNX tool spells them.
  root ??= new protobuf.Root().loadSync(ONNX_PROTO, { keepCase: true });
  return root.lookupType(`onnx.${name}`);
}

/** TensorProto.DataType values used by the exporter. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
