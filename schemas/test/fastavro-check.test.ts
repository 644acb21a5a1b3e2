import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { findPython } from '@temporal-kafka-bridge/test-harness';
import { describe, expect, it } from 'vitest';

import { contractVersions } from './vector-json';

const checker = path.join(__dirname, '..', 'tools', 'check_vectors.py');

describe('cross-language check of the golden vectors', () => {
  it('fastavro (Python) agrees with every vector: fingerprints, decoded JSON and encoded bytes', () => {
    // Never skipped: without fastavro this fails with the fix in its message (`pnpm test` installs it first).
    const python = findPython(['fastavro']);
    if (!python) throw new Error('no Python on PATH can import fastavro; run `pip install fastavro`');

    const run = spawnSync(python, [checker], { encoding: 'utf8', timeout: 60_000 });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const expected = contractVersions().reduce((n, v) => n + v.vectors.length, 0);
    expect(run.stdout).toMatch(new RegExp(`^checked ${expected} vectors against \\d+ schemas`, 'm'));
  });
});
