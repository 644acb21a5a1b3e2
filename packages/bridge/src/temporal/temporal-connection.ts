import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { TemporalOptions } from '../config/options';
import { type ReadFile, readTlsFile } from '../config/tls-files';

/**
 * Opens the gRPC connection to Temporal with the configured TLS / mTLS and API key.
 *
 * @throws ConfigError naming the setting when a TLS file cannot be read or is not PEM; the connection error
 * otherwise
 */
export async function connectToTemporal(options: TemporalOptions, readFile?: ReadFile): Promise<Connection> {
  return Connection.connect({
    address: options.address,
    tls: temporalTlsConfig(options, readFile),
    apiKey: options.apiKey,
    connectTimeout: 10_000,
    // No SDK retry interceptor (its default retries UNAVAILABLE, RESOURCE_EXHAUSTED, UNKNOWN… up to 10 times per
    // call): the bridge's own loop (RecordProcessor, retry settings) is the one retry layer of completion calls, so
    // backoff does not stack, readiness turns not-ready at the first failure, and the call histogram counts every
    // real RPC. The other users of this connection retry on their own or are best effort: the cancel watcher polls
    // again on its next interval, the stale-reason lookup answers 'unknown'.
    interceptors: [],
  });
}

/**
 * The `tls` option of `Connection.connect` for `options.tls`, with the PEM files read.
 *
 * @throws ConfigError naming the setting when a TLS file cannot be read or is not PEM
 */
export function temporalTlsConfig(options: TemporalOptions, readFile?: ReadFile): ConnectionOptions['tls'] {
  if (options.tls === true) return {};
  if (!options.tls) return undefined;
  const { serverRootCaCertPath, clientCertPath, clientKeyPath, serverNameOverride } = options.tls;
  return {
    serverNameOverride,
    serverRootCACertificate: serverRootCaCertPath
      ? readTlsFile('temporal.tls.serverRootCaCertPath', serverRootCaCertPath, readFile)
      : undefined,
    clientCertPair:
      clientCertPath && clientKeyPath
        ? {
            crt: readTlsFile('temporal.tls.clientCertPath', clientCertPath, readFile),
            key: readTlsFile('temporal.tls.clientKeyPath', clientKeyPath, readFile),
          }
        : undefined,
  };
}
