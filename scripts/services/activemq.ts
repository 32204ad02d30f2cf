import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, isAlive, stopPid, waitForPort } from "./process-tools.ts";

/** Where Debian's `activemq` package puts the launcher. */
const LAUNCHER = "/usr/share/activemq/bin/activemq.jar";
/** What the statistics plugin needs besides the broker (Debian packages, in /usr/share/java). */
const STATISTICS_JARS = ["xstream.jar", "jettison.jar", "xpp3.jar"];

/**
 * The broker config: STOMP on one loopback port, the scheduler (for `AMQ_SCHEDULED_DELAY`), and
 * the statistics plugin (how a STOMP client reads a queue's depth). No OpenWire, JMX or console.
 */
export function activemqXml(port: number): string {
  return `<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="autoreduce" useJmx="false" schedulerSupport="true"
          dataDirectory="\${activemq.data}">
    <plugins>
      <statisticsBrokerPlugin/>
    </plugins>
    <persistenceAdapter>
      <kahaDB directory="\${activemq.data}/kahadb"/>
    </persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${port}?transport.closeAsync=false&amp;transport.tcpNoDelay=true"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

const LOG4J = `log4j.rootLogger=WARN, logfile
log4j.logger.org.apache.activemq.broker.BrokerService=INFO
log4j.logger.org.apache.activemq.broker.TransportConnector=INFO
log4j.appender.logfile=org.apache.log4j.FileAppender
log4j.appender.logfile.File=\${activemq.data}/activemq.log
log4j.appender.logfile.layout=org.apache.log4j.PatternLayout
log4j.appender.logfile.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
`;

/** An ActiveMQ broker in a folder of its own: config, KahaDB data, log and pid file. */
export class ActiveMQ {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `stomp://127.0.0.1:${this.port}`;
  }

  get pidFile(): string {
    return join(this.dir, "pid");
  }

  /** The broker's pid if its process is alive (started by us, now or by an earlier run). */
  pid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, "utf8"));
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }

  /** Installs the package if missing, writes the config, starts java and waits for STOMP. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.pid() !== null) {
      await waitForPort(this.port, timeoutMs, () => this.pid() !== null, this.logHint());
      return;
    }
    if (!existsSync(LAUNCHER)) aptInstall(["activemq"]);
    // The statistics plugin (queue depths over STOMP) answers through XStream, which Debian's
    // package lacks: without it the broker drops the asking connection.
    if (!STATISTICS_JARS.every((jar) => existsSync(join("/usr/share/java", jar)))) {
      aptInstall(["libxstream-java", "libjettison-java", "libxpp3-java"]);
    }
    for (const sub of ["conf", "data", "tmp", "lib"]) mkdirSync(join(this.dir, sub), { recursive: true });
    for (const jar of STATISTICS_JARS) {
      const link = join(this.dir, "lib", jar);
      if (!existsSync(link)) symlinkSync(join("/usr/share/java", jar), link); // ${activemq.base}/lib is on the classpath
    }
    writeFileSync(join(this.dir, "conf", "activemq.xml"), activemqXml(this.port));
    writeFileSync(join(this.dir, "conf", "log4j.properties"), LOG4J);
    const out = openSync(join(this.dir, "broker.out"), "a");
    const child = spawn(
      "java",
      [
        "-Xms64m",
        "-Xmx256m",
        `-Dlog4j.configuration=file:${join(this.dir, "conf", "log4j.properties")}`,
        "-Dactivemq.home=/usr/share/activemq",
        `-Dactivemq.base=${this.dir}`,
        `-Dactivemq.conf=${join(this.dir, "conf")}`,
        `-Dactivemq.data=${join(this.dir, "data")}`,
        `-Djava.io.tmpdir=${join(this.dir, "tmp")}`,
        "-jar",
        LAUNCHER,
        "start",
        `xbean:file:${join(this.dir, "conf", "activemq.xml")}`,
      ],
      { cwd: this.dir, stdio: ["ignore", out, out], detached: true },
    );
    child.unref();
    writeFileSync(this.pidFile, String(child.pid));
    // Our own process must be the one listening: a foreign broker on the port would fool a probe.
    await waitForPort(this.port, timeoutMs, () => this.pid() !== null, this.logHint());
  }

  /** SIGKILL: the broker dies as in a power cut (KahaDB recovers its journal at the next start). */
  kill(): void {
    const pid = this.pid();
    if (pid !== null) process.kill(pid, "SIGKILL");
  }

  /** SIGTERM and wait for the process to end. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const pid = this.pid();
    if (pid !== null) await stopPid(pid, timeoutMs);
  }

  private logHint(): string {
    return `ActiveMQ in ${this.dir} (see broker.out and data/activemq.log there)`;
  }
}
