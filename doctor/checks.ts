// The checks, as a table: each row names what it checks, what it reads, and a rule that turns what was
// read into pass or fail; a failing rule gives the one next thing to do. `hint` is the next step when the
// read itself failed. VM rows run once per VM of the stack; the rest once.
import { EASTWEST_GATEWAY_NAME, ISTIO_NAMESPACE } from '../infra/istio-operator';
import { OBSERVABILITY_NAMESPACE, RECEIVER_NAME, SKYWALKING_NAMES } from '../infra/observability';
import { ISTIOD_XDS_PORT } from '../infra/ports';
import { compileNamingRule, DEFAULT_SERVICE_NAME_RULE } from '../receiver/src/analysis/service-naming';
import { calleeAddresses, outboundCluster, vmFacingServices, vmRelations } from './expectations';
import { ISTIOD_NAME, type Deployment, type Sources } from './sources';
import type { VmOutput } from './stack-outputs';
import { AGENT_UNIT, SIDECAR_UNIT } from '../vm-bootstrap/units';
import { journalOf, RERUN_BOOTSTRAP, vmSsh } from './vm-access';
import { VM_STATUS_KEY, VM_STATUS_NAMESPACE, type VmStatus } from './vm-status';

export type Verdict = { ok: true; detail: string } | { ok: false; detail: string; hint: string };
export type Outcome = Verdict | { skipped: string };

export interface CheckRow<S> {
  /** Stable id, which other rows name in `needs`. */
  id: string;
  /**
   * Rows this one depends on (ids of VM rows mean the same VM, of cluster rows the cluster): when one of them did not
   * pass, this row is not run and shows SKIP "because <that row> failed", so one root cause gives one FAIL.
   */
  needs?: readonly string[];
  name: (subject: S) => string;
  reads: string;
  rule: (src: Sources, subject: S) => Promise<Outcome>;
  /** The next step when what the rule reads cannot be read at all. */
  hint: (subject: S) => string;
}

/**
 * istiod updates the Healthy condition of a WorkloadEntry it did not create only when it carries this
 * annotation and the VM's proxy names it in ISTIO_META_WORKLOAD_ENTRY (istio/istio pilot/pkg/model/status
 * WorkloadEntryHealthCheckAnnotation; pilot/pkg/autoregistration, proxy.Metadata.WorkloadEntry).
 */
export const HEALTH_CHECKS_ANNOTATION = 'proxy.istio.io/health-checks-enabled';
/** A VM's status older than this is itself a finding: the agent reports at every wake-up, at least every 5 minutes. */
export const STATUS_MAX_AGE_MINUTES = 15;
/** Drops that mean metrics were lost while everything ran (not a rollout's shutdown). */
const LOSS_REASONS = ['queue_full', 'rejected', 'topology_full', 'analysis_error'];

const pass = (detail: string): Verdict => ({ ok: true, detail });
const fail = (detail: string, hint: string): Verdict => ({ ok: false, detail, hint });

function ssh(src: Sources, vm: VmOutput, command: string): string {
  return vmSsh(src.ctx.location, vm, command);
}

/** The VM's status for the rows that read it (they need the status row, so they run only when it passed). */
async function withStatus(src: Sources, vm: VmOutput, rule: (s: VmStatus) => Verdict): Promise<Outcome> {
  const a = await src.vmStatus(vm).catch(() => undefined);
  return a?.kind === 'status' ? rule(a.status) : { skipped: `no usable status from ${vm.name}` };
}

const STATUS_ROW = 'vm-status';
const CLUSTER_ROW = 'cluster';

/** The next step for a status the Compute API would not give: by what went wrong, not one guess for all. */
function statusReadHint(src: Sources, vm: VmOutput, status: number): string {
  const { zone, project } = src.ctx.location;
  if (status === 401) return 'Your Google login was refused: `gcloud auth login` (or a fresh GOOGLE_OAUTH_ACCESS_TOKEN) and run the doctor again';
  if (status === 403) return `Your account may not read the VM's guest attributes: it needs compute.instances.getGuestAttributes on ${vm.instance} (e.g. roles/compute.viewer in project ${project})`;
  if (status === 404) return `The instance ${vm.instance} is not in zone ${zone} of project ${project}: \`gcloud compute instances list --project ${project}\`, and \`pulumi up\` if it is missing`;
  if (status === 400) return `Guest attributes are off on ${vm.instance}: \`pulumi up\` sets its metadata enable-guest-attributes=TRUE (check: \`gcloud compute instances describe ${vm.instance} --zone ${zone} --project ${project} --format='value(metadata.items)'\`)`;
  return `The Compute API failed (HTTP ${status}); run the doctor again, and check https://status.cloud.google.com if it persists`;
}

