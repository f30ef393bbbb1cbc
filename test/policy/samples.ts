// Inputs to break on purpose: resources the real program declares (captured by the harness), a VM as the
// VM component will declare it (its metadata rendered by vm-bootstrap's real renderer), and credentials of
// the real shapes (a PEM private key, a signed JWT) made fresh for each run.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { projectLabels } from '../../infra/naming';
import { renderVmBootstrap } from '../../vm-bootstrap/render';
import { BOUTIQUE_REGISTRY, boutiqueEnv, boutiqueService } from '../../catalog/src/online-boutique';
import { ProgramRun } from '../infra/harness';

export type Props = Record<string, any>;

/** A deep copy to mutate without touching the captured run. */
export function copy<T>(v: T): T {
  return structuredClone(v);
}

export function pemPrivateKey(): string {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** A JWT like a Kubernetes TokenRequest returns: base64url header.payload, HMAC-signed. */
export function jwt(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ aud: ['istio-ca'], sub: 'system:serviceaccount:boutique:checkoutservice', exp: 4102444800 })}`;
  return `${body}.${crypto.createHmac('sha256', crypto.randomBytes(32)).update(body).digest('base64url')}`;
}

/** A self-signed certificate, standing in for the cluster CA the VM metadata carries. */
export function pemCertificate(): string {
  return execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=cluster-ca',
    '-days', '1', '-keyout', '/dev/null',
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A GCE VM for checkoutservice, shaped as the VM component declares it (gcp.compute.Instance inputs). */
export function checkoutVm(run: ProgramRun): Props {
  const network = run.one('gcp:compute/network:Network');
  const subnet = run.one('gcp:compute/subnetwork:Subnetwork');
  const boot = renderVmBootstrap({
    workload: {
      name: 'checkoutservice', port: 5050, protocol: 'grpc', namespace: 'boutique', serviceAccount: 'checkoutservice',
      labels: { app: 'checkoutservice', version: 'v0.10.6' }, env: boutiqueEnv(boutiqueService('checkoutservice'), 'boutique'),
    },
    versions: { istio: '1.31.0', onlineBoutique: 'v0.10.6' },
    cluster: { endpoint: '203.0.113.10', caCertPem: pemCertificate(), clusterId: 'meshscope-dev-gke', meshId: 'meshscope', network: '' },
    eastWestGatewayIp: '10.10.0.50',
    receiverAlsAddress: '10.10.0.51:11800',
    imageRepository: BOUTIQUE_REGISTRY,
  });
  return {
    name: `meshscope-${run.stack}-checkoutservice`,
    machineType: 'e2-small',
    zone: 'europe-west1-b',
    tags: [`meshscope-${run.stack}-vm`],
    bootDisk: { initializeParams: { image: 'debian-cloud/debian-12', size: 20 } },
    networkInterfaces: [{ network: network.id, subnetwork: subnet.id }],
    serviceAccount: {
      email: `meshscope-${run.stack}-checkout@meshscope-${run.stack}.iam.gserviceaccount.com`,
      // A VM's own account may keep cloud-platform: IAM bounds it (the scope rule is for nodes).
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
    shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
    metadata: { ...boot.metadata, 'enable-oslogin': 'TRUE', 'block-project-ssh-keys': 'TRUE' },
    labels: projectLabels(run.stack),
    allowStoppingForUpdate: true,
  };
}
