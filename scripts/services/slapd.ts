import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, freePort, isAlive, stopPid, waitForPort } from "./process-tools.ts";
import { SHARED_DIR } from "./shared.ts";

/** Where Debian's `slapd` and `ldap-utils` put what we run. */
const SLAPD = "/usr/sbin/slapd";
const SLAPADD = "/usr/sbin/slapadd";
const SLAPPASSWD = "/usr/sbin/slappasswd";
const LDAPWHOAMI = "/usr/bin/ldapwhoami";

/** The test run's shared directory server lives here (config, data, log, pid file, port). */
export const SHARED_SLAPD_DIR = join(SHARED_DIR, "slapd");

/** The directory's base and its administrator (who may do anything; the tests never bind as it). */
export const LDAP_SUFFIX = "dc=autoreduce,dc=test";
export const LDAP_ROOT_DN = `cn=admin,${LDAP_SUFFIX}`;
export const LDAP_ROOT_PASSWORD = "autoreduce-test-root";

/** `web.ldap.user_dn` for this directory. */
export const LDAP_USER_DN = `uid={username},ou=people,${LDAP_SUFFIX}`;

/** The groups the tests map to roles (groupOfNames, members by DN). */
export const LDAP_GROUPS = {
  admins: `cn=autoreduce-admins,ou=groups,${LDAP_SUFFIX}`,
  mariScientists: `cn=mari-scientists,ou=groups,${LDAP_SUFFIX}`,
  wishScientists: `cn=wish-scientists,ou=groups,${LDAP_SUFFIX}`,
} as const;

/**
 * People of the test directory and their passwords: alice (administrators), bob (MARI's
 * scientists), carol (no group), dave (MARI's scientists by `uniqueMember` of an extra group),
 * mari (a directory person named like the tests' LOCAL account `mari`: must never take it over).
 */
export const LDAP_PEOPLE = {
  alice: { password: "alice-ldap-pw", cn: "Alice Admin", mail: "alice@autoreduce.test" },
  bob: { password: "bob-ldap-pw", cn: "Bob Scientist", mail: "bob@autoreduce.test" },
  carol: { password: "carol-ldap-pw", cn: "Carol Nobody", mail: "carol@autoreduce.test" },
  dave: { password: "dave-ldap-pw", cn: "Dave Unique", mail: "dave@autoreduce.test" },
  mari: { password: "mari-ldap-pw", cn: "Mari Directory", mail: "mari@autoreduce.test" },
} as const;

/** A group whose members are listed as `uniqueMember` (groupOfUniqueNames), as some directories do. */
export const LDAP_UNIQUE_GROUP = `cn=mari-beamline,ou=groups,${LDAP_SUFFIX}`;

/**
 * The server config (slapd.conf, read with `-f`): the schemas people and groups need, one `mdb`
 * database in `dir/data`. A person may bind and read entries (their groups); anonymous may only
 * bind; passwords are readable by nobody.
 */
