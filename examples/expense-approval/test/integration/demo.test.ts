import fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { runDemo } from '../../src/demo';

// Runs the demo as `pnpm demo` does, on the shared servers and with a small batch: the bridge's real CLI, the
// worker and the approval service as child processes built into dist/ (the test command builds first).
describe('the expense approval demo', () => {
  it('ends every workflow as the approval policy says: approved, rejected with the reason, or withdrawn', async () => {
    let output = '';
    const result = await runDemo({
      servers: inject('tkbServers'),
      count: 6,
      withdrawAfterMs: 4000,
      write: (text) => void (output += text),
      live: false,
    });

    expect(result.problems, output).toEqual([]);
    expect(result.interrupted).toBe(false);
    // Read back from Temporal: the first three samples are one of each kind.
    const byId = Object.fromEntries(result.rows.map((row) => [row.expense.description, row.outcome]));
    expect(byId['Team lunch']).toMatchObject({ kind: 'approved', reviewer: expect.any(String) });
    expect(byId['Conference ticket']).toEqual({
      kind: 'rejected',
      reason: '$1,450.00 is over the $1,000.00 approval limit',
    });
    expect(byId['Datacenter rack lease']).toMatchObject({ kind: 'cancelled', withdrawAfterMs: 4000 });
    expect(result.rows.map((row) => row.outcome?.kind)).toEqual(result.rows.map((row) => row.expected));
    expect(result.ok, output).toBe(true);

    // The cancellation went the whole way: notice on the request topic, Canceled reply, bridge drained on SIGTERM.
    expect(output).toMatch(/1 cancel notices; replies: .*, 1 canceled/);
    expect(output).toMatch(/bridge stopped .*bridge drained and left its group/);
    const bridgeLog = fs.readFileSync(`${result.logDir}/bridge.log`, 'utf8');
    expect(bridgeLog).toContain('"msg":"bridge stopped"');
  });
});