export const VM_CHECKS: readonly CheckRow<VmOutput>[] = [
  {
    id: STATUS_ROW,
    name: (vm) => `VM ${vm.name}: status reported`,
    reads: `guest attribute ${VM_STATUS_NAMESPACE}/${VM_STATUS_KEY} (Compute API instances.getGuestAttributes)`,
    rule: async (src, vm) => {
      const a = await src.vmStatus(vm);
      if (a.kind === 'none') {
        return fail(`${vm.instance} has written no status (${a.why})`,
          `The VM's agent never reported: read its log (${ssh(src, vm, journalOf(AGENT_UNIT))}); the agent runs from the startup script at boot`);
      }
      if (a.kind === 'invalid') return fail(a.why, `The VM's reporter writes another schema: update vm-bootstrap/status-report.sh on the VM (pulumi up) so it matches doctor/vm-status.ts`);
      if (a.kind === 'unreachable') {
        return fail(a.why, `This machine cannot reach the Compute API (a network, proxy or DNS problem here, not on the VM): check \`curl -sI ${src.ctx.computeUrl}\` and run the doctor again`);
      }
      if (a.kind === 'error') return fail(a.why, statusReadHint(src, vm, a.status));
      const ageMin = (Date.now() - Date.parse(a.status.reportedAt)) / 60_000;
      if (ageMin > STATUS_MAX_AGE_MINUTES) {
        return fail(`last report ${a.status.reportedAt}, ${Math.round(ageMin)} minutes ago`,
          `The agent reports at least every 5 minutes and has stopped: read why (${ssh(src, vm, journalOf(AGENT_UNIT))}), then start it again (${ssh(src, vm, RERUN_BOOTSTRAP)})`);
      }
      return pass(`reported ${a.status.reportedAt}`);
    },
    hint: () => `Log in with \`gcloud auth login\` (or set GOOGLE_OAUTH_ACCESS_TOKEN) and run the doctor again`,
  },
  {
    id: 'vm-bootstrap',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: bootstrap finished`,
    reads: 'status bootstrap.phase, exitCode, lastError',
    rule: (src, vm) => withStatus(src, vm, ({ bootstrap: b }) => b.exitCode === 0
      ? pass(`phase ${b.phase}`)
      : fail(`stopped in phase ${b.phase} with exit ${b.exitCode}: ${b.lastError ?? 'no error text'}`,
        `Fix what the error names (the agent retries on its own, backing off to 5 minutes), or re-run the bootstrap now: ${ssh(src, vm, RERUN_BOOTSTRAP)}`)),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-token',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: istio-token valid`,
    reads: 'status token.mintedAt, token.expiresAt (the JWT exp claim)',
    rule: (src, vm) => withStatus(src, vm, ({ token }) => {
      const rbac = `\`kubectl -n ${src.ctx.outputs.boutiqueNamespace} get rolebinding ${vm.name}-vm-bootstrap -o yaml\``;
      if (!token.mintedAt) return fail('the VM holds no istio-token', `The VM could not mint it: check its RBAC with ${rbac} and its agent's log (${ssh(src, vm, journalOf(AGENT_UNIT))})`);
      if (!token.expiresAt) return fail(`the istio-token minted ${token.mintedAt} has no exp claim`, `Mint a fresh one: ${ssh(src, vm, RERUN_BOOTSTRAP)}`);
      const left = (Date.parse(token.expiresAt) - Date.now()) / 60_000;
      if (left <= 0) {
        return fail(`the istio-token expired ${token.expiresAt} (minted ${token.mintedAt})`,
          `The agent replaces it when under 20 minutes are left and has not: re-run the bootstrap (${ssh(src, vm, RERUN_BOOTSTRAP)}); if minting fails, check ${rbac}`);
      }
      return pass(`minted ${token.mintedAt}, valid until ${token.expiresAt} (${Math.round(left)} min left)`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-istiod-name',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: istiod resolves to the east-west gateway`,
    reads: 'status istiod.resolvedIp; stack output eastwestGatewayIp',
    rule: (src, vm) => withStatus(src, vm, ({ istiod }) => {
      const want = src.ctx.outputs.eastwestGatewayIp;
      if (istiod.resolvedIp === want) return pass(`${istiod.host} → ${want}`);
      return fail(istiod.resolvedIp ? `${istiod.host} resolves to ${istiod.resolvedIp}, not the gateway's ${want}` : `${istiod.host} does not resolve on the VM`,
        `The VM's /etc/hosts must map ${istiod.host} to ${want}: re-run the bootstrap, which writes it (${ssh(src, vm, RERUN_BOOTSTRAP)})`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-istiod-reach',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: istiod reachable through the east-west gateway`,
    reads: `status istiod.reachable (TCP ${ISTIOD_XDS_PORT} from the VM)`,
    rule: (src, vm) => withStatus(src, vm, ({ istiod }) => istiod.reachable
      ? pass(`${istiod.resolvedIp}:${istiod.port} accepts connections`)
      : fail(`no connection to ${istiod.resolvedIp ?? istiod.host}:${istiod.port}`,
        `Open the path VM → east-west gateway on ${ISTIOD_XDS_PORT}: check the firewall rules (\`gcloud compute firewall-rules list --filter=name~meshscope-${src.ctx.stack}\`) and that the gateway serves (its row below)`)),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-dns',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: cluster names resolve through the sidecar`,
    reads: 'status dns[] (each callee resolved on the VM)',
    rule: (src, vm) => withStatus(src, vm, ({ dns }) => {
      const expected = calleeAddresses(vm.name, src.ctx.outputs.boutiqueNamespace).map((a) => a.slice(0, a.lastIndexOf(':')));
      const resolved = new Set(dns.filter((d) => d.resolvedIp !== null).map((d) => d.host));
      const unresolved = expected.filter((h) => !resolved.has(h));
      if (unresolved.length === 0) return pass(expected.length ? `${expected.length} names resolve` : `${vm.name} calls no service`);
      return fail(`unresolved: ${unresolved.join(', ')}`,
        `The sidecar's DNS capture answers cluster names: check ISTIO_META_DNS_CAPTURE=true in /var/lib/istio/envoy/cluster.env and that ${SIDECAR_UNIT} runs (${ssh(src, vm, `systemctl status ${SIDECAR_UNIT} --no-pager`)})`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-clusters',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: sidecar has the upstream clusters`,
    reads: 'status sidecar.clusters (Envoy admin /clusters on the VM); catalog callees',
    rule: (src, vm) => withStatus(src, vm, ({ sidecar }) => {
      if (!sidecar.adminReachable) return fail('Envoy\'s admin on 127.0.0.1:15000 did not answer', `The sidecar is not running: ${ssh(src, vm, journalOf(SIDECAR_UNIT))}`);
      const expected = calleeAddresses(vm.name, src.ctx.outputs.boutiqueNamespace).map(outboundCluster);
      const byName = new Map(sidecar.clusters.map((c) => [c.name, c]));
      const missing = expected.filter((n) => !byName.get(n)?.present);
      const empty = expected.filter((n) => byName.get(n)?.present && byName.get(n)!.healthy === 0);
      if (missing.length) {
        return fail(`missing: ${missing.join(', ')}`,
          `istiod has not pushed this proxy its config: check \`istioctl proxy-status\` lists ${vm.name} and the WorkloadEntry row below`);
      }
      if (empty.length) {
        return fail(`no healthy endpoint: ${empty.join(', ')}`,
          `Check the pods behind them are ready: \`kubectl -n ${src.ctx.outputs.boutiqueNamespace} get endpointslices\``);
      }
      return pass(expected.length ? `${expected.length} clusters with healthy endpoints` : `${vm.name} calls no service`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-units',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: sidecar and workload units active`,
    reads: 'status units[] (systemctl is-active)',
    rule: (src, vm) => withStatus(src, vm, ({ units }) => {
      const down = units.filter((u) => u.activeState !== 'active');
      return down.length === 0 && units.length > 0
        ? pass(units.map((u) => u.name).join(', '))
        : fail(down.map((u) => `${u.name} is ${u.activeState}`).join(', ') || 'no units reported',
          `Read why it stopped: ${ssh(src, vm, journalOf(down[0]?.name ?? SIDECAR_UNIT))}`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'vm-als',
    needs: [STATUS_ROW],
    name: (vm) => `VM ${vm.name}: ALS stream to the receiver`,
    reads: 'status als (Envoy cluster envoy_accesslog_service); stack output alsAddressForVms',
    rule: (src, vm) => withStatus(src, vm, ({ als }) => {
      const want = src.ctx.outputs.alsAddressForVms;
      if (als.address !== want) return fail(`the sidecar streams to ${als.address}, the stack says ${want}`, `\`pulumi up\` puts the stack's ALS address in the VM's mesh config; the agent applies it at once, or re-run the bootstrap: ${ssh(src, vm, RERUN_BOOTSTRAP)}`);
      return als.activeConnections > 0
        ? pass(`${als.activeConnections} connection(s) to ${als.address}`)
        : fail(`no connection to ${als.address}`,
          `Open the path VM → receiver's internal load balancer ${want} (firewall) and check the receiver rows below`);
    }),
    hint: () => 'Read the status first (see the row above)',
  },
  {
    id: 'workload-entry',
    needs: [CLUSTER_ROW],
    name: (vm) => `WorkloadEntry ${vm.name} healthy`,
    reads: 'WorkloadEntry status.conditions[type=Healthy] (networking.istio.io/v1)',
    rule: async (src, vm) => {
      const entry = await src.workloadEntry(vm);
      if (!(HEALTH_CHECKS_ANNOTATION in (entry.metadata?.annotations ?? {}))) {
        return fail(`not annotated ${HEALTH_CHECKS_ANNOTATION}, so istiod never sets its Healthy condition`,
          `Annotate the WorkloadEntry ${HEALTH_CHECKS_ANNOTATION}: "true" and set ISTIO_META_WORKLOAD_ENTRY=${vm.name} in the VM's cluster.env (infra/vm-workloads.ts, vm-bootstrap/sidecar-config.ts)`);
      }
      const healthy = entry.status?.conditions?.find((c) => c.type === 'Healthy');
      if (healthy?.status === 'True') return pass('Healthy=True');
      return fail(healthy ? `Healthy=${healthy.status}${healthy.message ? `: ${healthy.message}` : ''}` : 'no Healthy condition yet',
        `istiod marks it from the VM's health probe (its WorkloadGroup): check the VM's workload unit row above and \`kubectl -n ${src.ctx.outputs.boutiqueNamespace} describe workloadentry ${vm.name}\``);
    },
    hint: (vm) => `The WorkloadEntry cannot be read: \`kubectl get workloadentry ${vm.name} -A\`; if it is missing, run \`pulumi up\``,
  },
];

function available(d: Deployment): number {
  return d.status?.availableReplicas ?? 0;
}

export const CLUSTER_CHECKS: readonly CheckRow<null>[] = [
  {
    id: CLUSTER_ROW,
    name: () => 'cluster API reachable',
    reads: 'GET /version through kubectl proxy (your kubeconfig)',
    rule: async (src) => {
      const v = await src.clusterVersion();
      return pass(`Kubernetes ${v}`);
    },
    hint: () => `Every cluster row needs this: check \`kubectl version\` with the stack's kubeconfig (the cluster's endpoint, your credentials, your network path to it)`,
  },
  {
    id: 'istiod',
    needs: [CLUSTER_ROW],
    name: () => 'istiod serving',
    reads: `Deployment and EndpointSlices of ${ISTIO_NAMESPACE}/${ISTIOD_NAME}`,
    rule: async (src) => {
      const { deployment, endpoints } = await src.istiod();
      if (available(deployment) < 1) return fail('no available replica', `\`kubectl -n ${ISTIO_NAMESPACE} describe deployment ${ISTIOD_NAME}\` and its logs say why it does not start`);
      if (endpoints.length < 1) return fail('its Service has no ready endpoint', `\`kubectl -n ${ISTIO_NAMESPACE} get pods -l app=${ISTIOD_NAME}\`: pods exist but are not ready`);
      return pass(`${available(deployment)} replica(s), ${endpoints.length} ready endpoint(s)`);
    },
    hint: () => `Check your cluster access: \`kubectl -n ${ISTIO_NAMESPACE} get deployment ${ISTIOD_NAME}\``,
  },
  {
    id: 'eastwest',
    needs: [CLUSTER_ROW],
    name: () => 'east-west gateway serving',
    reads: `Deployment, Service (load balancer IP) and EndpointSlices of ${ISTIO_NAMESPACE}/${EASTWEST_GATEWAY_NAME}; stack output eastwestGatewayIp`,
    rule: async (src) => {
      const { deployment, service, endpoints } = await src.eastwest();
      const want = src.ctx.outputs.eastwestGatewayIp;
      const ips = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);
      if (available(deployment) < 1) return fail('no available replica', `\`kubectl -n ${ISTIO_NAMESPACE} describe deployment ${EASTWEST_GATEWAY_NAME}\``);
      if (!ips.includes(want)) {
        return fail(ips.length ? `load balancer IP ${ips.join(', ')}, the stack reserved ${want}` : `no load balancer IP yet (the stack reserved ${want})`,
          `\`kubectl -n ${ISTIO_NAMESPACE} describe service ${EASTWEST_GATEWAY_NAME}\`: its events say why GKE has not given it the reserved address`);
      }
      if (endpoints.length < 1) return fail('its Service has no ready endpoint', `\`kubectl -n ${ISTIO_NAMESPACE} get pods -l app=${EASTWEST_GATEWAY_NAME}\``);
      return pass(`${available(deployment)} replica(s) behind ${want}`);
    },
    hint: () => `Check your cluster access: \`kubectl -n ${ISTIO_NAMESPACE} get deployment ${EASTWEST_GATEWAY_NAME}\``,
  },
  {
    id: 'receiver-ready',
    needs: [CLUSTER_ROW],
    name: () => 'receiver ready',
    reads: `/readyz of each ${OBSERVABILITY_NAMESPACE}/${RECEIVER_NAME} pod (pod proxy)`,
    rule: async (src) => {
      const pods = await src.receiverPods();
      if (pods.length === 0) return fail('no running receiver pod', `\`kubectl -n ${OBSERVABILITY_NAMESPACE} describe deployment ${RECEIVER_NAME}\``);
      const notReady = pods.filter((p) => p.ready.status !== 200);
      return notReady.length === 0
        ? pass(`${pods.length} pod(s) ready`)
        : fail(notReady.map((p) => `${p.pod}: HTTP ${p.ready.status} ${p.ready.body.slice(0, 120)}`).join('; '),
          `Not ready means its OAP sink cannot deliver: \`kubectl -n ${OBSERVABILITY_NAMESPACE} logs ${notReady[0].pod}\` and the OAP rows below`);
    },
    hint: () => `Check your cluster access: \`kubectl -n ${OBSERVABILITY_NAMESPACE} get pods\``,
  },
  {
    id: 'receiver-streams',
    needs: [CLUSTER_ROW],
    name: () => 'receiver streams from pods and VMs',
    reads: 'receiver_als_stream_entries_received by node (receiver /metrics); stack output vms[].internalIp',
    rule: async (src) => {
      const counters = (await src.receiverPods()).flatMap((p) => p.counters ?? []);
      const streams = counters.flatMap((c) => c.streams);
      const vmIps = new Set(src.ctx.outputs.vms.map((v) => v.internalIp));
      const silentVms = src.ctx.outputs.vms.filter((v) => !streams.some((s) => s.ip === v.internalIp)).map((v) => v.name);
      const podStreams = streams.filter((s) => !vmIps.has(s.ip)).length;
      if (silentVms.length) return fail(`no open stream from VM ${silentVms.join(', ')} (${streams.length} streams open)`, 'See that VM\'s ALS row above: its sidecar has no connection to the receiver');
      if (podStreams === 0) return fail('no open stream from any pod', `Pod sidecars stream ALS per meshConfig.enableEnvoyAccessLogService: restart the Online Boutique pods (\`kubectl -n ${src.ctx.outputs.boutiqueNamespace} rollout restart deployment\`)`);
      return pass(`${podStreams} pod stream(s), ${streams.length - podStreams} VM stream(s)`);
    },
    hint: () => 'See the receiver ready row',
  },
  {
    id: 'receiver-forwards',
    needs: [CLUSTER_ROW],
    name: () => 'receiver forwards to OAP',
    reads: 'receiver /metrics: entries received, metrics forwarded, drops by reason',
    rule: async (src) => {
      const pods = await src.receiverPods();
      const broken = pods.find((p) => p.metricsError);
      if (broken) return fail(`${broken.pod}: ${broken.metricsError}`, `\`kubectl -n ${OBSERVABILITY_NAMESPACE} logs ${broken.pod}\``);
      const c = pods.flatMap((p) => p.counters ?? []);
      const received = c.reduce((s, x) => s + x.entriesReceived, 0);
      const forwarded = c.reduce((s, x) => s + x.metricsForwarded, 0);
      const lost = LOSS_REASONS.map((r) => [r, c.reduce((s, x) => s + (x.drops[r] ?? 0), 0)] as const).filter(([, n]) => n > 0);
      const detail = `${received} entries received, ${forwarded} metrics forwarded`;
      if (received === 0) return fail(`${detail}: no traffic reached it`, 'No sidecar streams to it: see the streams row, and send traffic (the loadgenerator runs in the boutique namespace)');
      if (lost.length) return fail(`${detail}, dropped ${lost.map(([r, n]) => `${r}=${n}`).join(', ')}`, 'queue_full: OAP is slower than the traffic (scale OAP or the queue); rejected: OAP refuses the batches, read its logs; analysis_error: read the receiver\'s logs');
      if (forwarded === 0) return fail(`${detail}: nothing delivered to OAP`, `\`kubectl -n ${OBSERVABILITY_NAMESPACE} logs deploy/${RECEIVER_NAME}\`: its OAP sink says why delivery fails`);
      return pass(`${detail}, no metrics lost`);
    },
    hint: () => 'See the receiver ready row',
  },
  {
    id: 'oap-services',
    needs: [CLUSTER_ROW],
    name: () => 'OAP lists the mesh services',
    reads: `OAP GraphQL listServices(layer: MESH) through ${OBSERVABILITY_NAMESPACE}/${SKYWALKING_NAMES.oapService}`,
    rule: async (src) => {
      const known = new Set(await src.oapServices());
      const want = vmFacingServices(src.ctx.outputs.vms.map((v) => v.name)).map((s) => oapServiceName(s, src.ctx.outputs.boutiqueNamespace));
      const missing = want.filter((s) => !known.has(s));
      return missing.length === 0
        ? pass(want.join(', '))
        : fail(`missing: ${missing.join(', ')} (OAP knows ${known.size} mesh services)`,
          `OAP has not received their metrics: check the receiver rows above, then OAP's logs (\`kubectl -n ${OBSERVABILITY_NAMESPACE} logs deploy/${SKYWALKING_NAMES.oapService}\`)`);
    },
    hint: () => `OAP's query API does not answer: \`kubectl -n ${OBSERVABILITY_NAMESPACE} get pods -l ${Object.entries(SKYWALKING_NAMES.oapSelector).map(([k, v]) => `${k}=${v}`).join(',')}\` and its logs`,
  },
  {
    id: 'oap-relations',
    needs: ['oap-services'],
    name: () => 'OAP shows the VM relations',
    reads: 'OAP GraphQL getTimeInfo, then getGlobalTopology(layer: MESH) over the last minutes in OAP\'s time zone',
    rule: async (src) => {
      const { relations, timezone } = await src.oapRelations();
      const ns = src.ctx.outputs.boutiqueNamespace;
      const want = vmRelations(src.ctx.outputs.vms.map((v) => v.name));
      const missing = want.filter((r) => !relations.has(`${oapServiceName(r.source, ns)}->${oapServiceName(r.target, ns)}`));
      return missing.length === 0
        ? pass(`${want.length} relations in the last ${src.ctx.windowMinutes} minutes (OAP time zone ${timezone}; set the UI's to match)`)
        : fail(`not seen in the last ${src.ctx.windowMinutes} minutes: ${missing.map((r) => `${r.source}→${r.target}`).join(', ')}`,
          `Calls on these edges have not reached OAP: check the VM rows for ${[...new Set(missing.flatMap((r) => [r.source, r.target]))].filter((s) => src.ctx.outputs.vms.some((v) => v.name === s)).join(', ')}, and that the loadgenerator places orders`);
    },
    hint: () => 'See the OAP services row',
  },
];

const serviceRule = compileNamingRule(DEFAULT_SERVICE_NAME_RULE);

/** The name OAP shows for a catalog service: the receiver's default naming rule over its labels. */
export function oapServiceName(service: string, namespace: string): string {
  return serviceRule.apply({ LABELS: { 'service.istio.io/canonical-name': service, app: service }, NAMESPACE: namespace });
}
