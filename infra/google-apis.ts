// The Google APIs the program uses, as data: each API with the resource types that need it. The stack
// enables them (left enabled on destroy: other things in the project may use them, and disabling one
// can take its resources with it), and every resource of those types waits for its API.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface GoogleApi {
  /** The service name `gcloud services enable` takes. */
  api: string;
  why: string;
  /** Pulumi type tokens, or module prefixes ending in `/`, of the resources that call it. */
  types: readonly string[];
}

export const GOOGLE_APIS: readonly GoogleApi[] = [
  { api: 'compute.googleapis.com', why: 'the VPC, subnet, router, NAT, firewall rules, reserved addresses and VMs', types: ['gcp:compute/'] },
  { api: 'container.googleapis.com', why: 'the GKE cluster and its node pool', types: ['gcp:container/'] },
  { api: 'artifactregistry.googleapis.com', why: "the receiver image's repository", types: ['gcp:artifactregistry/'] },
  { api: 'iam.googleapis.com', why: 'service accounts for the nodes and VMs, the VMs\' custom role', types: ['gcp:serviceaccount/', 'gcp:projects/iAMCustomRole:IAMCustomRole'] },
  { api: 'cloudresourcemanager.googleapis.com', why: 'project IAM bindings of those accounts', types: ['gcp:projects/iAMMember:IAMMember'] },
];

/** Enabling an API is itself a call to this one (on in every new project); preflight checks it. */
export const SERVICE_USAGE_API = 'serviceusage.googleapis.com';
const SERVICE_TYPE = 'gcp:projects/service:Service';

/** The API a resource type calls; undefined for types that call none of ours (providers, Kubernetes). */
export function apiOfType(type: string): string | undefined {
  return GOOGLE_APIS.find((a) => a.types.some((t) => (t.endsWith('/') ? type.startsWith(t) : type === t)))?.api;
}

export class GoogleApis extends pulumi.ComponentResource {
  readonly services: Record<string, gcp.projects.Service> = {};
  /**
   * A transformation for the components' options: every resource whose type needs an API depends on that
   * API's Service. Children inherit their component's transformations, so no component has to know.
   */
  readonly dependOnApis: pulumi.ResourceTransformation;

  constructor(name: string, args: { project: string }, opts?: pulumi.ComponentResourceOptions) {
    super('meshscope:infra:GoogleApis', name, {}, opts);
    for (const { api } of GOOGLE_APIS) {
      this.services[api] = new gcp.projects.Service(`${name}-${api.split('.')[0]}`, {
        project: args.project,
        service: api,
        disableOnDestroy: false,
        disableDependentServices: false,
      }, { parent: this });
    }
    this.dependOnApis = (t) => {
      const api = t.type === SERVICE_TYPE ? undefined : apiOfType(t.type);
      if (!api) return undefined;
      return { props: t.props, opts: pulumi.mergeOptions(t.opts, { dependsOn: [this.services[api]] }) };
    };
    this.registerOutputs({});
  }
}
