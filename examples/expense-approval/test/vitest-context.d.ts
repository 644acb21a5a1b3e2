import type { ServerAddresses } from '@temporal-kafka-bridge/test-harness';

declare module 'vitest' {
  export interface ProvidedContext {
    tkbServers: ServerAddresses;
  }
}
