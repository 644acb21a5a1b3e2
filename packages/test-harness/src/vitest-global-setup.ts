import { startServers, type Servers } from './start-servers';
import type { ServerAddresses } from './servers';

interface GlobalSetupContext {
  provide(key: 'tkbServers', value: ServerAddresses): void;
}

let servers: Servers | undefined;

/**
 * vitest `globalSetup`. Tests read the addresses with `inject('tkbServers')`; declare the key once in a
 * `.d.ts` of your test folder: `declare module 'vitest' { interface ProvidedContext { tkbServers: ServerAddresses } }`.
 *
 * It starts (or finds) Kafka and Temporal once per run and hands their addresses to every
 * test through `inject('tkbServers')` and to child processes through `KAFKA_BROKERS` / `TEMPORAL_ADDRESS`.
 */
export default async function setup({ provide }: GlobalSetupContext): Promise<() => Promise<void>> {
  const started = Date.now();
  servers = await startServers();
  const addresses = servers.addresses();
  provide('tkbServers', addresses);
  process.env.KAFKA_BROKERS = addresses.kafkaBrokers.join(',');
  process.env.TEMPORAL_ADDRESS = addresses.temporalAddress;
  process.env.TEMPORAL_NAMESPACE = addresses.temporalNamespace;
  console.log(`[test-harness] servers ready in ${Date.now() - started} ms\n${servers.describe()}`);
  return async () => {
    const description = servers?.describe();
    await servers?.dispose();
    console.log(`[test-harness] servers stopped; their logs stay at:\n${description}`);
  };
}
