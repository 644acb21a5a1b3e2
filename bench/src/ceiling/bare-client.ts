import { AsyncCompletionClient, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { runToExit } from '../exit-cleanly';
import { runPool } from '../pool';
import { ceilingToken } from './backlog';

/**
 * How the bare client calls: `client` = `AsyncCompletionClient.complete` on a connection made as the bridge makes
 * it (no SDK retry interceptor), the baseline; `sdk-default` = the same on `Connection.connect`'s defaults (its
 * retry interceptor on every call); `raw` = `workflowService.respondActivityTaskCompleted` with a payload encoded
 * once, the floor under any client.
 */
const WARM_UP_CALLS = 500;

export type BareClientMode = 'client' | 'sdk-default' | 'raw';

/**
 * The bare client of the ceiling bench, in a process of its own: `count` completions with `concurrency` calls in
 * flight, as `mode` says. argv: address count concurrency firstIndex mode. Sends 'ready' once connected, runs on
 * the parent's 'go', answers 'done', exits when the parent disconnects.
 */
async function main(): Promise<void> {
  const [address, countText, concurrencyText, firstText, mode] = process.argv.slice(2) as [
    string,
    string,
    string,
    string,
    BareClientMode,
  ];
  const first = Number(firstText);
  const tokens = Array.from({ length: Number(countText) }, (_, i) => ceilingToken(first + i));
  const connection = await Connection.connect(mode === 'sdk-default' ? { address } : { address, interceptors: [] });
  try {
    const client = new AsyncCompletionClient({ connection, namespace: 'default' });
    const result = { approved: true };
    const payloads = [defaultPayloadConverter.toPayload(result)];
    const complete =
      mode === 'raw'
        ? async (taskToken: Buffer): Promise<void> => {
            await connection.workflowService.respondActivityTaskCompleted({
              namespace: 'default',
              identity: 'bare',
              taskToken,
              result: { payloads },
            });
          }
        : (taskToken: Buffer): Promise<void> => client.complete(taskToken, result);
    // Warm-up on tokens of their own (the bridge too is past its first calls when measured): JIT and connection.
    const warmUp = Array.from({ length: WARM_UP_CALLS }, (_, i) => ceilingToken(first + tokens.length + i));
    await runPool(warmUp, Number(concurrencyText), complete);
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    const gone = new Promise<void>((resolve) => process.once('disconnect', resolve));
    process.send!('ready');
    await go;
    await runPool(tokens, Number(concurrencyText), complete);
    process.send!('done');
    await gone;
  } finally {
    await connection.close();
  }
}

runToExit(main);
