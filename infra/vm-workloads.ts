// The services that run on GCE VMs, one table row each: per VM a Google service account with only what
// the VM needs, a reserved internal IP, a shielded Debian 12 instance with no public IP whose boot script
// (vm-bootstrap/) joins the mesh and runs the service, and in Kubernetes the Service, WorkloadGroup and
// WorkloadEntry that register it.
//
// The istio-token: the VM mints its own at boot (DESIGN.md section 4, way (b)). Its Google service account
// is bound, as a Kubernetes RBAC user, to a Role that allows only `create` on its one Kubernetes service
// account's token and `get` on the mesh root-cert ConfigMap. The boot script posts a TokenRequest
// (audience istio-ca, 1 h) with the VM's metadata-server access token, verifying the cluster CA. Nothing
// secret is stored in metadata, Secret Manager or the stack, and a VM recreated months later still joins:
// its token is minted at its boot, and the agent renews with its certificate afterwards.
//
// Boot and updates: every script and input reaches the VM as instance metadata, which GCE updates in place
// (the provider's metadataStartupScript would replace the VM on every edit). The startup-script is a small
// launcher that installs the agent; the agent runs the bootstrap until it converges and again whenever a
// meshscope-* attribute changes, so a version, address, env or script change rolls onto running VMs.
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { vmAccessScopes, vmBootstrapRbacRules, vmBootstrapRbacSubject, vmClusterPermissions } from '../vm-bootstrap/cluster-access';
import { defaultReadinessProbe, healthChecksAnnotation } from '../vm-bootstrap/readiness-probe';
import { renderVmBootstrap } from '../vm-bootstrap/render';
import { BOUTIQUE_REGISTRY, boutiqueEnv, boutiqueService } from '../catalog/src/online-boutique';
import { VmWorkloadConfig } from './config';
import { stackPrefix } from './naming';

export const VM_IMAGE = 'debian-cloud/debian-12';

/** The stack's custom role id for its VMs: IAM allows letters, digits, '_' and '.', 3 to 64 of them. */
export function vmRoleId(stack: string): string {
  return `meshscope_${stack.replace(/[^A-Za-z0-9_.]/g, '_')}_vm`.slice(0, 64);
}

export interface VmWorkloadsArgs {
  stack: string;
  project: string;
  region: string;
  zone: string;
  subnet: pulumi.Input<string>;
  vmTag: string;
  workloads: VmWorkloadConfig[];
  namespace: pulumi.Input<string>;
  /** istioSidecarSha256: '' trusts the checksum the Istio release publishes next to the .deb. */
  versions: { istio: string; onlineBoutique: string; istioSidecarSha256?: string };
  cluster: { endpoint: pulumi.Input<string>; caCertificateBase64: pulumi.Input<string>; name: pulumi.Input<string> };
  mesh: { meshId: string; network: string; eastwestGatewayIp: pulumi.Input<string>; istiodHost: string; ready: pulumi.Input<pulumi.Resource>[] };
  /** IP:port the VM sidecars stream ALS to. */
  alsAddress: pulumi.Input<string>;
  labels: Record<string, string>;
}

export interface VmWorkloadOutputs {
  name: string;
  instanceName: pulumi.Output<string>;
  internalIp: pulumi.Output<string>;
  serviceAccountEmail: pulumi.Output<string>;
}

export class VmWorkloads extends pulumi.ComponentResource {
  readonly vms: VmWorkloadOutputs[];

  constructor(name: string, args: VmWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:VmWorkloads', name, {}, opts);
    const child = { parent: this };
    const prefix = stackPrefix(args.stack);
    // All a VM's Google identity does in the project is authenticate to GKE, which needs exactly this.
    // GKE clusters hold no IAM policy of their own, so the grant is project-wide (see vm-bootstrap/cluster-access.ts).
    const role = new gcp.projects.IAMCustomRole(`${name}-cluster-auth-role`, {
      project: args.project,
      roleId: vmRoleId(args.stack),
      title: `meshscope ${args.stack} VM: authenticate to GKE`,
      description: 'container.clusters.get only: lets GKE accept the VM service account as a Kubernetes RBAC user',
      permissions: vmClusterPermissions,
    }, child);
    const roleName = pulumi.interpolate`projects/${args.project}/roles/${role.roleId}`;
    this.vms = args.workloads.map((w) => this.workload(`${name}-${w.name}`, w, args, prefix, roleName, child));
    this.registerOutputs({ vms: this.vms.map((v) => ({ name: v.name, internalIp: v.internalIp })) });
  }

