import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { portOpen } from "./process-tools.ts";

/** The newest PostgreSQL installed from Debian's packages. */
function binDir(): string {
  const versions = readdirSync("/usr/lib/postgresql")
    .filter((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  const version = versions[0];
  if (!version)
    throw new Error("no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)");
  return join("/usr/lib/postgresql", version, "bin");
}

function asPostgres(command: string, args: string[]): void {
  const result = spawnSync("runuser", ["-u", "postgres", "--", command, ...args], { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr || result.stdout}`);
  }
}

/**
 * A throw-away PostgreSQL cluster of a test's own (trust auth, loopback, its own port), which
 * the test may stop and start again. initdb + start take about a second.
 */
export class PrivateCluster {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const data = join(this.dir, "pgdata");
    if (!existsSync(join(data, "PG_VERSION"))) {
      mkdirSync(data, { recursive: true });
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(this.dir, uid, gid);
      chownSync(data, uid, gid);
      asPostgres(join(binDir(), "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
    }
    asPostgres(join(binDir(), "pg_ctl"), [
      "-D",
      data,
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      join(this.dir, "postgres.log"),
      "-w",
      "start",
    ]);
    if (!(await portOpen(this.port)))
      throw new Error(`PostgreSQL in ${this.dir} does not listen on ${this.port}`);
  }

  /** Stops the cluster (if running) and deletes its folder. */
  remove(): void {
    try {
      this.stop("immediate");
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** `immediate` is a crash (no shutdown checkpoint); `fast` a clean stop that ends sessions. */
  stop(mode: "fast" | "immediate" = "fast"): void {
    const data = join(this.dir, "pgdata");
    if (!existsSync(join(data, "postmaster.pid"))) return;
    asPostgres(join(binDir(), "pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]);
  }
}
