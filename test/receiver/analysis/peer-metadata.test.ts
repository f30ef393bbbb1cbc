import { strict as assert } from 'node:assert';
import { buildFlatNode } from '../../../receiver/src/analysis/flat-node';
import { decodePeerAny, flatNodeNamingView, flatNodeToMetadata } from '../../../receiver/src/analysis/peer-metadata';
import { flatNodePeerAny, structPeerAny } from '../../../receiver/src/analysis/peer-metadata-encode';
import { bytesValueAny, flatNodeOf, peerStructOf, pod, vm } from '../../fixtures/mesh-fixtures';

const cart = pod('cartservice', 'boutique');
const checkout = vm('checkoutservice', 'boutique');

describe('peer metadata decoding', () => {
  it('decodes an Istio 1.24+ Struct peer to its keys', () => {
    const r = decodePeerAny(structPeerAny(peerStructOf(cart)));
    assert.deepEqual(r, { ok: true, format: 'struct', metadata: peerStructOf(cart), naming: peerStructOf(cart) });
  });

  it('decodes nested Struct values (LABELS) of a node-shaped Struct', () => {
    const r = decodePeerAny(structPeerAny(peerStructOf(checkout, 'node-shaped')));
    assert.ok(r.ok);
    assert.deepEqual(r.metadata.LABELS, {
      'service.istio.io/canonical-name': 'checkoutservice', 'service.istio.io/canonical-revision': 'v1', app: 'checkoutservice',
    });
  });

  it('decodes a BytesValue FlatNode peer under node metadata keys', () => {
    const r = decodePeerAny(flatNodePeerAny(flatNodeOf(cart)));
    assert.ok(r.ok);
    assert.equal(r.format, 'flatnode');
    assert.deepEqual(r.metadata, flatNodeToMetadata(flatNodeOf(cart)));
    assert.equal(r.metadata.NAME, cart.name);
    assert.equal(r.metadata.OWNER, 'kubernetes://apis/apps/v1/namespaces/boutique/deployments/cartservice');
    assert.equal(r.metadata.APP_CONTAINERS, 'server');
    assert.deepEqual(r.metadata.PLATFORM_METADATA, {
      gcp_project: 'meshscope-dev', gcp_project_number: '123456789012', gcp_location: 'us-central1-a', gcp_gke_cluster_name: 'meshscope-dev',
    });
  });

  it('shows rules only NAME, NAMESPACE, CLUSTER_ID and LABELS of a FlatNode, as ServiceMetaInfoAdapter.extractStructFromNodeFlatBuffer', () => {
    const r = decodePeerAny(flatNodePeerAny(flatNodeOf(cart)));
    assert.ok(r.ok);
    assert.deepEqual(r.naming, {
      NAME: cart.name, NAMESPACE: 'boutique', CLUSTER_ID: 'Kubernetes', LABELS: flatNodeOf(cart).labels,
    });
  });

  it('gives a FlatNode without names empty NAME, NAMESPACE and CLUSTER_ID, as SkyWalking\'s nullToEmpty', () => {
    assert.deepEqual(flatNodeNamingView({ workloadName: 'w' }), { NAME: '', NAMESPACE: '', CLUSTER_ID: '', LABELS: {} });
  });

  it('reads a wasm.* key as a BytesValue whatever its type URL, as ServiceMetaInfoAdapter(Any) does', () => {
    const any = flatNodePeerAny(flatNodeOf(cart));
    const r = decodePeerAny({ ...any, type_url: 'type.googleapis.com/envoy.extensions.filters.common.expr.v3.CelState' }, 'flatnode');
    assert.ok(r.ok);
    assert.equal(r.metadata.NAME, cart.name);
  });

  it('refuses a *_peer key whose Any is not a Struct, as Any.unpack(Struct.class) does', () => {
    const r = decodePeerAny(flatNodePeerAny(flatNodeOf(cart)), 'struct');
    assert.equal(!r.ok && r.problem, 'unknown_any_type');
  });

  it('detects the format from the type URL, whatever host prefixes it', () => {
    const any = structPeerAny(peerStructOf(cart));
    assert.ok(decodePeerAny({ ...any, type_url: 'example.com/google.protobuf.Struct' }).ok);
  });

  it('reports an Any of another type as unknown_any_type', () => {
    const r = decodePeerAny({ type_url: 'type.googleapis.com/google.protobuf.StringValue', value: Buffer.from([0x0a, 0x01, 0x61]) });
    assert.equal(!r.ok && r.problem, 'unknown_any_type');
  });

  it('reports an Any without a type URL as unknown_any_type', () => {
    const r = decodePeerAny({ value: Buffer.from('x') });
    assert.equal(!r.ok && r.problem, 'unknown_any_type');
  });

  it('reports bytes that are not a Struct as struct_malformed', () => {
    const r = decodePeerAny({ type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([0x0a, 0xff, 0xff, 0x01]) });
    assert.equal(!r.ok && r.problem, 'struct_malformed');
  });

  it('reads an empty Struct as a peer with no keys (SkyWalking names it -.-)', () => {
    assert.deepEqual(decodePeerAny(structPeerAny({})), { ok: true, format: 'struct', metadata: {}, naming: {} });
  });

  it('reports an empty BytesValue as peer_metadata_empty', () => {
    const r = decodePeerAny(bytesValueAny(Buffer.alloc(0)));
    assert.equal(!r.ok && r.problem, 'peer_metadata_empty');
  });

  it('reports bytes that are not a BytesValue as bytes_value_malformed', () => {
    const r = decodePeerAny({ type_url: 'type.googleapis.com/google.protobuf.BytesValue', value: Buffer.from([0x0a, 0x40, 0x01]) });
    assert.equal(!r.ok && r.problem, 'bytes_value_malformed');
  });

  it('reports a truncated FlatNode as flatnode_corrupt', () => {
    const blob = buildFlatNode(flatNodeOf(cart));
    const r = decodePeerAny(bytesValueAny(blob.subarray(0, blob.length / 2)));
    assert.equal(!r.ok && r.problem, 'flatnode_corrupt');
  });

  it('reports random bytes in a BytesValue as flatnode_corrupt', () => {
    const r = decodePeerAny(bytesValueAny(Buffer.from('d2f1a09c44e3b8177a6c5e0f9b2d4c81ee03', 'hex')));
    assert.equal(!r.ok && r.problem, 'flatnode_corrupt');
  });
});
