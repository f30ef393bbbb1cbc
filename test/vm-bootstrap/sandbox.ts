// A throwaway root and PATH shims in which the VM scripts (launcher, agent, bootstrap) really run under bash.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const shimsDir = join(__dirname, "shims");
const realCurl = ["/usr/bin/curl", "/bin/curl"].find(existsSync) ?? "curl";

/**
 * A hang guard, not a time limit: a scenario on a busy 2-core machine may take many times longer than on a quiet
 * one, and the tests wait for what the scripts do (their exit, a journal line), never for a fixed time. Only a
 * script or wait that never ends meets this, and then it fails instead of holding the run forever.
 */
export const HANG_GUARD_MS = 10 * 60_000;

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export class Sandbox {
    readonly dir = mkdtempSync(join(tmpdir(), "meshscope-vm-"));
    readonly root = join(this.dir, "root");
    private readonly bin = join(this.dir, "bin");
    private readonly state = join(this.dir, "state");
    private readonly callLog = join(this.dir, "calls.log");

    constructor(hosts = "127.0.0.1 localhost\n") {
        for (const dir of [this.root, this.bin, this.state, join(this.root, "etc")]) mkdirSync(dir, { recursive: true });
        writeFileSync(join(this.root, "etc/hosts"), hosts);
        for (const shim of readdirSync(shimsDir)) {
            copyFileSync(join(shimsDir, shim), join(this.bin, shim));
            chmodSync(join(this.bin, shim), 0o755);
        }
    }

    private env(metadataUrl: string, extraEnv: Record<string, string>, callLog = this.callLog): Record<string, string> {
        return {
            PATH: `${this.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
            HOME: this.dir,
            MESHSCOPE_ROOT: this.root,
            MESHSCOPE_METADATA_URL: metadataUrl,
            MESHSCOPE_KUBE_ATTEMPTS: "1",
            // Nothing listens there: the status report finds no Envoy admin, as before the sidecar starts.
            MESHSCOPE_ENVOY_ADMIN: "http://127.0.0.1:9",
            SHIM_LOG: callLog,
            SHIM_STATE: this.state,
            SHIM_REAL_CURL: realCurl,
            ...extraEnv,
        };
    }

    /** Runs a script as GCE or systemd does (a file run by bash), pointed at the fakes. */
    run(script: string, metadataUrl: string, extraEnv: Record<string, string> = {}): Promise<RunResult> {
        const file = join(this.dir, "script");
        writeFileSync(file, script);
        const env = this.env(metadataUrl, extraEnv);
        // Asynchronous on purpose: the fake servers live in this process's event loop.
        return new Promise((resolve) => {
            execFile("bash", [file], { env, timeout: HANG_GUARD_MS }, (error, stdout, stderr) => {
                const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
                resolve({ code, stdout, stderr });
            });
        });
    }

    /**
     * A reboot as far as the scripts can tell: /run (tmpfs) is empty, iptables rules are gone, and systemd has
     * started every enabled unit whose conditions and bindings hold (the systemctl shim decides, as for a
     * start), the units others bind to first. Returns the units that are active afterwards.
     */
    reboot(): string[] {
        rmSync(join(this.root, "var/run"), { recursive: true, force: true });
        for (const dir of ["active", "iptables"]) rmSync(join(this.state, dir), { recursive: true, force: true });
        mkdirSync(join(this.state, "active"));
        const enabled = existsSync(join(this.state, "enabled")) ? readdirSync(join(this.state, "enabled")) : [];
        const bootOrder = [...enabled].sort((a, b) => Number(this.boundByOthers(b)) - Number(this.boundByOthers(a)));
        const env = this.env("http://127.0.0.1:9/unused", {}, join(this.dir, "boot.log"));
        for (const unit of bootOrder) execFileSync(join(this.bin, "systemctl"), ["start", unit], { env });
        return this.active();
    }

    private boundByOthers(unit: string): boolean {
        const dir = join(this.root, "etc/systemd/system");
        return existsSync(dir) && readdirSync(dir).some((name) => name.endsWith(".service") &&
            readFileSync(join(dir, name), "utf8").split("\n").includes(`BindsTo=${unit}`));
    }

    /** What an operator's `systemctl ARGS` would do, through the same shim (not recorded among the script's calls). */
    systemctl(...args: string[]): void {
        execFileSync(join(this.bin, "systemctl"), args, { env: this.env("http://127.0.0.1:9/unused", {}, join(this.dir, "operator.log")) });
    }

    /** Units the systemctl shim holds active. */
    active(): string[] {
        const dir = join(this.state, "active");
        return existsSync(dir) ? readdirSync(dir).sort() : [];
    }

    /** The filter table's rules of one chain, as the iptables shim keeps them. */
    iptables(chain: string): string[] {
        const file = join(this.state, "iptables", chain);
        return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
    }

    /** Recorded shim calls, one "command args..." string each. */
    calls(): string[] {
        return existsSync(this.callLog) ? readFileSync(this.callLog, "utf8").split("\n").filter((line) => line !== "") : [];
    }

    /** Lines a shim kept in its state file NAME (e.g. curl-args: the full command line of each faked download). */
    shimState(name: string): string[] {
        const file = join(this.state, name);
        return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
    }

    /** The version of a package the apt-get shim installed, or undefined. */
    installed(pkg: string): string | undefined {
        const file = join(this.state, "pkgs", pkg);
        return existsSync(file) ? readFileSync(file, "utf8") : undefined;
    }

    /** Lines the script sent to the journal through logger. */
    journal(): string {
        const file = join(this.state, "journal");
        return existsSync(file) ? readFileSync(file, "utf8") : "";
    }

    file(path: string): string {
        return readFileSync(join(this.root, path), "utf8");
    }

    exists(path: string): boolean {
        return existsSync(join(this.root, path));
    }

    mode(path: string): string {
        return (statSync(join(this.root, path)).mode & 0o777).toString(8);
    }

    /** sha256, mode and mtime of every file under the root, keyed by path. */
    snapshot(): Record<string, string> {
        const out: Record<string, string> = {};
        const walk = (dir: string) => {
            for (const entry of readdirSync(dir, { withFileTypes: true })) {
                const path = join(dir, entry.name);
                if (entry.isDirectory()) walk(path);
                else {
                    const stat = statSync(path);
                    const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
                    out[relative(this.root, path)] = `${hash} ${(stat.mode & 0o777).toString(8)} ${stat.mtimeMs}`;
                }
            }
        };
        walk(this.root);
        return out;
    }

    remove(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}
