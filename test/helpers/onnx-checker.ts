// onnx.checker (Debian's python3-onnx) on an exported file: full check, and the IR version, opset and
// node count it reads back, so a test can compare them with what the builder wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export function onnxCheck(file: string): { irVersion: number; opset: number; nodes: number } {
  const py = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(m.ir_version, m.opset_import[0].version, len(m.graph.node))', file],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, `${file}: onnx.checker: ${py.stderr}`);
  const [irVersion, opset, nodes] = py.stdout.trim().split(' ').map(Number) as [number, number, number];
  return { irVersion, opset, nodes };
}
