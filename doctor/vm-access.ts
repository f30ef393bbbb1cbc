// How a user reaches a VM's logs: the VMs have no public IP and allow SSH only through IAP with OS Login
// (infra/vm-workloads.ts: enable-oslogin, block-project-ssh-keys; the firewall opens 22 to IAP's range only).
// Every on-VM command the doctor prints is built here, so the test can check each against the VM's scripts.
import { AGENT_UNIT, vmUnits } from '../vm-bootstrap/units';
import type { StackLocation } from './stack-location';
import type { VmOutput } from './stack-outputs';

/**
 * What the user needs for `gcloud compute ssh --tunnel-through-iap` to an OS Login VM and `sudo` on it
 * (Google Cloud docs: IAP "Using TCP forwarding"; Compute Engine "Set up OS Login").
 */
export const SSH_ROLES = [
  'roles/iap.tunnelResourceAccessor (IAP-secured Tunnel User)',
  'roles/compute.osAdminLogin (Compute OS Admin Login: log in with sudo)',
  'roles/iam.serviceAccountUser on the VM\'s service account (OS Login asks it of VMs that run as a service account)',
  'compute.instances.get (e.g. roles/compute.viewer), for gcloud to find the instance',
];

/** `gcloud compute ssh … --tunnel-through-iap -- REMOTE`: REMOTE runs on the VM, one argument per word. */
export function vmSsh(location: StackLocation, vm: VmOutput, remote: string): string {
  return `gcloud compute ssh ${vm.instance} --zone ${location.zone} --project ${location.project} --tunnel-through-iap -- ${remote}`;
}

/** The journal of one unit, newest lines last, without a pager (the remote command has no terminal to page on). */
export function journalOf(unit: string, lines = 100): string {
  return `sudo journalctl -u ${unit} --no-pager -n ${lines}`;
}

/** Runs the bootstrap again at once: the restarted agent reads the metadata and runs it, then reports. */
export const RERUN_BOOTSTRAP = `sudo systemctl restart ${AGENT_UNIT}`;

/** One block per VM: the log commands for each of its units and the roles they need. */
export function logsHint(location: StackLocation, vms: readonly VmOutput[]): string {
  const out = [`Logs of each VM (IAP SSH with OS Login; needs ${SSH_ROLES.join(', ')}):`];
  for (const vm of vms) {
    out.push(`  ${vm.name}:`);
    for (const unit of vmUnits(vm.name)) out.push(`    ${vmSsh(location, vm, journalOf(unit))}`);
  }
  return out.join('\n') + '\n';
}
