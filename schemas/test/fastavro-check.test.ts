import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { contractVersions } from './vector-json';

const checker = path.join(__dirname, '..', 'tools', 'check_vectors.py');

describe('cross-language check of the golden vectors', () => {
  it('fastavro (Python) agrees with every vector: fingerprints, decoded JSON and encoded bytes', () => {
    // Never skipped: without fastavro this fails with the fix in its message (CI runs `pip install fastavro`).
    const probe = spawnSync('python3', ['-c', 'import fastavro'], { encoding: 'utf8' });
    if (probe.error) throw new Error(`python3 is needed to check the vectors with fastavro: ${probe.error.message}`);
    if (probe.status !== 0) {
      throw new Error(`fastavro is not installed for python3; run \`pip install fastavro\`.\n${probe.stderr}`);
    }

    const run = spawnSync('python3', [checker], { encoding: 'utf8', timeout: 60_000 });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const expected = contractVersions().reduce((n, v) => n + v.vectors.length, 0);
    expect(run.stdout).toMatch(new RegExp(`^checked ${expected} vectors against \\d+ schemas`, 'm'));
  });
});
