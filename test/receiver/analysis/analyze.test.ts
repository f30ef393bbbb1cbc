import { strict as assert } from 'node:assert';
import { inspect } from 'node:util';
import { AnalyzerOptions, MetadataProblem, SkipReason, createAnalyzer } from '../../../receiver/src/analysis/analyze';
import {
  HttpAccessLogEntry, Node, StreamAccessLogsMessage, TcpAccessLogEntry, alsServiceDefinition, loadAlsProtos,
} from '../../../receiver/src/als/envoy-protos';
import { buildFlatNode } from '../../../receiver/src/analysis/flat-node';
import type { HttpMeshMetric, MeshMetric, TcpMeshMetric } from '../../../receiver/src/analysis/mesh-metric';
import { RESPONSE_FLAGS } from '../../../receiver/src/analysis/analyze-entry';
import { flatNodePeerAny, structPeerAny } from '../../../receiver/src/analysis/peer-metadata-encode';
import {
  PeerEncoding, WorkloadSpec, alsMessage, bytesValueAny, flatNodeOf, gateway, gatewayEntry, httpCall, nodeOf, peerStructOf, pod,
  tcpCall, vm,
} from '../../fixtures/mesh-fixtures';

/** An analyzer whose observer tallies problems and skipped entries, as the receiver's metrics do. */
function analyzer(opts: AnalyzerOptions = {}) {
  const problems: MetadataProblem[] = [];
  const skipped: SkipReason[] = [];
  const a = createAnalyzer({ ...opts, observer: { metadataProblem: (r) => problems.push(r), entrySkipped: (r) => skipped.push(r) } });
  return {
    problems,
    skipped,
    http: (node: Node | undefined, entry: HttpAccessLogEntry) => a.forNode(node).http(entry) as HttpMeshMetric[],
    tcp: (node: Node | undefined, entry: TcpAccessLogEntry) => a.forNode(node).tcp(entry) as TcpMeshMetric[],
  };
}

function only<M extends MeshMetric>(metrics: M[]): M {
  assert.equal(metrics.length, 1, `expected one metric, got ${inspect(metrics)}`);
  return metrics[0];
}

const edge = (m: MeshMetric) => ({
  source: m.sourceServiceName, sourceInstance: m.sourceServiceInstance, dest: m.destServiceName, destInstance: m.destServiceInstance,
});

const frontend = pod('frontend', 'boutique', { name: 'frontend-7d4b9c8f6-h2j5k', ip: '10.8.1.21', istioVersion: '1.22.3' });
const cart = pod('cartservice', 'boutique', { name: 'cartservice-6d7f5c9b8-2kq9x', ip: '10.8.1.34', port: 7070 });
const checkout = vm('checkoutservice', 'boutique', { name: 'checkoutservice-vm', ip: '10.128.0.21', port: 5050 });
const payment = vm('paymentservice', 'boutique', { name: 'paymentservice-vm', ip: '10.128.0.22', port: 50051, onGcp: false });

const FRONTEND_PROPERTIES = {
  pod: 'frontend-7d4b9c8f6-h2j5k', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'frontend', version: 'v1',
  istio_version: '1.22.3', platform: 'kubernetes',
};
/** Our additions that show each workload's platform and more (--instance-properties extended). */
const EXTENDED: AnalyzerOptions = { instanceProperties: 'extended' };

const CART_STRUCT_PROPERTIES = {
  pod: 'cartservice-6d7f5c9b8-2kq9x', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'cartservice', version: 'v1',
  platform: 'kubernetes',
};

