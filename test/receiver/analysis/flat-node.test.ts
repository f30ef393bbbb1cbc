import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FlatNode, FlatNodeError, buildFlatNode, readFlatNode } from '../../../receiver/src/analysis/flat-node';

// Blobs made by `flatc -b receiver/schema/node_info.fbs` (flatc 2.0.8) from JSON with the values below, so
// the reader is checked against FlatBuffers' own encoder, not only against our builder.
const FLATC_POD_HEX =
  '200000001c003400040008000c001000140018001c002000240028002c0030001c000000e0010000d001000054010000' +
  '04010000ec000000bc000000ac0000009400000078000000640000004800000004000000390000007370696666653a2f' +
  '2f636c75737465722e6c6f63616c2f6e732f64656661756c742f73612f626f6f6b696e666f2d70726f64756374706167' +
  '6500000001000000040000000a00000031302e34342e322e353500000a0000004b756265726e65746573000001000000' +
  '040000000b00000070726f6475637470616765000d000000636c75737465722e6c6f63616c00000006000000312e3230' +
  '2e330000010000000400000030ffffff100000000400000001000000700000000b0000006763705f70726f6a65637400' +
  '0e00000070726f64756374706167652d76310000470000006b756265726e657465733a2f2f617069732f617070732f76' +
  '312f6e616d657370616365732f64656661756c742f6465706c6f796d656e74732f70726f64756374706167652d763100' +
  '020000005000000004000000c0ffffff18000000040000000b00000070726f6475637470616765001f00000073657276' +
  '6963652e697374696f2e696f2f63616e6f6e6963616c2d6e616d650008000c0004000800080000001800000004000000' +
  '0b00000070726f64756374706167650003000000617070000700000064656661756c74001e00000070726f6475637470' +
  '6167652d76312d3764386639633662352d78326b34700000';
const FLATC_POD: FlatNode = {
  name: 'productpage-v1-7d8f9c6b5-x2k4p',
  namespace: 'default',
  labels: { app: 'productpage', 'service.istio.io/canonical-name': 'productpage' },
  owner: 'kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1',
  workloadName: 'productpage-v1',
  platformMetadata: { gcp_project: 'p' },
  istioVersion: '1.20.3',
  meshId: 'cluster.local',
  appContainers: ['productpage'],
  clusterId: 'Kubernetes',
  instanceIps: ['10.44.2.55'],
  identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
};

// Istio 1.19-1.23 style (peer_metadata filter): no owner, platform metadata, version or containers.
const FLATC_VM_HEX =
  '200000001c001c00040008000c000000100000000000000000001400000018001c000000680100005801000070000000' +
  '580000004400000004000000340000007370696666653a2f2f636c75737465722e6c6f63616c2f6e732f766d2d617070' +
  '732f73612f636865636b6f757473657276696365000000000a0000004b756265726e6574657300000f00000063686563' +
  '6b6f7574736572766963650004000000b800000068000000280000000400000060ffffff100000000400000002000000' +
  '763100000700000076657273696f6e0080ffffff1000000004000000020000007631000023000000736572766963652e' +
  '697374696f2e696f2f63616e6f6e6963616c2d7265766973696f6e00bcffffff1c000000040000000f00000063686563' +
  '6b6f757473657276696365001f000000736572766963652e697374696f2e696f2f63616e6f6e6963616c2d6e616d6500' +
  '08000c0004000800080000001c000000040000000f000000636865636b6f757473657276696365000300000061707000' +
  '07000000766d2d617070730012000000636865636b6f7574736572766963652d766d0000';
const FLATC_VM: FlatNode = {
  name: 'checkoutservice-vm',
  namespace: 'vm-apps',
  labels: {
    app: 'checkoutservice',
    'service.istio.io/canonical-name': 'checkoutservice',
    'service.istio.io/canonical-revision': 'v1',
    version: 'v1',
  },
  workloadName: 'checkoutservice',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/vm-apps/sa/checkoutservice',
};

const SCHEMA = path.join(__dirname, '../../../receiver/schema/node_info.fbs');

const flatcPod = () => Buffer.from(FLATC_POD_HEX, 'hex');

/** Deterministic bytes, so a failure can be replayed. */
function* randomBuffers(seed: number, count: number): Generator<Uint8Array> {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(8 + (i % 120));
    for (let j = 0; j < b.length; j++) b[j] = next();
    yield b;
  }
}

