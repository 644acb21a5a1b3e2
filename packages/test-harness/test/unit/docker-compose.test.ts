import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// There is no Docker engine on CI machines, so docker-compose.yml is checked statically: what `docker compose up`
// would trip over first (a service that names a missing one, an unpinned image, a port used twice, a placeholder).
interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  entrypoint?: string[] | string;
  command?: string[] | string;
  stop_grace_period?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  environment?: Record<string, string | number>;
}

const repoRoot = path.resolve(__dirname, '../../../..');
const composeFile = path.join(repoRoot, 'docker-compose.yml');
const text = fs.readFileSync(composeFile, 'utf8');
const compose = parse(text) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const services = Object.entries(compose.services);

describe('docker-compose.yml', () => {
  it('runs Kafka in KRaft mode and the Temporal dev server with its UI', () => {
    const kafka = compose.services.kafka;
    expect(kafka?.environment?.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    const temporal = compose.services.temporal;
    expect(temporal?.ports).toEqual(expect.arrayContaining(['7233:7233', '8233:8233']));
  });

  it('pins every image to a version and gives every server a healthcheck', () => {
    for (const [name, service] of services) {
      if (service.image) expect(service.image, name).toMatch(/:[0-9][\w.-]*$/);
      else expect(service.build, `${name} has neither image nor build`).toBeDefined();
    }
    for (const name of ['kafka', 'temporal']) expect(compose.services[name]?.healthcheck, name).toBeDefined();
  });

  it('only depends on services and volumes it defines, and publishes each host port once', () => {
    const hostPorts: string[] = [];
    for (const [, service] of services) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect(compose.services).toHaveProperty(dep);
      for (const port of service.ports ?? []) hostPorts.push(port.split(':')[0]!);
    }
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    const namedVolumes = [...text.matchAll(/^\s+- ([a-z-]+):\//gm)].map((m) => m[1]!);
    for (const volume of namedVolumes) expect(compose.volumes).toHaveProperty(volume);
  });

  it('builds the bridge from its Dockerfile with the repository root as context', () => {
    const bridge = compose.services.bridge;
    expect(bridge?.build).toEqual({ context: '.', dockerfile: 'packages/bridge/Dockerfile' });
    expect(fs.existsSync(path.join(repoRoot, 'packages/bridge/Dockerfile'))).toBe(true);
    expect(bridge?.ports).toEqual(['9464:9464']);
  });

  it('starts the bridge once Kafka and Temporal are healthy and the topics exist', () => {
    expect(compose.services.bridge?.depends_on).toEqual({
      kafka: { condition: 'service_healthy' },
      temporal: { condition: 'service_healthy' },
      'kafka-init': { condition: 'service_completed_successfully' },
    });
    expect(compose.services['kafka-init']?.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
  });

  it('points the bridge at the servers by their in-network names and listeners', () => {
    const env = compose.services.bridge?.environment ?? {};
    const kafkaEnv = compose.services.kafka?.environment ?? {};
    expect(env.TKB_KAFKA_BROKERS).toBe('kafka:9092');
    expect(String(kafkaEnv.KAFKA_ADVERTISED_LISTENERS)).toContain('//kafka:9092');
    expect(env.TKB_TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(compose.services.temporal?.command).toEqual(expect.arrayContaining(['--ip', '0.0.0.0']));
  });

  it('creates with kafka-init exactly the topics the bridge uses', () => {
    const init = compose.services['kafka-init'];
    expect(init?.image).toBe(compose.services.kafka?.image);
    const script = [init?.entrypoint, init?.command].flat().join('\n');
    expect(script).toContain('/opt/kafka/bin/kafka-topics.sh');
    expect(script).toContain('--bootstrap-server kafka:9092');
    expect(script).toContain('--if-not-exists');
    expect(script).toMatch(/^\s*set -e$/m);
    const env = compose.services.bridge?.environment ?? {};
    const topics = [env.TKB_KAFKA_REQUEST_TOPIC, env.TKB_KAFKA_RESPONSE_TOPICS, env.TKB_KAFKA_DEAD_LETTER_TOPIC];
    expect(topics).toEqual(['expenses.requests', 'expenses.replies', 'expenses.replies.dlq']);
    const loop = /for topic in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(loop?.sort()).toEqual([...topics].map(String).sort());
  });

  it('gives the bridge time to drain on `docker compose stop`', () => {
    const seconds = Number(/^(\d+)s$/.exec(compose.services.bridge?.stop_grace_period ?? '')?.[1]);
    // shutdown.drainTimeoutMs defaults to 20 s; compose's own default grace is 10 s.
    expect(seconds).toBeGreaterThan(20);
  });

  it('holds no placeholders', () => {
    expect(text).not.toMatch(/TODO|FIXME|changeme|<[a-z-]+>|placeholder/i);
  });
});
