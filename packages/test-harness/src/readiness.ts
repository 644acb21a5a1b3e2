import { Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { waitUntil } from './wait-until';

/** Resolves once a Kafka broker at `brokers` answers a metadata request and reports a controller. */
export async function waitForKafka(
  brokers: string[],
  options: { timeoutMs: number; abortReason?: () => string | undefined },
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'tkb-harness-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  await waitUntil(
    `Kafka at ${brokers.join(',')}`,
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null && cluster.controller >= 0;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { timeoutMs: options.timeoutMs, intervalMs: 250, abortReason: options.abortReason },
  );
}

/** Resolves once Temporal at `address` answers `getSystemInfo` and knows `namespace`. */
export async function waitForTemporal(
  address: string,
  namespace: string,
  options: { timeoutMs: number; abortReason?: () => string | undefined },
): Promise<void> {
  await waitUntil(
    `Temporal at ${address}`,
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await connection.close();
      }
    },
    { timeoutMs: options.timeoutMs, intervalMs: 250, abortReason: options.abortReason },
  );
}
