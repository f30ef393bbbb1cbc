// The two env-file dialects the VM reads. Values are validated upstream (no newline or NUL).

/** Characters a shell leaves alone unquoted (the set shellescape.Quote, used by istioctl, leaves bare). */
const shellSafe = /^[A-Za-z0-9@%+=:,./_-]+$/;

export function shellQuote(value: string): string {
    if (shellSafe.test(value)) return value;
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** cluster.env is sourced by bash (istio-start.sh), so values are shell-quoted; lines sorted like istioctl. */
export function shellEnvFile(vars: Record<string, string>): string {
    const lines = Object.entries(vars).map(([name, value]) => `${name}=${shellQuote(value)}`);
    return lines.sort().join("\n") + "\n";
}

/** podman --env-file takes each line's value literally: no quoting, or the quotes would become the value. */
export function literalEnvFile(vars: Record<string, string>): string {
    return Object.entries(vars).map(([name, value]) => `${name}=${value}\n`).join("");
}
