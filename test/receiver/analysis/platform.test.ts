import { strict as assert } from 'node:assert';
import { detectPlatform } from '../../../receiver/src/analysis/analyze-workload';
import type { MetadataTree } from '../../../receiver/src/analysis/metadata-struct';
import { flatNodeToMetadata } from '../../../receiver/src/analysis/peer-metadata';
import { flatNodeOf, gateway, nodeMetadataOf, peerStructOf, pod, vm } from '../../fixtures/mesh-fixtures';

const shop = pod('productcatalogservice', 'boutique');
const gce = vm('checkoutservice', 'boutique');
const bareMetal = vm('paymentservice', 'boutique', { onGcp: false });

describe('platform detection', () => {
  const cases: [string, MetadataTree, string][] = [
    ['a pod\'s node metadata', nodeMetadataOf(shop), 'kubernetes'],
    ['a gateway pod\'s node metadata', nodeMetadataOf(gateway()), 'kubernetes'],
    ['a GCE VM\'s node metadata', nodeMetadataOf(gce), 'vm'],
    ['the node metadata of a VM outside Google Cloud', nodeMetadataOf(bareMetal), 'vm'],
    ['a pod\'s FlatNode from Istio 1.7-1.18', flatNodeToMetadata(flatNodeOf(shop)), 'kubernetes'],
    ['a VM\'s FlatNode from Istio 1.7-1.18', flatNodeToMetadata(flatNodeOf(gce)), 'vm'],
    ['a pod\'s FlatNode from Istio 1.19-1.23', flatNodeToMetadata(flatNodeOf(shop, 'workload')), 'kubernetes'],
    ['a VM\'s FlatNode from Istio 1.19-1.23', flatNodeToMetadata(flatNodeOf(bareMetal, 'workload')), 'vm'],
    ['a pod\'s Istio 1.24+ Struct (type deployment)', peerStructOf(shop), 'kubernetes'],
    ['a VM\'s Istio 1.24+ Struct (no type)', peerStructOf(bareMetal), 'vm'],
    ['a node-shaped Struct of a pod', peerStructOf(shop, 'node-shaped'), 'kubernetes'],
    ['a node-shaped Struct of a VM', peerStructOf(gce, 'node-shaped'), 'vm'],
    // What Istio knows of an upstream found only through endpoint metadata: no instance name, no owner.
    ['a peer known only by workload and service', { workload: 'cartservice', namespace: 'boutique', service: 'cartservice', cluster: 'Kubernetes' }, 'unknown'],
    ['empty metadata', {}, 'unknown'],
  ];
  for (const [what, metadata, platform] of cases) {
    it(`finds ${platform} for ${what}`, () => {
      assert.equal(detectPlatform(metadata), platform);
    });
  }

  it('takes a GKE cluster name over a GCE instance (GKE nodes are GCE instances too)', () => {
    assert.equal(detectPlatform({ PLATFORM_METADATA: { gcp_gke_cluster_name: 'c', gcp_gce_instance: 'gke-node-1' } }), 'kubernetes');
  });

  it('does not take a workload with a non-Kubernetes owner for a VM', () => {
    assert.equal(detectPlatform({ NAME: 'x', WORKLOAD_NAME: 'x', OWNER: 'something://else' }), 'unknown');
  });
});