describe('analysis', () => {
  describe('one representative call, every field', () => {
    const call = httpCall(frontend, cart, { method: 'POST', path: '/hipstershop.CartService/AddItem' });

    it('makes the client side of a pod-to-pod call from its upstream peer (extended properties)', () => {
      const a = analyzer(EXTENDED);
      assert.deepEqual(only(a.http(nodeOf(frontend), call.client)), {
        kind: 'http',
        startTime: 1_764_072_000_124, // start 12:00:00.123456789 + 1.253 ms to the first upstream byte, in whole ms
        endTime: 1_764_072_000_133, // start + 10.435 ms to the last upstream byte
        sourceServiceName: 'frontend.boutique',
        sourceServiceInstance: 'frontend-7d4b9c8f6-h2j5k',
        destServiceName: 'cartservice.boutique',
        destServiceInstance: 'cartservice-6d7f5c9b8-2kq9x',
        endpoint: 'POST:/hipstershop.CartService/AddItem',
        latency: 9,
        responseCode: 200,
        status: true,
        protocol: 'HTTP',
        detectPoint: 'client',
        tlsMode: 'NONE',
        internalErrorCode: '',
        internalRequestLatencyNanos: 1_253_000,
        internalResponseLatencyNanos: 310_000, // 10.110 ms first byte back downstream - 9.800 ms first byte from upstream
        sourceInstanceProperties: FRONTEND_PROPERTIES,
        destInstanceProperties: CART_STRUCT_PROPERTIES,
      });
      assert.deepEqual(a.problems, []);
    });

    it('makes the server side of the same call from its downstream peer (extended properties)', () => {
      const a = analyzer(EXTENDED);
      assert.deepEqual(only(a.http(nodeOf(cart), call.server)), {
        kind: 'http',
        startTime: 1_764_072_000_124, // the server's entry starts 1.5 ms after the client's
        endTime: 1_764_072_000_131, // + 7.811 ms to the last byte sent downstream
        sourceServiceName: 'frontend.boutique',
        sourceServiceInstance: 'frontend-7d4b9c8f6-h2j5k',
        destServiceName: 'cartservice.boutique',
        destServiceInstance: 'cartservice-6d7f5c9b8-2kq9x',
        endpoint: 'POST:/hipstershop.CartService/AddItem',
        latency: 7,
        responseCode: 200,
        status: true,
        protocol: 'HTTP',
        detectPoint: 'server',
        tlsMode: 'mTLS',
        internalErrorCode: '',
        internalRequestLatencyNanos: 841_000,
        internalResponseLatencyNanos: 147_000,
        sourceInstanceProperties: {
          pod: 'frontend-7d4b9c8f6-h2j5k', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'frontend', version: 'v1',
          platform: 'kubernetes',
        },
        destInstanceProperties: {
          pod: 'cartservice-6d7f5c9b8-2kq9x', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'cartservice',
          version: 'v1', istio_version: '1.22.3', platform: 'kubernetes',
        },
      });
    });

    it('sends SkyWalking\'s instance properties by default: pod and namespace of each side', () => {
      const m = only(analyzer().http(nodeOf(frontend), call.client));
      assert.deepEqual(m.sourceInstanceProperties, { pod: frontend.name, namespace: 'boutique' });
      assert.deepEqual(m.destInstanceProperties, { pod: cart.name, namespace: 'boutique' });
    });

    it('analyses entries decoded from Envoy\'s protos exactly as the objects they were encoded from', () => {
      const method = alsServiceDefinition().StreamAccessLogs;
      const message = alsMessage({ http: [httpCall(frontend, cart, { peerEncoding: 'both' }).client] }, nodeOf(frontend));
      const decoded = method.requestDeserialize(method.requestSerialize(message)) as StreamAccessLogsMessage;
      const a = analyzer();
      assert.deepEqual(
        a.http(decoded.identifier!.node, decoded.http_logs!.log_entry![0]),
        a.http(message.identifier!.node, message.http_logs!.log_entry![0]),
      );
      assert.deepEqual(a.problems, []);
    });
  });

  describe('both sides of one call', () => {
    const pairs: [string, WorkloadSpec, WorkloadSpec, string, string][] = [
      ['K8s to K8s', frontend, cart, 'kubernetes', 'kubernetes'],
      ['K8s to VM', frontend, checkout, 'kubernetes', 'vm'],
      ['VM to K8s', checkout, cart, 'vm', 'kubernetes'],
      ['VM to VM', checkout, payment, 'vm', 'vm'],
    ];
    const encodings: PeerEncoding[] = ['flatnode', 'struct', 'both'];
    for (const [what, client, server, clientPlatform, serverPlatform] of pairs) {
      for (const encoding of encodings) {
        it(`gives one consistent edge for ${what} with ${encoding} peer metadata`, () => {
          const a = analyzer();
          const call = httpCall(client, server, { peerEncoding: encoding });
          const c = only(a.http(nodeOf(client), call.client));
          const s = only(a.http(nodeOf(server), call.server));
          assert.deepEqual(edge(c), edge(s));
          assert.deepEqual(edge(c), {
            source: `${client.app}.boutique`, sourceInstance: client.name, dest: `${server.app}.boutique`, destInstance: server.name,
          });
          assert.deepEqual([c.detectPoint, s.detectPoint], ['client', 'server']);
          assert.deepEqual(a.problems, []);
        });
      }

      it(`marks the platforms of ${what} on both sides of the call with extended properties`, () => {
        const a = analyzer(EXTENDED);
        for (const encoding of encodings) {
          const call = httpCall(client, server, { peerEncoding: encoding });
          for (const m of [...a.http(nodeOf(client), call.client), ...a.http(nodeOf(server), call.server)]) {
            assert.equal(m.sourceInstanceProperties.platform, clientPlatform, `${encoding} ${m.detectPoint} source`);
            assert.equal(m.destInstanceProperties.platform, serverPlatform, `${encoding} ${m.detectPoint} dest`);
          }
        }
      });
    }

    it('counts a call once when its entry carries both the legacy and the 1.24+ keys', () => {
      const a = analyzer();
      const call = httpCall(frontend, checkout, { peerEncoding: 'both' });
      assert.ok(call.client.common_properties!.filter_state_objects!['wasm.upstream_peer']);
      assert.ok(call.client.common_properties!.filter_state_objects!['upstream_peer']);
      assert.equal(a.http(nodeOf(frontend), call.client).length, 1);
      assert.equal(a.http(nodeOf(checkout), call.server).length, 1);
    });

    it('prefers the Struct when both keys are present', () => {
      const a = analyzer();
      const call = httpCall(frontend, cart, { peerEncoding: 'both' });
      call.client.common_properties!.filter_state_objects!['wasm.upstream_peer'] = flatNodePeerAny(flatNodeOf(checkout));
      assert.equal(only(a.http(nodeOf(frontend), call.client)).destServiceName, 'cartservice.boutique');
    });

    it('falls back to the FlatNode when the Struct is corrupt, counting the Struct once', () => {
      const a = analyzer();
      const call = httpCall(frontend, cart, { peerEncoding: 'both' });
      call.client.common_properties!.filter_state_objects!['upstream_peer'] = {
        type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([0x0a, 0x05, 0x0a]),
      };
      assert.equal(only(a.http(nodeOf(frontend), call.client)).destServiceName, 'cartservice.boutique');
      assert.deepEqual(a.problems, ['struct_malformed']);
    });

    it('reads the node-shaped Struct form too', () => {
      const a = analyzer(EXTENDED);
      const call = httpCall(checkout, cart);
      call.server.common_properties!.filter_state_objects = { downstream_peer: structPeerAny(peerStructOf(checkout, 'node-shaped')) };
      const m = only(a.http(nodeOf(cart), call.server));
      assert.deepEqual(edge(m), { source: 'checkoutservice.boutique', sourceInstance: 'checkoutservice-vm', dest: 'cartservice.boutique', destInstance: cart.name });
      assert.equal(m.sourceInstanceProperties.platform, 'vm');
    });

    it('reads Istio 1.19-1.23 FlatNodes that carry only workload fields', () => {
      const a = analyzer(EXTENDED);
      const call = httpCall(checkout, cart);
      call.server.common_properties!.filter_state_objects = { 'wasm.downstream_peer': flatNodePeerAny(flatNodeOf(checkout, 'workload')) };
      const m = only(a.http(nodeOf(cart), call.server));
      assert.equal(m.sourceServiceName, 'checkoutservice.boutique');
      assert.equal(m.sourceInstanceProperties.platform, 'vm');
    });
  });

  describe('entry fields', () => {
    const server = (o: Parameters<typeof httpCall>[2]) => only(analyzer().http(nodeOf(cart), httpCall(frontend, cart, o).server));
    const client = (o: Parameters<typeof httpCall>[2]) => only(analyzer().http(nodeOf(frontend), httpCall(frontend, cart, o).client));

    it('counts a 4xx as success on the server side and as failure on the client side, as SkyWalking does', () => {
      assert.equal(server({ responseCode: 404 }).status, true);
      assert.equal(client({ responseCode: 404 }).status, false);
    });

    it('counts a 5xx as failure on both sides', () => {
      assert.equal(server({ responseCode: 503 }).status, false);
      assert.equal(client({ responseCode: 503 }).status, false);
    });

    it('takes 200 when Envoy logged no response code', () => {
      const m = server({ responseCode: null });
      assert.equal(m.responseCode, 200);
      assert.equal(m.status, true);
    });

    it('writes the endpoint as METHOD:path', () => {
      assert.equal(client({ method: 'GET', path: '/product/OLJCESPC7Z' }).endpoint, 'GET:/product/OLJCESPC7Z');
    });

    it('writes the endpoint as / for an entry without a request', () => {
      const entry = httpCall(frontend, cart).client;
      delete entry.request;
      assert.equal(only(analyzer().http(nodeOf(frontend), entry)).endpoint, '/');
    });

    describe('protocol, SkyWalking\'s way (default)', () => {
      it('says HTTP when the scheme starts with http, whatever else the entry shows', () => {
        assert.equal(client({ scheme: 'https' }).protocol, 'HTTP');
        assert.equal(client({ requestHeaders: { 'content-type': 'application/grpc' } }).protocol, 'HTTP');
        assert.equal(client({ protocolVersion: 'HTTP2', method: 'POST', path: '/hipstershop.CartService/GetCart' }).protocol, 'HTTP');
      });

      it('says gRPC for any other scheme, an empty one, or no request at all', () => {
        assert.equal(client({ scheme: 'grpc' }).protocol, 'gRPC');
        assert.equal(client({ scheme: '' }).protocol, 'gRPC');
        const entry = httpCall(frontend, cart).client;
        delete entry.request;
        assert.equal(only(analyzer().http(nodeOf(frontend), entry)).protocol, 'gRPC');
      });
    });

    describe('protocol with --protocol-detection grpc', () => {
      const GRPC: AnalyzerOptions = { protocolDetection: 'grpc' };
      const grpcClient = (o: Parameters<typeof httpCall>[2]) => only(analyzer(GRPC).http(nodeOf(frontend), httpCall(frontend, cart, o).client));
      const grpcServer = (o: Parameters<typeof httpCall>[2]) => only(analyzer(GRPC).http(nodeOf(cart), httpCall(frontend, cart, o).server));

      it('detects gRPC from a logged gRPC content type', () => {
        assert.equal(grpcClient({ requestHeaders: { 'content-type': 'application/grpc+proto' } }).protocol, 'gRPC');
      });

      it('detects gRPC from a logged grpc-status trailer', () => {
        assert.equal(grpcServer({ responseTrailers: { 'grpc-status': '0' } }).protocol, 'gRPC');
      });

      it('detects gRPC from a scheme other than http or https', () => {
        assert.equal(grpcClient({ scheme: 'grpc' }).protocol, 'gRPC');
        assert.equal(grpcClient({ scheme: 'https' }).protocol, 'HTTP');
      });

      it('detects gRPC from an HTTP/2 POST to /package.Service/Method, which is all Istio logs by default', () => {
        const grpcCall = { protocolVersion: 'HTTP2', method: 'POST', path: '/hipstershop.CartService/GetCart' } as const;
        assert.equal(grpcClient(grpcCall).protocol, 'gRPC');
        assert.equal(grpcServer(grpcCall).protocol, 'gRPC');
      });

      it('keeps HTTP for requests that only resemble gRPC', () => {
        assert.equal(grpcClient({ protocolVersion: 'HTTP11', method: 'POST', path: '/hipstershop.CartService/GetCart' }).protocol, 'HTTP');
        assert.equal(grpcClient({ protocolVersion: 'HTTP2', method: 'GET', path: '/hipstershop.CartService/GetCart' }).protocol, 'HTTP');
        assert.equal(grpcClient({ protocolVersion: 'HTTP2', method: 'POST', path: '/cart/checkout' }).protocol, 'HTTP');
        assert.equal(grpcClient({ protocolVersion: 'HTTP2', method: 'POST', path: '/hipstershop.CartService/GetCart?x=1' }).protocol, 'HTTP');
      });

      it('reports HTTP when nothing says gRPC, also with no scheme or no request', () => {
        assert.equal(grpcClient({}).protocol, 'HTTP');
        assert.equal(grpcClient({ scheme: '' }).protocol, 'HTTP');
      });
    });

    it('reads TLS mode NONE, TLS or mTLS from the server side\'s certificates', () => {
      assert.equal(server({ tls: 'none' }).tlsMode, 'NONE');
      assert.equal(server({ tls: 'tls' }).tlsMode, 'TLS');
      assert.equal(server({ tls: 'mtls' }).tlsMode, 'mTLS');
    });

    it('counts a certificate by its subject when it has no URI SAN', () => {
      const entry = httpCall(frontend, cart).server;
      entry.common_properties!.tls_properties = {
        local_certificate_properties: { subject: 'CN=cart', subject_alt_name: [{ dns: 'cart' }] },
        peer_certificate_properties: { subject_alt_name: [{ dns: 'frontend' }] },
      };
      assert.equal(only(analyzer().http(nodeOf(cart), entry)).tlsMode, 'TLS');
    });

    it('reports NONE on the client side, whose entry describes the plain-text hop from the app', () => {
      const entry = httpCall(frontend, cart).client;
      entry.common_properties!.tls_properties = httpCall(frontend, cart, { tls: 'mtls' }).server.common_properties!.tls_properties;
      assert.equal(only(analyzer().http(nodeOf(frontend), entry)).tlsMode, 'NONE');
    });

    it('names the internal error code after the first response flag in SkyWalking\'s order', () => {
      assert.equal(client({ responseFlags: { upstream_request_timeout: true } }).internalErrorCode, 'upstream_request_timeout');
      assert.equal(client({ responseFlags: { local_reset: true, no_healthy_upstream: true } }).internalErrorCode, 'no_healthy_upstream');
    });

    it('names unauthorized_details from the presence of its message', () => {
      const entry = httpCall(frontend, cart).server;
      entry.common_properties!.response_flags = { unauthorized_details: { reason: 'EXTERNAL_SERVICE' } };
      assert.equal(only(analyzer().http(nodeOf(cart), entry)).internalErrorCode, 'unauthorized_details');
    });

    it('leaves the internal error code empty for flags SkyWalking does not name', () => {
      assert.equal(client({ responseFlags: { upstream_remote_reset: true } }).internalErrorCode, '');
    });

    it('reads only flags that Envoy\'s ResponseFlags defines', () => {
      const type = loadAlsProtos().definition['envoy.data.accesslog.v3.ResponseFlags'] as { type: { field: { name: string }[] } };
      const fields = new Set(type.type.field.map((f) => f.name));
      for (const flag of RESPONSE_FLAGS) assert.ok(fields.has(flag), flag);
    });

    it('keeps latency at least 1 ms', () => {
      const m = client({ clientTiming: { firstUpstreamTx: 1.2, lastUpstreamRx: 1.9 } });
      assert.equal(m.endTime - m.startTime, 0);
      assert.equal(m.latency, 1);
    });
  });

  describe('TCP', () => {
    const redis = pod('redis-cart', 'boutique', { name: 'redis-cart-5b6f47b748-9qzkp', port: 6379 });
    const call = tcpCall(cart, redis, { receivedBytes: 1_234, sentBytes: 56_789, peerEncoding: 'flatnode' });

    it('pins every field of the client side of a TCP connection (extended properties)', () => {
      const a = analyzer(EXTENDED);
      assert.deepEqual(only(a.tcp(nodeOf(cart), call.client)), {
        kind: 'tcp',
        startTime: 1_764_072_000_124,
        endTime: 1_764_072_000_133,
        sourceServiceName: 'cartservice.boutique',
        sourceServiceInstance: 'cartservice-6d7f5c9b8-2kq9x',
        destServiceName: 'redis-cart.boutique',
        destServiceInstance: 'redis-cart-5b6f47b748-9qzkp',
        detectPoint: 'client',
        tlsMode: 'NONE',
        internalErrorCode: '',
        internalRequestLatencyNanos: 1_253_000,
        internalResponseLatencyNanos: 946_000, // 10.746 ms last byte downstream - 9.800 ms first byte from upstream
        sourceInstanceProperties: {
          pod: 'cartservice-6d7f5c9b8-2kq9x', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'cartservice',
          version: 'v1', istio_version: '1.22.3', platform: 'kubernetes',
        },
        destInstanceProperties: {
          pod: 'redis-cart-5b6f47b748-9qzkp', namespace: 'boutique', cluster_id: 'Kubernetes', workload: 'redis-cart',
          version: 'v1', istio_version: '1.22.3', platform: 'kubernetes',
        },
        receivedBytes: 1_234,
        sentBytes: 56_789,
      });
    });

    it('gives the server side of the connection the same edge, its times and mTLS', () => {
      const a = analyzer();
      const c = only(a.tcp(nodeOf(cart), call.client));
      const s = only(a.tcp(nodeOf(redis), call.server));
      assert.deepEqual(edge(s), edge(c));
      assert.deepEqual([s.detectPoint, s.tlsMode, s.startTime, s.endTime], ['server', 'mTLS', 1_764_072_000_124, 1_764_072_000_131]);
      assert.deepEqual([s.receivedBytes, s.sentBytes], [1_234, 56_789]);
    });

    it('keeps a byte count beyond 2^53 exact when it reaches analysis as digits', () => {
      const entry = tcpCall(cart, redis).client;
      entry.connection_properties = { received_bytes: '9007199254740993', sent_bytes: 7 };
      const m = only(analyzer().tcp(nodeOf(cart), entry));
      assert.deepEqual([m.receivedBytes, m.sentBytes], [9_007_199_254_740_993n, 7]);
    });

    it('gives internal latencies in whole nanoseconds, exact beyond 2^53', () => {
      const entry = tcpCall(cart, redis).client;
      entry.common_properties!.time_to_first_upstream_tx_byte = { seconds: 10_000_000, nanos: 1 };
      assert.equal(only(analyzer().tcp(nodeOf(cart), entry)).internalRequestLatencyNanos, 10_000_000_000_000_001n);
    });

    it('analyses a TCP connection to a VM with Struct metadata', () => {
      const a = analyzer(EXTENDED);
      const m = only(a.tcp(nodeOf(frontend), tcpCall(frontend, checkout).client));
      assert.equal(m.destServiceName, 'checkoutservice.boutique');
      assert.equal(m.destInstanceProperties.platform, 'vm');
    });
  });

  describe('entries without peer metadata, SkyWalking\'s way (default)', () => {
    it('makes nothing of an outbound call to outside the mesh, counting it no_peer_metadata', () => {
      const a = analyzer();
      const entry = httpCall(frontend, cart, { peerEncoding: 'none' }).client;
      entry.common_properties!.upstream_cluster = 'outbound|443||storage.googleapis.com';
      assert.deepEqual(a.http(nodeOf(frontend), entry), []);
      assert.deepEqual(a.skipped, ['no_peer_metadata']);
    });

    it('makes nothing of an inbound call without a peer, counting it no_peer_metadata', () => {
      const a = analyzer();
      assert.deepEqual(a.http(nodeOf(cart), httpCall(frontend, cart, { peerEncoding: 'none' }).server), []);
      assert.deepEqual(a.skipped, ['no_peer_metadata']);
    });

    it('makes nothing of an entry whose filter state holds no peer key', () => {
      const a = analyzer();
      const entry = httpCall(frontend, cart, { peerEncoding: 'none' }).client;
      entry.common_properties!.filter_state_objects = { 'wasm.upstream_peer_id': bytesValueAny(Buffer.from('sidecar~10.0.0.1~x.y~y.svc.cluster.local')) };
      assert.deepEqual(a.http(nodeOf(frontend), entry), []);
      assert.deepEqual(a.skipped, ['no_peer_metadata']);
    });

    it('counts an entry without common properties and makes nothing of it', () => {
      const a = analyzer();
      assert.deepEqual(a.http(nodeOf(cart), { request: { path: '/' } }), []);
      assert.deepEqual(a.skipped, ['no_common_properties']);
    });
  });

  describe('entries without peer metadata, with --peerless-calls upstream-host', () => {
    const HOST: AnalyzerOptions = { peerlessCalls: 'upstream-host' };
    const outbound = (cluster: string) => {
      const entry = httpCall(frontend, cart, { peerEncoding: 'none' }).client;
      entry.common_properties!.upstream_cluster = cluster;
      entry.common_properties!.upstream_remote_address = { socket_address: { address: '142.250.72.187', port_value: 443 } };
      return entry;
    };

    it('names the destination of an outbound call after the service host of its upstream cluster', () => {
      const a = analyzer(HOST);
      const m = only(a.http(nodeOf(frontend), outbound('outbound|443||storage.googleapis.com')));
      assert.deepEqual(edge(m), {
        source: 'frontend.boutique', sourceInstance: frontend.name, dest: 'storage.googleapis.com', destInstance: 'storage.googleapis.com',
      });
      assert.equal(m.detectPoint, 'client');
      assert.deepEqual(m.destInstanceProperties, {});
      assert.deepEqual(a.skipped, []);
    });

    it('adds the upstream cluster and an unknown platform to the peer with extended properties', () => {
      const m = only(analyzer({ ...HOST, ...EXTENDED }).http(nodeOf(frontend), outbound('outbound|443||storage.googleapis.com')));
      assert.deepEqual(m.destInstanceProperties, { upstream_cluster: 'outbound|443||storage.googleapis.com', platform: 'unknown' });
    });

    it('never names a service after an IP address: such an entry is counted peer_is_ip_address', () => {
      const a = analyzer(HOST);
      assert.deepEqual(a.http(nodeOf(frontend), outbound('outbound|80||10.96.4.17')), []);
      assert.deepEqual(a.http(nodeOf(frontend), outbound('outbound|80||2001:db8::7')), []);
      assert.deepEqual(a.skipped, ['peer_is_ip_address', 'peer_is_ip_address']);
    });

    it('counts a passthrough call, whose cluster names no host, as no_service_host rather than naming it by address', () => {
      const a = analyzer(HOST);
      assert.deepEqual(a.http(nodeOf(frontend), outbound('PassthroughCluster')), []);
      assert.deepEqual(a.skipped, ['no_service_host']);
    });

    it('gives an inbound call without a peer the source UNKNOWN, never the caller\'s address', () => {
      const a = analyzer(HOST);
      const m = only(a.http(nodeOf(cart), httpCall(frontend, cart, { peerEncoding: 'none' }).server));
      assert.deepEqual(edge(m), { source: 'UNKNOWN', sourceInstance: 'UNKNOWN', dest: 'cartservice.boutique', destInstance: cart.name });
      assert.equal(m.detectPoint, 'server');
    });
  });

  describe('gateway', () => {
    const gw = gateway({ name: 'istio-ingressgateway-5d9f8c7b6-qw7rt', ip: '10.8.2.5' });
    const unknownToGateway = { source: 'UNKNOWN', sourceInstance: 'UNKNOWN', dest: 'istio-ingressgateway.istio-system', destInstance: gw.name };
    const tcpThroughGateway = (encoding: 'struct' | 'none') => {
      const entry = tcpCall(gw, frontend, { peerEncoding: encoding }).client;
      return entry;
    };

    it('makes a client side to the upstream peer and a server side from an unknown source', () => {
      const a = analyzer();
      const metrics = a.http(nodeOf(gw), gatewayEntry(gw, frontend, { path: '/cart' }));
      assert.deepEqual(metrics.map((m) => [m.detectPoint, edge(m)]), [
        ['client', { source: 'istio-ingressgateway.istio-system', sourceInstance: gw.name, dest: 'frontend.boutique', destInstance: frontend.name }],
        ['server', unknownToGateway],
      ]);
      assert.deepEqual(metrics[1]!.sourceInstanceProperties, {}, 'SkyWalking\'s UNKNOWN has no tags');
      assert.deepEqual(a.problems, []);
    });

    it('makes nothing of an HTTP entry with empty filter state, as SkyWalking returns early', () => {
      const a = analyzer();
      assert.deepEqual(a.http(nodeOf(gw), gatewayEntry(gw, frontend, { peerEncoding: 'none' })), []);
      assert.deepEqual(a.skipped, ['no_peer_metadata']);
    });

    it('makes a server side from UNKNOWN of an HTTP entry whose filter state holds no usable peer', () => {
      const entry = gatewayEntry(gw, frontend, { peerEncoding: 'none' });
      entry.common_properties!.filter_state_objects = { 'wasm.upstream_peer': bytesValueAny(Buffer.alloc(0)) };
      const m = only(analyzer().http(nodeOf(gw), entry));
      assert.deepEqual(edge(m), unknownToGateway);
      assert.equal(m.latency, 10); // the server side of the gateway spans the whole 10.746 ms
    });

    it('drops the UNKNOWN side of a TCP entry that gives nothing else, as SkyWalking does', () => {
      const a = analyzer();
      const entry = tcpThroughGateway('none');
      entry.common_properties!.filter_state_objects = { 'wasm.upstream_peer': bytesValueAny(Buffer.alloc(0)) };
      assert.deepEqual(a.tcp(nodeOf(gw), entry), []);
      assert.deepEqual(a.skipped, ['peer_metadata_unreadable']);
    });

    it('keeps the UNKNOWN side of a TCP entry that also gives its client side', () => {
      const metrics = analyzer().tcp(nodeOf(gw), tcpThroughGateway('struct'));
      assert.deepEqual(metrics.map((m) => m.detectPoint), ['client', 'server']);
      assert.deepEqual(edge(metrics[1]!), unknownToGateway);
    });

    it('makes a server side from UNKNOWN of any peerless entry, HTTP or TCP, with --peerless-calls upstream-host', () => {
      const a = analyzer({ peerlessCalls: 'upstream-host' });
      assert.deepEqual(edge(only(a.http(nodeOf(gw), gatewayEntry(gw, frontend, { peerEncoding: 'none' })))), unknownToGateway);
      assert.deepEqual(edge(only(a.tcp(nodeOf(gw), tcpThroughGateway('none')))), unknownToGateway);
    });
  });

  describe('corrupt metadata', () => {
    const withUpstream = (any: NonNullable<HttpAccessLogEntry['common_properties']>['filter_state_objects']) => {
      const entry = httpCall(frontend, cart, { peerEncoding: 'none' }).client;
      entry.common_properties!.filter_state_objects = any;
      return entry;
    };
    const blob = buildFlatNode(flatNodeOf(cart));
    const cases: [string, ReturnType<typeof withUpstream>, MetadataProblem][] = [
      ['a truncated FlatNode', withUpstream({ 'wasm.upstream_peer': bytesValueAny(blob.subarray(0, 40)) }), 'flatnode_corrupt'],
      ['random bytes as a FlatNode', withUpstream({ 'wasm.upstream_peer': bytesValueAny(Buffer.from('8e1f0c7d2a93b4e5f6071829', 'hex')) }), 'flatnode_corrupt'],
      ['random bytes as a BytesValue', withUpstream({ 'wasm.upstream_peer': { type_url: 'type.googleapis.com/google.protobuf.BytesValue', value: Buffer.from([0x0a, 0x7f]) } }), 'bytes_value_malformed'],
      ['a wrong Any type URL', withUpstream({ upstream_peer: { type_url: 'type.googleapis.com/istio.mixer.v1.Attributes', value: Buffer.from([1, 2]) } }), 'unknown_any_type'],
      ['a malformed Struct', withUpstream({ upstream_peer: { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([0x0a, 0x09, 0x0a, 0x01]) } }), 'struct_malformed'],
      ['an empty BytesValue', withUpstream({ 'wasm.upstream_peer': bytesValueAny(Buffer.alloc(0)) }), 'peer_metadata_empty'],
      ['a FlatNode under a Struct key', withUpstream({ upstream_peer: flatNodePeerAny(flatNodeOf(cart)) }), 'unknown_any_type'],
    ];
    for (const [what, entry, problem] of cases) {
      it(`counts ${what} as ${problem} and skips that direction, as SkyWalking does`, () => {
        const a = analyzer();
        assert.deepEqual(a.http(nodeOf(frontend), entry), []);
        assert.deepEqual(a.problems, [problem]);
        assert.deepEqual(a.skipped, ['peer_metadata_unreadable']);
      });
    }

    it('names a peer whose Struct is empty -.- / -, as FieldsHelper inflates an empty Struct', () => {
      const m = only(analyzer().http(nodeOf(frontend), withUpstream({ upstream_peer: structPeerAny({}) })));
      assert.deepEqual([m.destServiceName, m.destServiceInstance, m.destInstanceProperties], ['-.-', '-', {}]);
    });

    it('keeps the readable direction when the other is corrupt', () => {
      const entry = httpCall(frontend, cart).server;
      entry.common_properties!.filter_state_objects!['upstream_peer'] = { type_url: 'type.googleapis.com/google.protobuf.Struct', value: Buffer.from([0x0a, 0x09]) };
      assert.equal(only(analyzer().http(nodeOf(cart), entry)).detectPoint, 'server');
    });

    it('counts a corrupt value on every entry that carries it', () => {
      const a = analyzer();
      const entry = cases[0][1];
      a.http(nodeOf(frontend), entry);
      a.http(nodeOf(frontend), entry);
      assert.deepEqual(a.problems, ['flatnode_corrupt', 'flatnode_corrupt']);
    });

    it('never throws on entries with odd shapes', () => {
      const a = analyzer();
      const odd: HttpAccessLogEntry[] = [
        {},
        { common_properties: {} },
        { common_properties: { filter_state_objects: { upstream_peer: {} } } },
        { common_properties: { filter_state_objects: { downstream_peer: { type_url: 'type.googleapis.com/google.protobuf.Struct' } } } },
        { common_properties: { start_time: {}, response_flags: {} }, request: {}, response: { response_code: {} } },
      ];
      for (const entry of odd) assert.doesNotThrow(() => a.http(nodeOf(frontend), entry));
      assert.doesNotThrow(() => a.tcp(undefined, {}));
    });
  });

  describe('the stream\'s node', () => {
    const bare = () => ({ ...nodeOf(cart), metadata: undefined });

    it('names a node without metadata -.- / - with no properties, as SkyWalking does, counting node_metadata_missing', () => {
      const a = analyzer();
      const m = only(a.http(bare(), httpCall(frontend, cart).server));
      assert.deepEqual([m.destServiceName, m.destServiceInstance, m.destInstanceProperties], ['-.-', '-', {}]);
      assert.deepEqual(a.problems, ['node_metadata_missing']);
    });

    it('names a node without metadata from its id and cluster with --node-without-metadata node-id', () => {
      const a = analyzer({ nodeWithoutMetadata: 'node-id' });
      const m = only(a.http(bare(), httpCall(frontend, cart).server));
      assert.deepEqual([m.destServiceName, m.destServiceInstance], ['cartservice.boutique', cart.name]);
      assert.deepEqual(a.problems, ['node_metadata_missing']);
    });

    it('analyses a stream without a node as SkyWalking does, its side -.- / -, counting no_node_identity', () => {
      for (const opts of [{}, { nodeWithoutMetadata: 'node-id' } as const]) {
        const a = analyzer(opts);
        const m = only(a.http(undefined, httpCall(frontend, cart).server));
        assert.deepEqual([m.destServiceName, m.destServiceInstance], ['-.-', '-']);
        assert.deepEqual(a.problems, ['no_node_identity']);
      }
    });
  });

  describe('naming options', () => {
    it('applies a custom service rule to both sides', () => {
      const a = analyzer({ serviceNameRule: '${NAMESPACE}/${LABELS.app,app}', instanceNameRule: '${NAME}@${CLUSTER_ID,cluster}' });
      const m = only(a.http(nodeOf(frontend), httpCall(frontend, checkout).client));
      assert.deepEqual(edge(m), {
        source: 'boutique/frontend', sourceInstance: `${frontend.name}@Kubernetes`,
        dest: 'boutique/checkoutservice', destInstance: 'checkoutservice-vm@Kubernetes',
      });
    });

    it('refuses a bad rule when the analyzer is created, naming the rule', () => {
      assert.throws(() => createAnalyzer({ serviceNameRule: '${LABELS.app' }), /invalid service name rule "\$\{LABELS\.app": "\$\{" is never closed at column 1/);
      assert.throws(() => createAnalyzer({ instanceNameRule: '${}' }), /invalid instance name rule "\$\{\}": "\$\{" is never closed at column 1/);
    });
  });
});
