import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../cache-dir';
import { ServerInstallError } from '../errors';
import { installOnce } from './install-lock';
import { runCommand } from './run-command';

/** The Apache Kafka release the harness runs (Maven coordinates `org.apache.kafka:kafka_2.13`). */
export const KAFKA_VERSION = '4.1.1';
// The Maven artifacts lack the slf4j binding the release tarball ships; without it the broker logs nothing.
const LOG4J_VERSION = '2.24.3';

export interface KafkaInstallation {
  version: string;
  /** Classpath entry holding every runtime jar. */
  classpath: string;
  log4jConfigPath: string;
}

function pom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>temporal-kafka-bridge.cache</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
`;
}

const LOG4J2_CONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka" level="INFO"/>
    <Logger name="org.apache.kafka" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Root level="WARN"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
`;

/**
 * Resolves Kafka's runtime classpath from Maven Central into the cache with `mvn`, once.
 * Needs `mvn` and network access to Maven Central on the first run only.
 */
export async function installKafka(): Promise<KafkaInstallation> {
  const home = path.join(cacheDir(), `kafka-${KAFKA_VERSION}`);
  const libs = path.join(home, 'libs');
  const log4jConfigPath = path.join(home, 'log4j2.xml');
  await installOnce(path.join(home, '.installed'), async () => {
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'pom.xml'), pom());
    const staging = `${libs}.partial`;
    fs.rmSync(staging, { recursive: true, force: true });
    const mvn = process.env.MVN ?? 'mvn';
    const result = await runCommand(
      mvn,
      ['-B', '-q', 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
      { cwd: home },
    );
    if (result.code !== 0) {
      throw new ServerInstallError(
        `could not resolve Kafka ${KAFKA_VERSION} from Maven Central with '${mvn}' (exit ${result.code}). ` +
          `Install Maven and Java 17, or set KAFKA_BROKERS to a running broker.\n${result.output.slice(-3000)}`,
        'kafka',
      );
    }
    fs.rmSync(libs, { recursive: true, force: true });
    fs.renameSync(staging, libs);
  });
  fs.writeFileSync(log4jConfigPath, LOG4J2_CONFIG);
  return { version: KAFKA_VERSION, classpath: path.join(libs, '*'), log4jConfigPath };
}