describe('FlatNode', () => {
  describe('reading blobs flatc made', () => {
    it('reads every field of a pod FlatNode', () => {
      assert.deepEqual(readFlatNode(flatcPod()), FLATC_POD);
    });

    it('reads a FlatNode with only some fields and leaves the others out', () => {
      assert.deepEqual(readFlatNode(Buffer.from(FLATC_VM_HEX, 'hex')), FLATC_VM);
    });
  });

  describe('building', () => {
    it('builds a blob that reads back as the node it was built from', () => {
      assert.deepEqual(readFlatNode(buildFlatNode(FLATC_POD)), FLATC_POD);
    });

    it('builds a blob that reads back the same after a second round', () => {
      const once = readFlatNode(buildFlatNode(FLATC_VM));
      assert.deepEqual(readFlatNode(buildFlatNode(once)), FLATC_VM);
    });

    it('builds a blob that flatc decodes to the same fields (when flatc is installed)', function () {
      const flatc = spawnSync('flatc', ['--version']);
      if (flatc.error) this.skip(); // Debian package flatbuffers-compiler
      const dir = mkdtempSync(path.join(tmpdir(), 'flatnode-'));
      try {
        writeFileSync(path.join(dir, 'node.bin'), buildFlatNode(FLATC_POD));
        const run = spawnSync('flatc', ['--json', '--strict-json', '--raw-binary', '-o', dir, SCHEMA, '--', path.join(dir, 'node.bin')]);
        assert.equal(run.status, 0, String(run.stderr));
        const json = JSON.parse(readFileSync(path.join(dir, 'node.json'), 'utf8'));
        assert.equal(json.name, FLATC_POD.name);
        assert.equal(json.workload_name, FLATC_POD.workloadName);
        assert.equal(json.identity, FLATC_POD.identity);
        assert.deepEqual(json.labels, Object.entries(FLATC_POD.labels!).map(([key, value]) => ({ key, value })));
        assert.deepEqual(json.instance_ips, FLATC_POD.instanceIps);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('stores labels sorted by key, as the schema\'s key attribute requires', () => {
      const blob = buildFlatNode({ labels: { version: 'v2', app: 'cart', 'service.istio.io/canonical-name': 'cart' } });
      assert.deepEqual(Object.keys(readFlatNode(blob).labels!), ['app', 'service.istio.io/canonical-name', 'version']);
    });

    it('keeps empty strings and empty lists apart from absent fields', () => {
      const node: FlatNode = { name: '', appContainers: [], labels: {} };
      assert.deepEqual(readFlatNode(buildFlatNode(node)), node);
    });

    it('round-trips non-ASCII text', () => {
      const node: FlatNode = { name: 'zähler-😀', labels: { 'équipe': 'café' } };
      assert.deepEqual(readFlatNode(buildFlatNode(node)), node);
    });
  });

  describe('corrupt blobs', () => {
    it('rejects every truncation of a flatc blob that cuts into its data', () => {
      const blob = flatcPod();
      // The last byte is alignment padding; every shorter prefix loses part of a string.
      for (let n = 0; n < blob.length - 1; n++) {
        assert.throws(() => readFlatNode(blob.subarray(0, n)), FlatNodeError, `prefix of ${n} bytes`);
      }
    });

    it('rejects a root offset that points past the end', () => {
      const blob = flatcPod();
      blob.writeUInt32LE(blob.length + 8, 0);
      assert.throws(() => readFlatNode(blob), /corrupt FlatNode: .*runs past/);
    });

    it('rejects a string length that runs past the end', () => {
      const blob = flatcPod();
      const nameAt = blob.length - 2 - 30 - 4; // length prefix of the 30-character pod name, stored last
      assert.equal(blob.readUInt32LE(nameAt), 30);
      blob.writeUInt32LE(1_000_000, nameAt);
      assert.throws(() => readFlatNode(blob), FlatNodeError);
    });

    it('rejects a string that is not UTF-8', () => {
      const blob = flatcPod();
      blob[blob.length - 2 - 30] = 0xff; // first byte of the pod name
      assert.throws(() => readFlatNode(blob), /not UTF-8/);
    });

    it('never fails on random bytes with anything but FlatNodeError', () => {
      let rejected = 0;
      for (const b of randomBuffers(42, 3000)) {
        try {
          readFlatNode(b);
        } catch (e) {
          assert.ok(e instanceof FlatNodeError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
          rejected++;
        }
      }
      assert.ok(rejected > 2900, `only ${rejected} of 3000 random buffers rejected`);
    });
  });
});
