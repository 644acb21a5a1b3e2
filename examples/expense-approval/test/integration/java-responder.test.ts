import { ensureMavenJar } from '@temporal-kafka-bridge/test-harness';
import path from 'node:path';
import { describe, inject, it } from 'vitest';
import { checkEveryOutcome } from './support/external-responder';

const exampleDir = path.resolve(__dirname, '..', '..', '..', 'java-responder');

describe('the Java approval service (examples/java-responder)', () => {
  it('answers through the bridge: Completed, Failed, Heartbeat and Canceled reach their workflows intact', async () => {
    // Built by `pnpm test`'s prerequisites; this only finds the jar (or builds it when run alone).
    const jar = await ensureMavenJar(exampleDir, 'target/java-responder.jar', [
      'pom.xml',
      'src',
      '../../schemas/*.avsc',
    ]);
    await checkEveryOutcome(inject('tkbServers'), { command: 'java', args: ['-jar', jar], cwd: exampleDir });
  });
});
