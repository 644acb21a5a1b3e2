import fs from 'node:fs';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { TemporalOptions } from '../config/options';

/** Opens the gRPC connection to Temporal with the configured TLS / mTLS and API key. */
export async function connectToTemporal(options: TemporalOptions): Promise<Connection> {
  let tls: ConnectionOptions['tls'];
  if (options.tls === true) tls = {};
  else if (options.tls) {
    const { serverRootCaCertPath, clientCertPath, clientKeyPath, serverNameOverride } = options.tls;
    tls = {
      serverNameOverride,
      serverRootCACertificate: serverRootCaCertPath ? fs.readFileSync(serverRootCaCertPath) : undefined,
      clientCertPair:
        clientCertPath && clientKeyPath
          ? { crt: fs.readFileSync(clientCertPath), key: fs.readFileSync(clientKeyPath) }
          : undefined,
    };
  }
  return Connection.connect({
    address: options.address,
    tls,
    apiKey: options.apiKey,
    connectTimeout: 10_000,
  });
}
