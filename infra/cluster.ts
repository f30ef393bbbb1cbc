// A Standard, VPC-native GKE cluster in the network's subnet, its node pool managed on its own with a
// least-privilege service account, and the Kubernetes provider every in-cluster resource uses.
//
// The control plane is closed to the internet. People and CI reach it through its DNS endpoint, where
// Google checks IAM (container.clusters.connect) before Kubernetes RBAC, from any network; the IP endpoint
// is internal only and admits only the authorised networks, the VPC's own ranges, which is how nodes, pods
// and the VMs (which mint their istio tokens at boot) reach it.
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { ReleaseChannel } from './config';
import { renderKubeconfig } from './kubeconfig';
import { stackPrefix } from './naming';

/** What the nodes' account may do: write logs and metrics, pull images. Nothing else. */
export const NODE_ROLES = ['roles/container.defaultNodeServiceAccount', 'roles/artifactregistry.reader'];

/** Scopes are a second gate on top of IAM; never cloud-platform on nodes. */
export const NODE_OAUTH_SCOPES = [
  'https://www.googleapis.com/auth/logging.write',
  'https://www.googleapis.com/auth/monitoring',
  'https://www.googleapis.com/auth/devstorage.read_only',
];

/** An address range allowed to reach the control plane's IP endpoint. */
export interface AuthorizedNetwork { cidr: string; name: string }

export interface ClusterArgs {
  stack: string;
  project: string;
  zone: string;
  network: pulumi.Input<string>;
  subnet: pulumi.Input<string>;
  podsRangeName: string;
  servicesRangeName: string;
  masterCidr: string;
  /** Who may reach the IP endpoint: the VPC ranges of the VMs, nodes and pods (never the internet). */
  authorizedNetworks: AuthorizedNetwork[];
  nodeTag: string;
  machineType: string;
  nodeCount: number;
  privateNodes: boolean;
  releaseChannel: ReleaseChannel;
  deletionProtection: boolean;
  labels: Record<string, string>;
}

export class Cluster extends pulumi.ComponentResource {
  readonly cluster: gcp.container.Cluster;
  readonly nodePool: gcp.container.NodePool;
  readonly nodeServiceAccount: gcp.serviceaccount.Account;
  readonly provider: k8s.Provider;
  readonly name: pulumi.Output<string>;
  /** The control plane's DNS name (gke-….gke.goog): the kubeconfig's server, for CI, laptops and the doctor. */
  readonly dnsEndpoint: pulumi.Output<string>;
  /** The control plane's internal IP, inside the VPC: what the VMs call to mint their tokens. */
  readonly internalEndpoint: pulumi.Output<string>;
  /** Base64 PEM of the cluster CA. */
  readonly caCertificate: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:Cluster', name, {}, opts);
    const child = { parent: this };
    const prefix = stackPrefix(args.stack);

    this.nodeServiceAccount = new gcp.serviceaccount.Account(`${name}-nodes-sa`, {
      accountId: `${prefix}-nodes`.slice(0, 30),
      displayName: `meshscope ${args.stack} GKE nodes`,
    }, child);

    const roleBindings = NODE_ROLES.map((role) => new gcp.projects.IAMMember(`${name}-nodes-${role.split('/')[1]}`, {
      project: args.project,
      role,
      member: pulumi.interpolate`serviceAccount:${this.nodeServiceAccount.email}`,
    }, child));

