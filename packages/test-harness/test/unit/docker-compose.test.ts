import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// There is no Docker engine on CI machines, so docker-compose.yml is checked statically: what `docker compose up`
// would trip over first (a service that names a missing one, an unpinned image, a port used twice, a placeholder).
interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  environment?: Record<string, string | number>;
}

const composeFile = path.resolve(__dirname, '../../../../docker-compose.yml');
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

  it('holds no placeholders', () => {
    expect(text).not.toMatch(/TODO|FIXME|changeme|<[a-z-]+>|placeholder/i);
  });
});
