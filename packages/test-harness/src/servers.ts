/** How a server was provided. */
export type ServerKind = 'external' | 'container' | 'local';

/** Addresses a test (or a child process) needs to reach the servers; plain data, safe to serialise. */
export interface ServerAddresses {
  /** Kafka bootstrap servers, `host:port`. */
  kafkaBrokers: string[];
  /** Temporal frontend gRPC address, `host:port`. */
  temporalAddress: string;
  /** Temporal namespace to use. */
  temporalNamespace: string;
}

/** A running server that a test may stop and start again with its state kept. */
export interface ControllableServer {
  readonly kind: ServerKind;
  /** File holding the server's own output, when the harness started it. */
  readonly logPath: string | undefined;
  /** Stops the server gracefully, keeping its data; `start()` brings it back on the same address. */
  stop(): Promise<void>;
  /** Kills the server without warning (SIGKILL for processes), keeping its data. */
  kill(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP for processes): connections stay open but nothing is answered, like a stalled
   * host, until {@link resume}. Only for servers the harness started as local processes.
   */
  pause(): Promise<void>;
  /** Lets a paused server run again. */
  resume(): Promise<void>;
  /** Starts a stopped server again on the same address and waits until it answers. */
  start(): Promise<void>;
  /** Stops the server for good and removes what the harness created for it. */
  dispose(): Promise<void>;
}

export interface KafkaServer extends ControllableServer {
  readonly brokers: string[];
  /** Apache Kafka version, when known. */
  readonly version: string | undefined;
}

export interface TemporalServer extends ControllableServer {
  readonly address: string;
  readonly namespace: string;
  /** `temporal` CLI / server version, when known. */
  readonly version: string | undefined;
}