export function slapdConf(dir: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ${join(dir, "slapd.pid")}
argsfile ${join(dir, "slapd.args")}
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 16777216
suffix "${LDAP_SUFFIX}"
rootdn "${LDAP_ROOT_DN}"
rootpw ${LDAP_ROOT_PASSWORD}
directory ${join(dir, "data")}
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by users read
  by * none
`;
}

/** The entries: base, people (with hashed passwords) and groups. */
function testLdif(): string {
  const hash = (password: string) =>
    execFileSync(SLAPPASSWD, ["-h", "{SSHA}", "-s", password], { encoding: "utf8" }).trim();
  const person = (uid: keyof typeof LDAP_PEOPLE) => {
    const p = LDAP_PEOPLE[uid];
    return `dn: uid=${uid},ou=people,${LDAP_SUFFIX}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${p.cn}
sn: ${p.cn.split(" ")[1]}
mail: ${p.mail}
userPassword: ${hash(p.password)}
`;
  };
  const dn = (uid: string) => `uid=${uid},ou=people,${LDAP_SUFFIX}`;
  return [
    `dn: ${LDAP_SUFFIX}
objectClass: dcObject
objectClass: organization
dc: autoreduce
o: autoreduce test facility
`,
    `dn: ou=people,${LDAP_SUFFIX}
objectClass: organizationalUnit
ou: people
`,
    `dn: ou=groups,${LDAP_SUFFIX}
objectClass: organizationalUnit
ou: groups
`,
    ...(Object.keys(LDAP_PEOPLE) as Array<keyof typeof LDAP_PEOPLE>).map(person),
    `dn: ${LDAP_GROUPS.admins}
objectClass: groupOfNames
cn: autoreduce-admins
member: ${dn("alice")}
`,
    `dn: ${LDAP_GROUPS.mariScientists}
objectClass: groupOfNames
cn: mari-scientists
member: ${dn("bob")}
`,
    `dn: ${LDAP_GROUPS.wishScientists}
objectClass: groupOfNames
cn: wish-scientists
member: ${dn("alice")}
`,
    `dn: ${LDAP_UNIQUE_GROUP}
objectClass: groupOfUniqueNames
cn: mari-beamline
uniqueMember: ${dn("dave")}
`,
  ].join("\n");
}

/**
 * A private OpenLDAP server in a folder of its own (config, mdb data, log, pid file), on one
 * loopback port, loaded with the test directory. It never touches the machine's own slapd.
 */
export class Slapd {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  private get pidFile(): string {
    return join(this.dir, "slapd.pid");
  }

  /** The server an earlier `start` left running in `dir` (its port is kept there), if any. */
  static running(dir: string): Slapd | null {
    const portFile = join(dir, "port");
    if (!existsSync(portFile)) return null;
    const server = new Slapd(dir, Number(readFileSync(portFile, "utf8")));
    return server.pid() !== null ? server : null;
  }

  /** The server's pid if its process is alive (started by us, now or by an earlier run). */
  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }

  /** Installs the packages if missing, writes config and data, starts slapd, waits until it binds. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.pid() !== null) {
      await this.waitReady(timeoutMs);
      return;
    }
    if (![SLAPD, SLAPADD, SLAPPASSWD, LDAPWHOAMI].every(existsSync)) aptInstall(["slapd", "ldap-utils"]);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(join(this.dir, "data"), { recursive: true });
    const conf = join(this.dir, "slapd.conf");
    writeFileSync(conf, slapdConf(this.dir));
    writeFileSync(join(this.dir, "test.ldif"), testLdif());
    execFileSync(SLAPADD, ["-q", "-f", conf, "-l", join(this.dir, "test.ldif")], { stdio: "pipe" });
    const out = openSync(join(this.dir, "slapd.out"), "a");
    // `-d 0`: stay in the foreground (no fork), so the pid we spawn is the server's.
    const child = spawn(SLAPD, ["-d", "0", "-f", conf, "-h", `${this.url}/`], {
      cwd: this.dir,
      stdio: ["ignore", out, out],
      detached: true,
    });
    child.unref();
    writeFileSync(this.pidFile, String(child.pid));
    writeFileSync(join(this.dir, "port"), String(this.port));
    await this.waitReady(timeoutMs);
  }

  /** SIGTERM and wait for the process to end. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const pid = this.pid();
    if (pid !== null) await stopPid(pid, timeoutMs);
  }

  /**
   * Our own process listens and answers a bind of a test person (a foreign server on the port
   * would not know them).
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const what = `slapd in ${this.dir} (see slapd.out there)`;
    await waitForPort(this.port, timeoutMs, () => this.pid() !== null, what);
    const { password } = LDAP_PEOPLE.carol;
    const who = execFileSync(
      LDAPWHOAMI,
      ["-x", "-H", this.url, "-D", LDAP_USER_DN.replace("{username}", "carol"), "-w", password],
      { encoding: "utf8" },
    ).trim();
    if (who !== `dn:${LDAP_USER_DN.replace("{username}", "carol")}`)
      throw new Error(`${what} answered "${who}" to a bind of carol`);
  }
}

/**
 * The test run's shared directory server: the one an earlier `start` left running, else a new one
 * on a free port. A server that cannot be had fails the start in CI (`CI=true`); elsewhere it is
 * said on stderr and null is returned, so the other tests still run (the LDAP tests then fail,
 * saying why).
 */
export async function ensureSlapd(): Promise<{ url: string } | null> {
  const running = Slapd.running(SHARED_SLAPD_DIR);
  if (running) return { url: running.url };
  const server = new Slapd(SHARED_SLAPD_DIR, await freePort());
  try {
    await server.start();
  } catch (e) {
    await server.stop();
    if (process.env.CI === "true") throw e;
    console.error(`services: no LDAP server for the tests: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
  return { url: server.url };
}

/** Stops the shared directory server, if it runs (it is always ours: a private instance, never the machine's). */
export async function stopSlapd(): Promise<void> {
  await Slapd.running(SHARED_SLAPD_DIR)?.stop();
}
