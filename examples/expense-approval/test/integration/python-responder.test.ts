import { ensurePythonVenv } from '@temporal-kafka-bridge/test-harness';
import path from 'node:path';
import { describe, inject, it } from 'vitest';
import { checkEveryOutcome } from './support/external-responder';

const exampleDir = path.resolve(__dirname, '..', '..', '..', 'python-responder');

describe('the Python approval service (examples/python-responder)', () => {
  it('answers through the bridge: Completed, Failed, Heartbeat and Canceled reach their workflows intact', async () => {
    // Installed by `pnpm test`'s prerequisites; this only finds the venv (or makes it when run alone).
    const python = await ensurePythonVenv('python-responder', path.join(exampleDir, 'requirements.txt'));
    await checkEveryOutcome(inject('tkbServers'), { command: python, args: ['responder.py'], cwd: exampleDir });
  });
});
