import type { ServerAddresses } from '../src/servers';

declare module 'vitest' {
  export interface ProvidedContext {
    tkbServers: ServerAddresses;
  }
}
