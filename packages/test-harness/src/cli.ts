#!/usr/bin/env node
import { startServers } from './start-servers';

/**
 * `tkb-servers`: starts Kafka and Temporal the way the tests do and keeps them up until Ctrl-C, printing
 * `export KAFKA_BROKERS=... TEMPORAL_ADDRESS=...` lines to paste into another shell.
 */
async function main(): Promise<void> {
  const servers = await startServers();
  const { kafkaBrokers, temporalAddress, temporalNamespace } = servers.addresses();
  console.log(servers.describe());
  console.log(`export KAFKA_BROKERS=${kafkaBrokers.join(',')}`);
  console.log(`export TEMPORAL_ADDRESS=${temporalAddress}`);
  console.log(`export TEMPORAL_NAMESPACE=${temporalNamespace}`);
  console.log('servers are up; Ctrl-C stops them');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void servers.dispose().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
