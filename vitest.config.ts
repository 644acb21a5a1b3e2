import { defineConfig } from 'vitest/config';

// One run, two projects: unit tests need nothing; integration tests share one Kafka broker and one Temporal
// server started by the harness's globalSetup (or taken from KAFKA_BROKERS / TEMPORAL_ADDRESS).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/unit/**/*.test.ts', 'schemas/test/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/test/integration/**/*.test.ts', 'examples/*/test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['packages/test-harness/dist/vitest-global-setup.js'],
          setupFiles: ['vitest.integration-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          // Two cores run the broker, the dev server and the tests: keep test files to two at a time.
          poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        },
      },
    ],
    reporters: ['default'],
  },
});
