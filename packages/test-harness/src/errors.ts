/** Base class of every error thrown by the test harness. */
export class HarnessError extends Error {
  public override readonly name: string = 'HarnessError';
}

/** Thrown when a server binary or its jars cannot be installed into the cache. */
export class ServerInstallError extends HarnessError {
  public override readonly name = 'ServerInstallError';
  constructor(
    message: string,
    public readonly server: 'kafka' | 'temporal',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Thrown when a server process exits early or does not become ready in time.
 * `logPath` names the file holding the server's own output.
 */
export class ServerStartError extends HarnessError {
  public override readonly name = 'ServerStartError';
  constructor(
    message: string,
    public readonly server: 'kafka' | 'temporal',
    public readonly logPath: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(logPath ? `${message} (server log: ${logPath})` : message, options);
  }
}

/** Thrown when an operation needs a capability the chosen servers do not have, e.g. restarting external servers. */
export class UnsupportedOperationError extends HarnessError {
  public override readonly name = 'UnsupportedOperationError';
}
