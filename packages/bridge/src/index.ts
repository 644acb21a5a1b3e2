/**
 * The temporal-kafka-bridge daemon as a library: run it in-process with {@link Bridge}, or use the
 * `temporal-kafka-bridge` CLI.
 */
export { Bridge, type BridgeDependencies } from './bridge';
export { buildCli, type CliHandlers } from './config/cli';
export { DEAD_LETTER_HEADERS } from './config/dead-letter-headers';
export { loadBridgeOptions } from './config/load-config';
export { loadBridgeDependencies, type LoadedBridgeDependencies } from './config/load-dependencies';
export {
  compileBridgeOptions,
  defaultBridgeOptions,
  type BridgeOptions,
  type BridgeOptionsInput,
} from './config/options';
export * from './errors';
export { createBridgeMetrics, type BridgeMetrics } from './observability/metrics';