  private workload(id: string, w: VmWorkloadConfig, args: VmWorkloadsArgs, prefix: string, roleName: pulumi.Output<string>,
    child: pulumi.CustomResourceOptions): VmWorkloadOutputs {
    const labels = { app: w.name, version: args.versions.onlineBoutique };
    // One probe for both ends: istiod reads it from the group, the VM's agent runs it from its mesh config.
    const readinessProbe = defaultReadinessProbe(w.port);

    const account = new gcp.serviceaccount.Account(`${id}-sa`, {
      // GCP account IDs are 6-30 characters.
      accountId: `${prefix}-${w.name}`.slice(0, 30).replace(/-+$/, ''),
      displayName: `meshscope ${args.stack} VM ${w.name}`,
    }, child);
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    new gcp.projects.IAMMember(`${id}-cluster-auth`, { project: args.project, role: roleName, member }, child);

    // In Kubernetes: its mesh identity, and the one thing its Google identity may do with it.
    const ksa = new k8s.core.v1.ServiceAccount(`${id}-ksa`, { metadata: { name: w.name, namespace: args.namespace, labels } }, child);
    const role = new k8s.rbac.v1.Role(`${id}-token-role`, {
      metadata: { name: `${w.name}-vm-bootstrap`, namespace: args.namespace },
      rules: vmBootstrapRbacRules(w.name),
    }, child);
    const binding = new k8s.rbac.v1.RoleBinding(`${id}-token-binding`, {
      metadata: { name: `${w.name}-vm-bootstrap`, namespace: args.namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
      // GKE maps a Google service account's access token to an RBAC user named by its email.
      subjects: [account.email.apply(vmBootstrapRbacSubject)],
    }, child);

    const portName = w.protocol;
    new k8s.core.v1.Service(`${id}-svc`, {
      metadata: { name: w.name, namespace: args.namespace, labels: { app: w.name } },
      spec: { selector: { app: w.name }, ports: [{ name: portName, appProtocol: w.protocol, port: w.port, targetPort: w.port }] },
    }, child);

    const group = new k8s.apiextensions.CustomResource(`${id}-group`, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadGroup',
      metadata: { name: w.name, namespace: args.namespace },
      spec: {
        metadata: { labels },
        template: { serviceAccount: w.name, network: args.mesh.network, ports: { [portName]: w.port } },
        probe: readinessProbe,
      },
    }, { ...child, dependsOn: args.mesh.ready });

    // A reserved IP: the WorkloadEntry stays right when the instance is recreated.
    const address = new gcp.compute.Address(`${id}-ip`, {
      name: `${prefix}-${w.name}`,
      addressType: 'INTERNAL',
      region: args.region,
      subnetwork: args.subnet,
      labels: args.labels,
    }, child);

    const svc = boutiqueService(w.name);
    const boot = pulumi
      .all([args.namespace, args.cluster.endpoint, args.cluster.caCertificateBase64, args.cluster.name, args.mesh.eastwestGatewayIp, args.alsAddress])
      .apply(([namespace, endpoint, ca, clusterName, eastwestIp, alsAddress]) => renderVmBootstrap({
        workload: {
          name: w.name, port: w.port, protocol: w.protocol, namespace, serviceAccount: w.name, labels,
          env: boutiqueEnv(svc, namespace), readinessProbe,
        },
        versions: args.versions,
        cluster: {
          endpoint, caCertPem: Buffer.from(ca, 'base64').toString('utf8'), clusterId: clusterName,
          meshId: args.mesh.meshId, network: args.mesh.network,
        },
        eastWestGatewayIp: eastwestIp,
        receiverAlsAddress: alsAddress,
        istiodHost: args.mesh.istiodHost,
        imageRepository: BOUTIQUE_REGISTRY,
      }));

    const instance = new gcp.compute.Instance(id, {
      name: `${prefix}-${w.name}`,
      zone: args.zone,
      machineType: w.machineType,
      bootDisk: { initializeParams: { image: VM_IMAGE, size: 20 } },
      // No accessConfigs: no public IP. It leaves through Cloud NAT.
      networkInterfaces: [{ subnetwork: args.subnet, networkIp: address.address }],
      tags: [args.vmTag],
      // IAM limits what the account may do; userinfo.email lets GKE accept its token (vm-bootstrap/cluster-access.ts).
      serviceAccount: { email: account.email, scopes: vmAccessScopes },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      // startup-script included: every key here is updated in place, so no edit recreates the VM.
      // Guest attributes on: the agent writes the VM's status there for `npm run doctor` (meshscope/status).
      metadata: boot.apply((b) => ({ ...b.metadata, 'enable-oslogin': 'TRUE', 'block-project-ssh-keys': 'TRUE', 'enable-guest-attributes': 'TRUE' })),
      labels: { ...args.labels, workload: w.name },
      allowStoppingForUpdate: true,
    }, { ...child, dependsOn: [binding, ksa, group] });

    // Not after the instance: istiod refuses a proxy that names a missing entry, and an entry with health
    // checks on counts as unhealthy, out of the endpoints, until the VM's first probe passes.
    new k8s.apiextensions.CustomResource(`${id}-entry`, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      // The VM's proxy names this entry (ISTIO_META_WORKLOAD_ENTRY); with the annotation istiod applies its
      // probe reports, and a VM whose app is down leaves the Service's endpoints.
      metadata: { name: w.name, namespace: args.namespace, annotations: { ...healthChecksAnnotation } },
      spec: { address: address.address, labels, serviceAccount: w.name, network: args.mesh.network, ports: { [portName]: w.port } },
    }, { ...child, dependsOn: [group] });

    return { name: w.name, instanceName: instance.name, internalIp: address.address, serviceAccountEmail: account.email };
  }
}