    this.cluster = new gcp.container.Cluster(name, {
      name: `${prefix}-gke`,
      location: args.zone,
      network: args.network,
      subnetwork: args.subnet,
      networkingMode: 'VPC_NATIVE',
      ipAllocationPolicy: {
        clusterSecondaryRangeName: args.podsRangeName,
        servicesSecondaryRangeName: args.servicesRangeName,
      },
      // The node pool below is managed on its own; the default one only exists to create the cluster.
      removeDefaultNodePool: true,
      initialNodeCount: 1,
      releaseChannel: { channel: args.releaseChannel },
      // Dataplane V2 enforces NetworkPolicy natively (GKE's recommended network policy implementation).
      datapathProvider: 'ADVANCED_DATAPATH',
      workloadIdentityConfig: { workloadPool: `${args.project}.svc.id.goog` },
      controlPlaneEndpointsConfig: {
        // IAM-guarded from anywhere; Kubernetes' own tokens and certificates are refused there, so a leaked
        // service account token is no key to the cluster from outside.
        dnsEndpointConfig: { allowExternalTraffic: true, enableK8sTokensViaDns: false, enableK8sCertsViaDns: false },
        ipEndpointsConfig: { enabled: true },
      },
      masterAuthorizedNetworksConfig: {
        cidrBlocks: args.authorizedNetworks.map((n) => ({ cidrBlock: n.cidr, displayName: n.name })),
        // Not every address of every GCE VM in the world, only the ranges above; on the internal address too.
        gcpPublicCidrsAccessEnabled: false,
        privateEndpointEnforcementEnabled: true,
      },
      // No external IP endpoint on any stack: the IP endpoint is the internal address only. GKE allows that
      // without private nodes on Private Service Connect clusters (GoogleCloudPlatform/magic-modules#6780
      // tests it with public nodes), provided GCE public ranges are not admitted, as above.
      privateClusterConfig: args.privateNodes
        ? { enablePrivateNodes: true, enablePrivateEndpoint: true, masterIpv4CidrBlock: args.masterCidr }
        : { enablePrivateEndpoint: true },
      masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
      resourceLabels: args.labels,
      deletionProtection: args.deletionProtection,
    }, child);

    this.nodePool = new gcp.container.NodePool(`${name}-nodes`, {
      name: `${prefix}-nodes`,
      cluster: this.cluster.name,
      location: args.zone,
      nodeCount: args.nodeCount,
      management: { autoRepair: true, autoUpgrade: true },
      nodeConfig: {
        machineType: args.machineType,
        serviceAccount: this.nodeServiceAccount.email,
        oauthScopes: NODE_OAUTH_SCOPES,
        tags: [args.nodeTag],
        labels: args.labels,
        resourceLabels: args.labels,
        workloadMetadataConfig: { mode: 'GKE_METADATA' },
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        metadata: { 'disable-legacy-endpoints': 'true' },
      },
    }, { ...child, dependsOn: roleBindings });

    this.name = this.cluster.name;
    this.caCertificate = this.cluster.masterAuth.clusterCaCertificate;
    this.dnsEndpoint = this.cluster.controlPlaneEndpointsConfig.apply((c) => required(c?.dnsEndpointConfig?.endpoint, 'controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint'));
    this.internalEndpoint = this.cluster.privateClusterConfig.apply((c) => required(c?.privateEndpoint, 'privateClusterConfig.privateEndpoint'));
    // Holds no credential (the exec plugin fetches one), so it need not be a secret.
    this.kubeconfig = pulumi.all([this.cluster.name, this.dnsEndpoint]).apply(([clusterName, endpoint]) =>
      renderKubeconfig({ name: clusterName, endpoint }),
    );

    // Nothing in the cluster is created before the nodes exist to run it.
    this.provider = new k8s.Provider(`${name}-k8s`, {
      kubeconfig: this.kubeconfig,
      enableServerSideApply: true,
    }, { ...child, dependsOn: [this.nodePool] });

    this.registerOutputs({ name: this.name, dnsEndpoint: this.dnsEndpoint, internalEndpoint: this.internalEndpoint });
  }
}

/** A value GKE always reports for a created cluster; its absence means the API changed under us. */
function required(value: string | undefined, field: string): string {
  if (!value) throw new Error(`GKE reported no ${field} for the cluster; the VMs and the kubeconfig need it`);
  return value;
}
