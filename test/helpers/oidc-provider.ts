import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stopPid } from "../../scripts/services/process-tools.ts";
import { waitFor } from "./wait-for.ts";

const SERVER = fileURLToPath(new URL("../fixtures/oidc-provider/server.mjs", import.meta.url));

export interface OidcAccount {
  password: string;
  claims: Record<string, unknown>;
}

export interface OidcProviderProcess {
  issuer: string;
  child: ChildProcess;
  /** What the provider wrote on stderr (for failure messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts test/fixtures/oidc-provider/server.mjs (the `oidc-provider` package) as a process of its
 * own on `port`, with one client and these accounts, and waits until it says it listens and
 * answers its discovery document as the issuer we asked for: the process answering is ours.
 */
export async function startOidcProvider(options: {
  port: number;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  accounts: Record<string, OidcAccount>;
}): Promise<OidcProviderProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, OIDC_FIXTURE: JSON.stringify(options) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const issuer = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) await stopPid(child.pid, 5000);
  };
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the OIDC provider exited (${child.exitCode}): ${err}`);
      return out.includes(`listening ${issuer}`);
    }, "the OIDC provider process to listen");
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    if (metadata.issuer !== issuer || child.exitCode !== null)
      throw new Error(`port ${options.port} is not answered by our OIDC provider (${metadata.issuer})`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { issuer, child, stderr: () => err, stop };
}
