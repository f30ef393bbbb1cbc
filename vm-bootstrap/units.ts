// The systemd units a meshscope VM runs, by name: what an operator (and the doctor's advice) may name on a VM.
// launcher.sh installs the agent's unit, istio-sidecar.deb ships istio.service, bootstrap.sh writes the workload's;
// test/doctor checks every command the doctor prints against these and the scripts that define them.

/** The agent (launcher.sh's UNIT): restarting it runs the bootstrap again at once and sends a fresh status report. */
export const AGENT_UNIT = "meshscope-agent.service";
/** The Istio sidecar, as istio-sidecar.deb names its unit (bootstrap.sh adds a drop-in). */
export const SIDECAR_UNIT = "istio.service";

/** The workload's unit (bootstrap.sh: meshscope-$WORKLOAD.service). */
export function workloadUnit(workload: string): string {
    return `meshscope-${workload}.service`;
}

/** Every unit of the VM running `workload`, in the order an operator reads their logs. */
export function vmUnits(workload: string): string[] {
    return [AGENT_UNIT, SIDECAR_UNIT, workloadUnit(workload)];
}
