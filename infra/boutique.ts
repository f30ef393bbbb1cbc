// Online Boutique in Kubernetes: the catalog walked row by row, each service with its ServiceAccount (its
// mesh identity), Deployment and Service. Services that run on VMs are skipped here; the VM workloads
// component gives them the same Service names, so every caller reaches them as usual.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { BOUTIQUE_SERVICES, BoutiqueService, boutiqueEnv, boutiqueImage } from '../catalog/src/online-boutique';

export const BOUTIQUE_NAMESPACE = 'boutique';

export interface BoutiqueArgs {
  version: string;
  /** Services that run on VMs instead of pods. */
  vmWorkloads: string[];
  /** Labels that enable sidecar injection on the namespace. */
  injectionLabels: Record<string, string>;
  /** What must exist before pods start (istiod and its injection webhook). */
  meshReady: pulumi.Input<pulumi.Resource>[];
}

function probeOf(svc: BoutiqueService, use: 'readiness' | 'liveness'): k8s.types.input.core.v1.Probe | undefined {
  const p = svc.probe;
  const timing = svc.probeTiming?.[use] ?? {};
  if ('grpc' in p) return { ...timing, grpc: { port: svc.containerPort } };
  // The frontend needs a session cookie, or its health handler would create a session per probe.
  if ('httpPath' in p) {
    return { ...timing, httpGet: { path: p.httpPath, port: svc.containerPort, httpHeaders: [{ name: 'Cookie', value: `shop_session-id=x-${use}-probe` }] } };
  }
  if ('tcp' in p) return { ...timing, tcpSocket: { port: svc.containerPort } };
  return undefined;
}

export class Boutique extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly deployments: Record<string, k8s.apps.v1.Deployment> = {};
  readonly services: Record<string, k8s.core.v1.Service> = {};
  readonly frontendExternal: k8s.core.v1.Service;

  constructor(name: string, args: BoutiqueArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:Boutique', name, {}, opts);
    const child = { parent: this };

    const ns = new k8s.core.v1.Namespace(`${name}-ns`, {
      metadata: { name: BOUTIQUE_NAMESPACE, labels: args.injectionLabels },
    }, { ...child, dependsOn: args.meshReady });
    this.namespace = ns.metadata.name;

    for (const svc of BOUTIQUE_SERVICES.filter((s) => !args.vmWorkloads.includes(s.name))) {
      const labels = { app: svc.name };
      const sa = new k8s.core.v1.ServiceAccount(`${name}-${svc.name}-sa`, {
        metadata: { name: svc.name, namespace: this.namespace },
      }, child);
      const writable = svc.name === 'redis-cart';
      this.deployments[svc.name] = new k8s.apps.v1.Deployment(`${name}-${svc.name}`, {
        metadata: { name: svc.name, namespace: this.namespace, labels },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels: { ...labels, version: args.version }, annotations: svc.podAnnotations },
            spec: {
              serviceAccountName: sa.metadata.name,
              terminationGracePeriodSeconds: 5,
              securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
              containers: [{
                name: 'server',
                image: boutiqueImage(svc, args.version),
                // Only what callers dial is declared, as upstream does (the loadgenerator's web UI is not).
                ports: svc.servicePort !== undefined ? [{ containerPort: svc.containerPort }] : undefined,
                env: Object.entries(boutiqueEnv(svc)).map(([k, v]) => ({ name: k, value: v })),
                readinessProbe: probeOf(svc, 'readiness'),
                livenessProbe: probeOf(svc, 'liveness'),
                resources: {
                  requests: { cpu: svc.resources.cpu, memory: svc.resources.memory },
                  limits: { cpu: svc.resources.cpuLimit, memory: svc.resources.memoryLimit },
                },
                securityContext: {
                  allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
                },
                volumeMounts: writable ? [{ name: 'redis-data', mountPath: '/data' }] : undefined,
              }],
              volumes: writable ? [{ name: 'redis-data', emptyDir: {} }] : undefined,
            },
          },
        },
      }, child);
      if (svc.servicePort !== undefined) {
        this.services[svc.name] = new k8s.core.v1.Service(`${name}-${svc.name}-svc`, {
          metadata: { name: svc.name, namespace: this.namespace, labels },
          spec: {
            selector: labels,
            // The port name tells Istio the protocol (grpc, http, tcp).
            ports: [{ name: svc.protocol, appProtocol: svc.protocol, port: svc.servicePort, targetPort: svc.containerPort }],
          },
        }, child);
      }
    }

    // The one public entry point: GKE opens its load balancer (and the firewall for it) to the internet.
    const frontend = BOUTIQUE_SERVICES.find((s) => s.public)!;
    this.frontendExternal = new k8s.core.v1.Service(`${name}-frontend-external`, {
      metadata: { name: `${frontend.name}-external`, namespace: this.namespace },
      spec: { type: 'LoadBalancer', selector: { app: frontend.name }, ports: [{ name: 'http', port: 80, targetPort: frontend.containerPort }] },
    }, child);

    this.registerOutputs({ namespace: this.namespace });
  }
}
